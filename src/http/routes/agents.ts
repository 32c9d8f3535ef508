// Routes: /agents, their vault attachments (both shapes), status and tokens.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  Agent,
  AgentToken,
  AgentTokenInfo,
  AttachVaultBody,
  CreateAgentBody,
  CreateResourceBody,
  EnvironmentEntry,
  ExplainBody,
  ExplainResponse,
  Resource,
  UpdateAgentBody,
} from '../../contract/agent-schemas.js';
import type { AgentsService } from '../../services/agents-service.js';
import type { ExplainService } from '../../services/explain-service.js';
import { callerOf } from '../auth.js';
import { noContent, requireId, setNextLink } from '../request-helpers.js';
import { errorResponses, PageQuery } from './shared-schemas.js';

const AgentParams = Type.Object({ agent_id: Type.String() });
const AgentVaultParams = Type.Object({ agent_id: Type.String(), vault_id: Type.String() });
const AgentItemParams = Type.Object({ agent_id: Type.String(), id: Type.String() });

export function registerAgentRoutes(scope: FastifyInstance, agents: AgentsService, explain: ExplainService): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['agents'];
  const agentId = (p: { agent_id: string }) => requireId('agent', p.agent_id, 'agent_not_found');

  app.post('/agents', { schema: { tags, body: CreateAgentBody, response: { 201: Agent, ...errorResponses } } }, async (request, reply) =>
    reply.code(201).send(await agents.create(callerOf(request), request.body)),
  );
  app.get('/agents', { schema: { tags, querystring: PageQuery, response: { 200: Type.Array(Agent), ...errorResponses } } }, async (request, reply) => {
    const page = await agents.list(callerOf(request), request.query);
    setNextLink(request, reply, 'cursor', page.nextCursor);
    return page.items;
  });
  app.get('/agents/:agent_id', { schema: { tags, params: AgentParams, response: { 200: Agent, ...errorResponses } } }, async (request) =>
    agents.get(callerOf(request), agentId(request.params)),
  );
  app.patch('/agents/:agent_id', { schema: { tags, params: AgentParams, body: UpdateAgentBody, response: { 200: Agent, ...errorResponses } } }, async (request) =>
    agents.update(callerOf(request), agentId(request.params), request.body),
  );
  app.delete('/agents/:agent_id', { schema: { tags, params: AgentParams, response: errorResponses } }, async (request, reply) => {
    await agents.remove(callerOf(request), agentId(request.params));
    return noContent(reply);
  });
  // SPEC §10: what the proxy would do with a request, per placeholder; decrypts and sends nothing.
  app.post('/agents/:agent_id/explain', { schema: { tags, params: AgentParams, body: ExplainBody, response: { 200: ExplainResponse, ...errorResponses } } }, async (request) =>
    explain.explain(callerOf(request), agentId(request.params), request.body),
  );
  app.post('/agents/:agent_id/deploy', { schema: { tags, params: AgentParams, response: { 200: Agent, ...errorResponses } } }, async (request) =>
    agents.deploy(callerOf(request), agentId(request.params)),
  );
  app.post('/agents/:agent_id/stop', { schema: { tags, params: AgentParams, response: { 200: Agent, ...errorResponses } } }, async (request) =>
    agents.stop(callerOf(request), agentId(request.params)),
  );

  app.get('/agents/:agent_id/environment', { schema: { tags, params: AgentParams, response: { 200: Type.Array(EnvironmentEntry), ...errorResponses } } }, async (request) =>
    agents.environment(callerOf(request), agentId(request.params)),
  );

  // Attachment, SPEC shape: answers the agent.
  app.post('/agents/:agent_id/vaults', { schema: { tags, params: AgentParams, body: AttachVaultBody, response: { 200: Agent, 201: Agent, ...errorResponses } } }, async (request, reply) => {
    const caller = callerOf(request);
    const id = agentId(request.params);
    const { created } = await agents.attach(caller, id, requireId('vault', request.body.vault_id, 'vault_not_found'));
    return reply.code(created ? 201 : 200).send(await agents.get(caller, id));
  });
  app.delete('/agents/:agent_id/vaults/:vault_id', { schema: { tags, params: AgentVaultParams, response: errorResponses } }, async (request, reply) => {
    await agents.detach(callerOf(request), agentId(request.params), { vaultId: requireId('vault', request.params.vault_id, 'vault_not_found') });
    return noContent(reply);
  });

  // Attachment, Nairi's shape: a resource object per attached vault.
  app.post('/agents/:agent_id/resources', { schema: { tags, params: AgentParams, body: CreateResourceBody, response: { 200: Resource, 201: Resource, ...errorResponses } } }, async (request, reply) => {
    const { resource, created } = await agents.attach(callerOf(request), agentId(request.params), requireId('vault', request.body.entity_id, 'vault_not_found'));
    return reply.code(created ? 201 : 200).send(resource);
  });
  app.get('/agents/:agent_id/resources', { schema: { tags, params: AgentParams, response: { 200: Type.Array(Resource), ...errorResponses } } }, async (request) =>
    agents.resources(callerOf(request), agentId(request.params)),
  );
  app.delete('/agents/:agent_id/resources/:id', { schema: { tags, params: AgentItemParams, response: errorResponses } }, async (request, reply) => {
    await agents.detach(callerOf(request), agentId(request.params), { attachmentId: requireId('resource', request.params.id, 'resource_not_found') });
    return noContent(reply);
  });

  app.post('/agents/:agent_id/tokens', { schema: { tags, params: AgentParams, response: { 201: AgentToken, ...errorResponses } } }, async (request, reply) =>
    reply.code(201).send(await agents.mintToken(callerOf(request), agentId(request.params))),
  );
  app.get('/agents/:agent_id/tokens', { schema: { tags, params: AgentParams, response: { 200: Type.Array(AgentTokenInfo), ...errorResponses } } }, async (request) =>
    agents.tokens(callerOf(request), agentId(request.params)),
  );
  app.delete('/agents/:agent_id/tokens/:id', { schema: { tags, params: AgentItemParams, response: errorResponses } }, async (request, reply) => {
    await agents.revokeToken(callerOf(request), agentId(request.params), requireId('agentToken', request.params.id, 'token_not_found'));
    return noContent(reply);
  });
}
