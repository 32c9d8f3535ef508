// Routes: /grants.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CreateGrantBody, Grant } from '../../contract/agent-schemas.js';
import type { GrantsService } from '../../services/grants-service.js';
import { callerOf } from '../auth.js';
import { noContent, requireId, setNextLink } from '../request-helpers.js';
import { errorResponses, PageQuery } from './shared-schemas.js';

const GrantQuery = Type.Composite([PageQuery, Type.Object({ agent_id: Type.Optional(Type.String({ maxLength: 100 })) })]);

export function registerGrantRoutes(scope: FastifyInstance, grants: GrantsService): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['grants'];

  app.post('/grants', { schema: { tags, body: CreateGrantBody, response: { 200: Grant, 201: Grant, ...errorResponses } } }, async (request, reply) => {
    const { grant, created } = await grants.create(callerOf(request), request.body);
    return reply.code(created ? 201 : 200).send(grant);
  });
  app.get('/grants', { schema: { tags, querystring: GrantQuery, response: { 200: Type.Array(Grant), ...errorResponses } } }, async (request, reply) => {
    const page = await grants.list(callerOf(request), request.query);
    setNextLink(request, reply, 'cursor', page.nextCursor);
    return page.items;
  });
  app.delete('/grants/:grant_id', { schema: { tags, params: Type.Object({ grant_id: Type.String() }), response: errorResponses } }, async (request, reply) => {
    await grants.remove(callerOf(request), requireId('grant', request.params.grant_id, 'grant_not_found'));
    return noContent(reply);
  });
}
