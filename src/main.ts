// Composition root: config → master key → keyring → store → services → HTTP + proxy.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createAdminKeyOutput } from './admin-key-output.js';
import type { Config } from './config.js';
import { createIdFactory } from './core/ids.js';
import type { Keyring } from './crypto/keyring.js';
import { createLeafMinter } from './crypto/leaf-certs.js';
import { loadX509 } from './crypto/x509.js';
import { buildApp } from './http/app.js';
import { createMetricsServer } from './http/observability.js';
import { bracketed, listenError } from './net/listen.js';
import { createLogger } from './logger.js';
import { createMetrics, timedAppend, type Metrics } from './metrics.js';
import { createProxyServer } from './proxy/server.js';
import { createUpstreams, parseConnectTo } from './proxy/upstream.js';
import { createProxyService } from './services/proxy-service.js';
import { createAgentsService } from './services/agents-service.js';
import { createAuthFailureAudit, createAuthThrottle } from './services/auth-failures.js';
import { createAuditService } from './services/audit-service.js';
import { createCredentials } from './services/credentials.js';
import { createDefaultVaultService } from './services/default-vault-service.js';
import { createExplainService } from './services/explain-service.js';
import { createRateLimits } from './services/rate-limits.js';
import { createOAuthTokens } from './services/oauth-tokens.js';
import { createTokenFetcher } from './proxy/token-fetch.js';
import { createGrantsService } from './services/grants-service.js';
import { createKeyringService, holdsKeyring, openStoreKeyring, servingKeyring } from './services/keyring-service.js';
import { createRuntimeService } from './services/runtime-service.js';
import { systemClock, type ServiceDeps } from './services/context.js';
import { startNodePresence } from './services/node-presence.js';
import { createOrgsService } from './services/orgs-service.js';
import { createSecretsService } from './services/secrets-service.js';
import { createVaultsService } from './services/vaults-service.js';
import { describeStoreAt, inspectStore, isMissingDatabase, openStore } from './storage/open-store.js';
import type { Store } from './storage/store.js';
import type { AuditDraft } from './storage/types.js';
import { version } from './version.js';

export class BootError extends Error {
  override name = 'BootError';
}

export interface Vaultgate {
  store: Store;
  keyring: Keyring;
  masterKey: Buffer;
  masterKeySource: 'env' | 'file';
  deps: ServiceDeps;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** For `admin` commands: where no store was initialized, refuse and create nothing (only `serve` creates one). */
  mustExist?: boolean;
}

const noStore = (config: Config) =>
  new BootError(`no Vaultgate store in ${describeStoreAt(config)} (only "vaultgate serve" creates one; set VAULTGATE_DATA_DIR or VAULTGATE_DATABASE_URL)`);

export async function openVaultgate(config: Config, options: OpenOptions = {}, attempt = 0): Promise<Vaultgate> {
  const at = { databaseUrl: config.databaseUrl, dataDir: config.dataDir };
  const inspected = await inspectStore(at).catch((err: unknown) => {
    throw options.mustExist && isMissingDatabase(err) ? noStore(config) : err;
  });
  if (options.mustExist && !inspected.initialized) throw noStore(config);
  const { master, keyring, row, created } = openStoreKeyring({ envValue: config.masterKey, dataDir: config.dataDir }, inspected);
  const store = await openStore(at, { auditKey: keyring.auditKey, keyring: row });
  if (created && config.databaseUrl !== null) {
    const held = await holdsKeyring(store, row).catch(async (err: unknown) => {
      await store.close();
      throw err;
    });
    if (!held) {
      await store.close();
      if (attempt > 0) throw new BootError('the store keyring changed while opening; start again');
      return openVaultgate(config, options, attempt + 1);
    }
  }
  return {
    store,
    keyring,
    masterKey: master.key,
    masterKeySource: master.source,
    deps: { ids: createIdFactory(), clock: systemClock, random: randomBytes },
    close: () => store.close(),
  };
}

