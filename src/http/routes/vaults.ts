// Routes: /vaults — parse, one service call, shape.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CreateVaultBody, UpdateVaultBody, Vault } from '../../contract/schemas.js';
import type { VaultsService } from '../../services/vaults-service.js';
import { callerOf } from '../auth.js';
import { noContent, requireId, setNextLink } from '../request-helpers.js';
import { errorResponses, PageQuery, VaultParams } from './shared-schemas.js';

export function registerVaultRoutes(scope: FastifyInstance, vaults: VaultsService): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['vaults'];

  app.post('/vaults', { schema: { tags, body: CreateVaultBody, response: { 201: Vault, ...errorResponses } } }, async (request, reply) => {
    return reply.code(201).send(await vaults.create(callerOf(request), request.body));
  });

  app.get('/vaults', { schema: { tags, querystring: PageQuery, response: { 200: Type.Array(Vault), ...errorResponses } } }, async (request, reply) => {
    const page = await vaults.list(callerOf(request), request.query);
    setNextLink(request, reply, 'cursor', page.nextCursor);
    return page.items;
  });

  app.get('/vaults/:vault_id', { schema: { tags, params: VaultParams, response: { 200: Vault, ...errorResponses } } }, async (request) => {
    return vaults.get(callerOf(request), requireId('vault', request.params.vault_id, 'vault_not_found'));
  });

  app.patch(
    '/vaults/:vault_id',
    { schema: { tags, params: VaultParams, body: UpdateVaultBody, response: { 200: Vault, ...errorResponses } } },
    async (request) => vaults.update(callerOf(request), requireId('vault', request.params.vault_id, 'vault_not_found'), request.body),
  );

  app.delete('/vaults/:vault_id', { schema: { tags, params: VaultParams, response: errorResponses } }, async (request, reply) => {
    await vaults.remove(callerOf(request), requireId('vault', request.params.vault_id, 'vault_not_found'));
    return noContent(reply);
  });
}
