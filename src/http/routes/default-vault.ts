// Routes: the default-vault API at /v1/vault (SPEC §5), on the org's default vault.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DefaultVaultCreateSecretBody, DefaultVaultSecret, CreateGrantBody, Grant } from '../../contract/agent-schemas.js';
import type { DefaultVaultService } from '../../services/default-vault-service.js';
import { callerOf } from '../auth.js';
import { noContent, requireId, setNextLink } from '../request-helpers.js';
import { errorResponses, PageQuery } from './shared-schemas.js';

export function registerDefaultVaultRoutes(scope: FastifyInstance, defaultVault: DefaultVaultService): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  // The OpenAPI tag clients already see in /openapi.json: a wire name, kept.
  const tags = ['compat'];

  app.post('/secrets', { schema: { tags, body: DefaultVaultCreateSecretBody, response: { 201: DefaultVaultSecret, ...errorResponses } } }, async (request, reply) =>
    reply.code(201).send(await defaultVault.createSecret(callerOf(request), request.body)),
  );
  app.get('/secrets', { schema: { tags, querystring: PageQuery, response: { 200: Type.Array(DefaultVaultSecret), ...errorResponses } } }, async (request, reply) => {
    const page = await defaultVault.listSecrets(callerOf(request), request.query);
    setNextLink(request, reply, 'cursor', page.nextCursor);
    return page.items;
  });
  app.delete('/secrets/:id', { schema: { tags, params: Type.Object({ id: Type.String() }), response: errorResponses } }, async (request, reply) => {
    await defaultVault.deleteSecret(callerOf(request), requireId('secret', request.params.id, 'secret_not_found'));
    return noContent(reply);
  });
  app.post('/grants', { schema: { tags, body: CreateGrantBody, response: { 200: Grant, 201: Grant, ...errorResponses } } }, async (request, reply) => {
    const { grant, created } = await defaultVault.createGrant(callerOf(request), request.body);
    return reply.code(created ? 201 : 200).send(grant);
  });
}