/** `metrics`: the serving instance's, which then times audit appends and counts failed authentications. */
export function createServices(vg: Vaultgate, config: Config, metrics?: Metrics) {
  const { deps } = vg;
  const store = metrics ? { ...vg.store, appendAudit: timedAppend(metrics.audit, (drafts: AuditDraft[]) => vg.store.appendAudit(drafts)) } : vg.store;
  const keyringService = createKeyringService({ ...deps, store, keyring: vg.keyring, master: { key: vg.masterKey, source: vg.masterKeySource }, dataDir: config.dataDir });
  const keyring = servingKeyring(vg.keyring);
  const vaults = createVaultsService({ ...deps, store });
  const secrets = createSecretsService({ ...deps, store, keyring });
  const grants = createGrantsService({ ...deps, store });
  let proxyPort = config.proxyAddr.port;
  const authFailures = createAuthFailureAudit({ clock: deps.clock, append: (drafts) => store.appendAudit(drafts), onError: () => undefined });
  const runtime = createRuntimeService({
    ...deps,
    store,
    keyring,
    proxyBaseUrl: () => config.proxyPublicUrl ?? `http://${bracketed(config.proxyAddr.host)}:${proxyPort}`,
    caCertificate: keyringService.caCertificate,
  });
  const credentials = createCredentials({ ...deps, store, authFailures });
  const rates = createRateLimits({ store });
  // The token endpoint is dialled under the rules of any upstream (SPEC §10): connect-to, trust, address checks.
  const upstreams = createUpstreams({
    connectTo: parseConnectTo(config.proxyConnectTo),
    allowPrivate: config.proxyAllowPrivate,
    extraCaPem: config.upstreamCaFile ? readFileSync(config.upstreamCaFile, 'utf8') : null,
  });
  const fetchToken = createTokenFetcher({ route: (host, port) => upstreams.target(host, port), literalAllowed: (host) => upstreams.literalAllowed(host), ...upstreams.dialOptions() });
  const tokens = createOAuthTokens({ ...deps, store, keyring, fetchToken });
  return {
    credentials,
    orgs: createOrgsService({ ...deps, store }),
    authThrottle: createAuthThrottle({ clock: deps.clock, limit: config.limits.authFailuresPerMinute, ...(metrics && { counted: metrics.authFailed }) }),
    vaults,
    secrets,
    grants,
    audit: createAuditService({ store, auditKey: keyring.auditKey }),
    agents: createAgentsService({ ...deps, store }),
    runtime,
    proxy: createProxyService({ ...deps, store, keyring, credentials, tokens, rates }),
    explain: createExplainService({ store, keyring, rates, clock: deps.clock }),
    keyring: keyringService,
    upstreams,
    defaultVault: createDefaultVaultService({ store, vaults, secrets, grants }),
    /** Records the port the proxy really listens on (config may say 0). */
    setProxyPort(port: number) {
      proxyPort = port;
    },
    ready: () => store.ping(),
    /** Appends the auth.failed counts still pending; the store closes after this. */
    close: () => authFailures.close(),
  };
}

/** How long shutdown waits for in-flight requests before cutting their connections. */
export const shutdownGraceMs = 3000;

