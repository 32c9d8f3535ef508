// Routes: the agent runtime API (/api/agent/v1), authenticated by agent tokens.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AgentEnvironment, SecretValue } from '../../contract/agent-schemas.js';
import type { RuntimeService } from '../../services/runtime-service.js';
import { agentCallerOf, bearerToken } from '../auth.js';
import { errorResponses } from './shared-schemas.js';

export function registerRuntimeRoutes(scope: FastifyInstance, runtime: RuntimeService): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['agent runtime'];

  app.get('/environment', { schema: { tags, response: { 200: AgentEnvironment, ...errorResponses } } }, async (request) =>
    runtime.environment(agentCallerOf(request), bearerToken(request) ?? ''),
  );
  app.get('/environment/fingerprint', { schema: { tags, response: { 200: Type.Object({ fingerprint: Type.String() }), ...errorResponses } } }, async (request) =>
    runtime.fingerprint(agentCallerOf(request)),
  );
  app.get(
    '/secrets/:env_key',
    { schema: { tags, params: Type.Object({ env_key: Type.String({ maxLength: 256 }) }), response: { 200: SecretValue, ...errorResponses } } },
    async (request) => runtime.read(agentCallerOf(request), request.params.env_key),
  );
}
