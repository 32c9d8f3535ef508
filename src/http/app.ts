// Builds the HTTP application (without listening): operator API, health, OpenAPI, the dashboard's assets.
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { FastifyBaseLogger } from 'fastify';
import { VaultError } from '../contract/errors.js';
import { createIdFactory } from '../core/ids.js';
import type { Metrics } from '../metrics.js';
import { guardListener, httpServerOptions, type ConnectionLimits } from '../net/connections.js';
import type { AuthThrottle } from '../services/auth-failures.js';
import type { AgentsService } from '../services/agents-service.js';
import type { AuditService } from '../services/audit-service.js';
import type { DefaultVaultService } from '../services/default-vault-service.js';
import type { ExplainService } from '../services/explain-service.js';
import type { GrantsService } from '../services/grants-service.js';
import type { RuntimeService } from '../services/runtime-service.js';
import type { Credentials } from '../services/credentials.js';
import type { OrgsService } from '../services/orgs-service.js';
import type { SecretsService } from '../services/secrets-service.js';
import type { VaultsService } from '../services/vaults-service.js';
import { requireAgentToken, requireApiKey } from './auth.js';
import { registerErrorHandling, sendError } from './errors.js';
import { registerJsonParser } from './json-body.js';
import { registerAgentRoutes } from './routes/agents.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerDefaultVaultRoutes } from './routes/default-vault.js';
import { registerGrantRoutes } from './routes/grants.js';
import { registerRuntimeRoutes } from './routes/runtime.js';
import { registerSecretRoutes } from './routes/secrets.js';
import { registerVaultRoutes } from './routes/vaults.js';
import { countRequests, registerMetricsRoute, requestIdOptions } from './observability.js';
import { registerUi } from './ui.js';
import { validatorCompiler } from './validation.js';

export const publicApiPrefix = '/api/public/v1';
export const agentApiPrefix = '/api/agent/v1';
export const defaultVaultApiPrefix = '/v1/vault';
export const bodyLimitBytes = 1024 * 1024;

export interface AppServices {
  credentials: Credentials;
  orgs: OrgsService;
  vaults: VaultsService;
  secrets: SecretsService;
  audit: AuditService;
  agents: AgentsService;
  explain: ExplainService;
  grants: GrantsService;
  runtime: RuntimeService;
  defaultVault: DefaultVaultService;
  /** Readiness: resolves when the store answers. */
  ready(): Promise<void>;
  /** Failed authentication per source address (shared with the proxy). */
  authThrottle: AuthThrottle;
}

export interface AppOptions {
  logger: FastifyBaseLogger;
  sseHeartbeatMs?: number;
  version: string;
  /** The dashboard's built assets, served at `/`; absent or null: no dashboard, `/` is a 404. */
  uiDir?: string | null;
  limits: ConnectionLimits;
  /** This instance's metrics: counted always; `/metrics` served here when `serveMetrics`. */
  metrics?: Metrics;
  serveMetrics?: boolean;
}

export async function buildApp(services: AppServices, options: AppOptions): Promise<FastifyInstance> {
  const requestIds = createIdFactory();
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: bodyLimitBytes,
    ...requestIdOptions(requestIds),
    return503OnClosing: true,
    http: httpServerOptions(options.limits),
    requestTimeout: options.limits.requestTimeoutMs,
    keepAliveTimeout: options.limits.keepAliveTimeoutMs,
    connectionTimeout: options.limits.idleTimeoutMs,
    // Routes check ids themselves (a malformed or over-long id answers like a missing one), so
    // the router must not refuse long segments; Node's 16 KiB header limit still bounds the URL.
    routerOptions: { maxParamLength: 16 * 1024, ignoreTrailingSlash: false },
    // Router-level failures get the standard error body: Fastify's own echoes the whole URL.
    frameworkErrors: (error, _request, reply) => {
      void sendError(reply, error.code === 'FST_ERR_BAD_URL' ? new VaultError('invalid_request', 'malformed URL') : new VaultError('not_found'));
    },
  });
  guardListener(app.server, options.limits, options.logger, 'api');
  app.setValidatorCompiler(validatorCompiler);
  registerJsonParser(app);
  registerErrorHandling(app);
  if (options.metrics) countRequests(app, options.metrics);
  // Set once shutdown begins: requests already in flight then answer with `Connection: close`,
  // so their keep-alive sockets do not hold the process open after the response.
  let closing = false;
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', String(request.id));
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    if (closing) reply.header('connection', 'close');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Vaultgate API', version: options.version, description: 'Operator REST API of Vaultgate.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await services.ready();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
  if (options.metrics && options.serveMetrics) registerMetricsRoute(app, options.metrics);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    closing = true;
    for (const end of [...openStreams]) end();
  });

  await app.register(
    async (scope) => {
      requireApiKey(scope, services.credentials, services.authThrottle);
      registerVaultRoutes(scope, services.vaults);
      registerSecretRoutes(scope, services.secrets);
      registerAuditRoutes(scope, services.audit, { heartbeatMs: options.sseHeartbeatMs ?? 15_000, stallMs: options.limits.idleTimeoutMs, openStreams });
      registerAgentRoutes(scope, services.agents, services.explain);
      registerGrantRoutes(scope, services.grants);
    },
    { prefix: publicApiPrefix },
  );
  await app.register(
    async (scope) => {
      requireAgentToken(scope, services.credentials, services.authThrottle);
      registerRuntimeRoutes(scope, services.runtime);
    },
    { prefix: agentApiPrefix },
  );
  await app.register(
    async (scope) => {
      requireApiKey(scope, services.credentials, services.authThrottle);
      registerDefaultVaultRoutes(scope, services.defaultVault);
    },
    { prefix: defaultVaultApiPrefix },
  );
  if (options.uiDir) await registerUi(app, options.uiDir);
  return app;
}