async function startProxy(vg: Vaultgate, config: Config, services: ReturnType<typeof createServices>, logger: Logger, metrics: Metrics) {
  const ca = await services.keyring.openProxyCa();
  const upstreams = services.upstreams;
  const leaves = createLeafMinter({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, now: () => vg.deps.clock.now() });
  metrics.proxy.watchLeafCache(() => leaves.size);
  const server = createProxyServer({ service: services.proxy, leaves, caCertPem: ca.certPem, upstreams, logger, limits: config.limits, throttle: services.authThrottle, metrics: metrics.proxy });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.proxyAddr.port, config.proxyAddr.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  services.setProxyPort(port);
  return {
    url: `http://${bracketed(config.proxyAddr.host)}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  /** `http://host:port` of the egress proxy. */
  proxyUrl: string;
  /** `http://host:port` of the metrics listener (`VAULTGATE_METRICS_ADDR`), else null. */
  metricsUrl: string | null;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Where the one-time admin key banner goes (stderr by default; never the JSON log). */
  print?: (text: string) => void;
  sseHeartbeatMs?: number;
  /** The dashboard's built assets (default: `web/` beside this module, i.e. `dist/web`); null: none. */
  uiDir?: string | null;
}

/** `vite build` writes the dashboard to dist/web, next to the compiled dist/main.js. */
export const defaultUiDir = fileURLToPath(new URL('./web/', import.meta.url));

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const vg = await openVaultgate(config);
  let listening: FastifyInstance | null = null;
  try {
    const metrics = createMetrics();
    const services = createServices(vg, config, metrics);
    await services.keyring.caCertificate();
    const keyOutput = createAdminKeyOutput(config.adminKeyFile, options.print ?? ((text: string) => process.stderr.write(text)));
    const boot = await services.orgs.bootstrap(config.adminKey, { beforeMint: () => keyOutput.reserve() }).catch((err: unknown) => {
      keyOutput.release();
      throw err;
    });
    if (boot.printedKey) keyOutput.deliver(boot.org.id, boot.printedKey);
    else keyOutput.release();
    if (boot.adminKeyIgnored) logger.warn('VAULTGATE_ADMIN_KEY is ignored: it only sets the first admin key of an empty store, and this store has one (create more with "vaultgate admin key create")');
    const app = await buildApp(services, {
      logger,
      version,
      uiDir: dashboardDir(options.uiDir === undefined ? defaultUiDir : options.uiDir, logger),
      limits: config.limits,
      metrics,
      serveMetrics: config.metrics && config.metricsAddr === null,
      ...(options.sseHeartbeatMs ? { sseHeartbeatMs: options.sseHeartbeatMs } : {}),
    });
    listening = app;
    const address = await app.listen({ host: config.apiAddr.host, port: config.apiAddr.port }).catch((err: unknown) => {
      throw listenError(err, 'VAULTGATE_API_ADDR', config.apiAddr);
    });
    const proxy = await startProxy(vg, config, services, logger, metrics).catch((err: unknown) => {
      throw listenError(err, 'VAULTGATE_PROXY_ADDR', config.proxyAddr);
    });
    const metricsListener = await startMetricsListener(config, metrics, logger).catch(async (err: unknown) => {
      await proxy.close();
      throw err;
    });
    const presence = await startPresence(vg, logger).catch(async (err: unknown) => {
      await Promise.all([proxy.close(), metricsListener?.close()]);
      throw err;
    });
    // Minting leaf certificates needs @peculiar/x509: load it now that the node serves, not before.
    setImmediate(() => void loadX509().catch((err: unknown) => logger.error({ err }, 'loading @peculiar/x509 failed')));
    logger.info({ address, proxy: proxy.url, data_dir: config.dataDir, backend: vg.store.backend }, 'vaultgate api listening');
    return {
      app,
      url: address,
      proxyUrl: proxy.url,
      metricsUrl: metricsListener?.url ?? null,
      async close() {
        // Drain in-flight requests, but not forever: a client that stalls mid-request would
        // otherwise hold shutdown until Node's request timeout (minutes). After the grace
        // period the remaining connections are cut so that the store still closes cleanly.
        const deadline = setTimeout(() => app.server.closeAllConnections(), shutdownGraceMs);
        deadline.unref();
        try {
          await Promise.all([app.close(), proxy.close(), metricsListener?.close()]);
        } finally {
          clearTimeout(deadline);
        }
        await presence.stop();
        await services.close().catch((err: unknown) => logger.error({ err }, 'writing pending auth.failed events failed'));
        await vg.close();
      },
    };
  } catch (err) {
    // A listening API would keep the process alive after a failed start.
    await listening?.close().catch(() => undefined);
    await vg.close();
    throw err;
  }
}

/** `GET /metrics` on a listener of its own, when `VAULTGATE_METRICS_ADDR` names one. */
async function startMetricsListener(config: Config, metrics: Metrics, logger: Logger) {
  const at = config.metricsAddr;
  if (!config.metrics || at === null) return null;
  const server = createMetricsServer(metrics, logger);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => resolve());
  }).catch((err: unknown) => {
    throw listenError(err, 'VAULTGATE_METRICS_ADDR', at);
  });
  return {
    url: `http://${bracketed(at.host)}:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Run from source without a build, there is no dashboard; the API works all the same. */
function dashboardDir(wanted: string | null, logger: Logger): string | null {
  if (wanted === null || existsSync(join(wanted, 'index.html'))) return wanted;
  logger.warn({ dir: wanted }, 'no built dashboard there (npm run build makes it): / answers 404');
  return null;
}

/**
 * Records this node in the store's serving_nodes until it closes, so that `admin
 * rotate-master-key` refuses while it serves (services/node-presence.ts).
 */
function startPresence(vg: Vaultgate, logger: Logger) {
  return startNodePresence({
    store: vg.store,
    clock: vg.deps.clock,
    node: { id: vg.deps.ids('node'), pid: process.pid, hostname: hostname() },
    kekId: vg.keyring.kekId,
    onError: (err) => logger.warn({ err }, 'could not record this node as serving (its heartbeat)'),
  });
}
