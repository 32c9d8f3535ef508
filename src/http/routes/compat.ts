// Routes: the seed-003 vault API at /v1/vault, on the org's default vault.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CompatCreateSecretBody, CompatSecret, CreateGrantBody, Grant } from '../../contract/agent-schemas.js';
import type { CompatService } from '../../services/compat-service.js';
import { callerOf } from '../auth.js';
import { noContent, requireId, setNextLink } from '../request-helpers.js';
import { errorResponses, PageQuery } from './shared-schemas.js';

export function registerCompatRoutes(scope: FastifyInstance, compat: CompatService): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['compat'];

  app.post('/secrets', { schema: { tags, body: CompatCreateSecretBody, response: { 201: CompatSecret, ...errorResponses } } }, async (request, reply) =>
    reply.code(201).send(await compat.createSecret(callerOf(request), request.body)),
  );
  app.get('/secrets', { schema: { tags, querystring: PageQuery, response: { 200: Type.Array(CompatSecret), ...errorResponses } } }, async (request, reply) => {
    const page = await compat.listSecrets(callerOf(request), request.query);
    setNextLink(request, reply, 'cursor', page.nextCursor);
    return page.items;
  });
  app.delete('/secrets/:id', { schema: { tags, params: Type.Object({ id: Type.String() }), response: errorResponses } }, async (request, reply) => {
    await compat.deleteSecret(callerOf(request), requireId('secret', request.params.id, 'secret_not_found'));
    return noContent(reply);
  });
  app.post('/grants', { schema: { tags, body: CreateGrantBody, response: { 200: Grant, 201: Grant, ...errorResponses } } }, async (request, reply) => {
    const { grant, created } = await compat.createGrant(callerOf(request), request.body);
    return reply.code(created ? 201 : 200).send(grant);
  });
}
