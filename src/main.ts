// Composition root: config → master key → keyring → store → services → HTTP.
import { existsSync, openSync, fsyncSync, closeSync, readFileSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import { createIdFactory } from './core/ids.js';
import { createKeyringRecord, kekIdOf, openKeyring, type Keyring, type KeyringRecord } from './crypto/keyring.js';
import { loadMasterKey, MasterKeyError, masterKeyPath, parseMasterKey, pendingMasterKeyPath } from './crypto/master-key.js';
import { buildApp } from './http/app.js';
import { createLeafMinter } from './crypto/leaf-certs.js';
import { generateProxyCa, openProxyCa } from './crypto/proxy-ca.js';
import { loadX509 } from './crypto/x509.js';
import { createProxyServer } from './proxy/server.js';
import { createUpstreams, parseConnectTo } from './proxy/upstream.js';
import { createProxyService } from './services/proxy-service.js';
import { createAgentsService } from './services/agents-service.js';
import { createAuthFailureAudit, createAuthThrottle } from './services/auth-failures.js';
import { createAuditService } from './services/audit-service.js';
import { createDefaultVaultService } from './services/default-vault-service.js';
import { createGrantsService } from './services/grants-service.js';
import { createRuntimeService } from './services/runtime-service.js';
import { systemClock, type ServiceDeps } from './services/context.js';
import { startNodePresence } from './services/node-presence.js';
import { createOrgsService } from './services/orgs-service.js';
import { createSecretsService } from './services/secrets-service.js';
import { createVaultsService } from './services/vaults-service.js';
import { inspectSqliteStore, openSqliteStore } from './storage/sqlite/sqlite-store.js';
import type { Store } from './storage/store.js';

export const version = '0.1.0';

export class BootError extends Error {
  override name = 'BootError';
}

/** Log redaction: credentials and anything that could carry a value never reach a log line. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'headers.authorization',
  'body',
  'value',
  '*.value',
  'token',
  'api_key',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, redact: { paths: redactPaths, censor: '[redacted]' } }, destination ?? pino.destination(1));
}

export function sqlitePath(config: Config): string {
  return join(config.dataDir, 'vaultgate.db');
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Finds the master key for this store without changing anything, except finishing a master-key
 * rotation that committed but stopped before swapping key files.
 */
function resolveMasterKey(config: Config, stored: KeyringRecord | null, initialized: boolean): { key: Buffer; source: 'env' | 'file' } {
  const loaded = loadMasterKey({ envValue: config.masterKey, dataDir: config.dataDir, storeInitialized: initialized });
  if (!stored || kekIdOf(loaded.key) === stored.kekId) return loaded;
  const pending = pendingMasterKeyPath(config.dataDir);
  if (existsSync(pending)) {
    const next = parseMasterKey(readFileSync(pending, 'utf8'), pending);
    if (kekIdOf(next) === stored.kekId) {
      if (loaded.source === 'env') {
        throw new MasterKeyError(`the store was re-keyed by rotate-master-key: set VAULTGATE_MASTER_KEY to the key in ${pending}, then delete that file`);
      }
      renameSync(pending, masterKeyPath(config.dataDir));
      fsyncDir(config.dataDir);
      return { key: next, source: 'file' };
    }
  }
  return loaded;
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

/** Where the store would be, for messages: the data dir, or the database URL without its credentials. */
function storeLocation(config: Config): string {
  if (config.databaseUrl === null) return config.dataDir;
  try {
    const u = new URL(config.databaseUrl);
    return `the database ${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'the database VAULTGATE_DATABASE_URL names';
  }
}

const noStore = (config: Config) =>
  new BootError(`no Vaultgate store in ${storeLocation(config)} (only "vaultgate serve" creates one; set VAULTGATE_DATA_DIR or VAULTGATE_DATABASE_URL)`);

export async function openVaultgate(config: Config, options: OpenOptions = {}, attempt = 0): Promise<Vaultgate> {
  const url = config.databaseUrl;
  const path = sqlitePath(config);
  // The PostgreSQL driver is loaded only when it is used (it adds ≈ 70 ms to every SQLite boot).
  const pg = url !== null ? await import('./storage/postgres/pg-store.js') : null;
  const inspected =
    pg && url !== null
      ? await pg.inspectPostgresStore(url).catch((err: unknown) => {
          // 3D000: the database itself does not exist, so it holds no store either.
          throw options.mustExist && (err as { code?: unknown }).code === '3D000' ? noStore(config) : err;
        })
      : inspectSqliteStore(path);
  if (options.mustExist && !inspected.initialized) throw noStore(config);
  const stored = inspected.keyring ? { kekId: inspected.keyring.kek_id, wrappedRoot: inspected.keyring.wrapped_root } : null;
  const master = resolveMasterKey(config, stored, inspected.initialized);
  const record = stored ?? createKeyringRecord(master.key);
  const keyring = openKeyring(master.key, record);
  const keyringRow = { kek_id: record.kekId, wrapped_root: record.wrappedRoot };
  const store =
    pg && url !== null
      ? await pg.openPostgresStore({ url, auditKey: keyring.auditKey, keyring: keyringRow })
      : openSqliteStore({ path, auditKey: keyring.auditKey, keyring: keyringRow });
  if (!stored && url !== null) {
    // Nodes starting at once on one empty database each generate a root; the first to store its
    // keyring wins. A node that lost the race reopens with the stored one, or it would seal and
    // chain under a root no other node has.
    const winner = await store.getKeyring().catch(async (err: unknown) => {
      await store.close();
      throw err;
    });
    if (!winner || winner.kek_id !== keyringRow.kek_id || !winner.wrapped_root.equals(keyringRow.wrapped_root)) {
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
    deps: { ids: createIdFactory(), clock: systemClock },
    close: () => store.close(),
  };
}

/** The deployment CA: generated on first start and kept sealed in the store, so every node shares it. */
async function ensureProxyCa(vg: Vaultgate): Promise<string> {
  const existing = await vg.store.getProxyCa();
  if (existing) return existing.cert_pem;
  const sealed = await generateProxyCa(vg.keyring, vg.deps.clock.now());
  const stored = await vg.store.initProxyCa({ cert_pem: sealed.certPem, sealed_key: sealed.sealedKey, created_at: vg.deps.clock.now().toISOString() });
  return stored.cert_pem;
}

export function createServices(vg: Vaultgate, config: Config) {
  const { store, keyring, deps } = vg;
  const vaults = createVaultsService({ ...deps, store });
  const secrets = createSecretsService({ ...deps, store, keyring });
  const grants = createGrantsService({ ...deps, store });
  let caPem: Promise<string> | null = null;
  let proxyPort = config.proxyAddr.port;
  const caCertificate = () =>
    (caPem ??= ensureProxyCa(vg).catch((err: unknown) => {
      caPem = null;
      throw err;
    }));
  const proxyHost = config.proxyAddr.host.includes(':') ? `[${config.proxyAddr.host}]` : config.proxyAddr.host;
  const authFailures = createAuthFailureAudit({ clock: deps.clock, append: (drafts) => store.appendAudit(drafts), onError: () => undefined });
  const runtime = createRuntimeService({
    ...deps,
    store,
    keyring,
    proxyBaseUrl: () => config.proxyPublicUrl ?? `http://${proxyHost}:${proxyPort}`,
    caCertificate,
    authFailures,
  });
  return {
    orgs: createOrgsService({ ...deps, store, authFailures }),
    authThrottle: createAuthThrottle({ clock: deps.clock, limit: config.limits.authFailuresPerMinute }),
    vaults,
    secrets,
    grants,
    audit: createAuditService({ store, auditKey: keyring.auditKey }),
    agents: createAgentsService({ ...deps, store }),
    runtime,
    proxy: createProxyService({ ...deps, store, keyring, runtime }),
    caCertificate,
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

async function startProxy(vg: Vaultgate, config: Config, services: ReturnType<typeof createServices>, logger: Logger) {
  const stored = await vg.store.getProxyCa();
  if (!stored) throw new BootError('the deployment CA is missing');
  const ca = openProxyCa(vg.keyring, { certPem: stored.cert_pem, sealedKey: stored.sealed_key });
  const upstreams = createUpstreams({
    connectTo: parseConnectTo(config.proxyConnectTo),
    allowPrivate: config.proxyAllowPrivate,
    extraCaPem: config.upstreamCaFile ? readFileSync(config.upstreamCaFile, 'utf8') : null,
  });
  const leaves = createLeafMinter({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, now: () => vg.deps.clock.now() });
  const server = createProxyServer({ service: services.proxy, leaves, caCertPem: ca.certPem, upstreams, logger, limits: config.limits, throttle: services.authThrottle });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.proxyAddr.port, config.proxyAddr.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  services.setProxyPort(port);
  const host = config.proxyAddr.host.includes(':') ? `[${config.proxyAddr.host}]` : config.proxyAddr.host;
  return {
    url: `http://${host}:${port}`,
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
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Where the one-time admin key banner goes (stdout by default). */
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
    const services = createServices(vg, config);
    await services.caCertificate();
    const boot = await services.orgs.bootstrap(config.adminKey);
    if (boot.printedKey) {
      const print = options.print ?? ((text: string) => process.stdout.write(text));
      print(`\nVaultgate created the default org ${boot.org.id}.\nAdmin API key (shown once, store it now):\n\n  ${boot.printedKey}\n\n`);
    }
    const wantedUi = options.uiDir === undefined ? defaultUiDir : options.uiDir;
    // Run from source without a build, there is no dashboard; the API works all the same.
    const uiDir = wantedUi !== null && existsSync(join(wantedUi, 'index.html')) ? wantedUi : null;
    if (wantedUi !== null && uiDir === null) logger.warn({ dir: wantedUi }, 'no built dashboard there (npm run build makes it): / answers 404');
    const app = await buildApp(services, {
      logger,
      version,
      uiDir,
      limits: config.limits,
      ...(options.sseHeartbeatMs ? { sseHeartbeatMs: options.sseHeartbeatMs } : {}),
    });
    listening = app;
    const address = await app.listen({ host: config.apiAddr.host, port: config.apiAddr.port }).catch((err: unknown) => {
      throw listenError(err, 'VAULTGATE_API_ADDR', config.apiAddr);
    });
    const proxy = await startProxy(vg, config, services, logger).catch((err: unknown) => {
      throw listenError(err, 'VAULTGATE_PROXY_ADDR', config.proxyAddr);
    });
    const presence = await startPresence(vg, logger).catch(async (err: unknown) => {
      await proxy.close();
      throw err;
    });
    // Minting leaf certificates needs @peculiar/x509: load it now that the node serves, not before.
    setImmediate(() => void loadX509().catch((err: unknown) => logger.error({ err }, 'loading @peculiar/x509 failed')));
    logger.info({ address, proxy: proxy.url, data_dir: config.dataDir, backend: vg.store.backend }, 'vaultgate api listening');
    return {
      app,
      url: address,
      proxyUrl: proxy.url,
      async close() {
        // Drain in-flight requests, but not forever: a client that stalls mid-request would
        // otherwise hold shutdown until Node's request timeout (minutes). After the grace
        // period the remaining connections are cut so that the store still closes cleanly.
        const deadline = setTimeout(() => app.server.closeAllConnections(), shutdownGraceMs);
        deadline.unref();
        try {
          await Promise.all([app.close(), proxy.close()]);
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

const listenProblems: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this host',
};

/** A listener that cannot bind becomes one line naming the address and its setting, not a stack trace. */
function listenError(err: unknown, setting: string, addr: { host: string; port: number }): unknown {
  const e = err as NodeJS.ErrnoException | null;
  if (e?.syscall !== 'listen' || typeof e.code !== 'string') return err;
  const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  return new BootError(`cannot listen on ${host}:${addr.port} (${setting}): ${listenProblems[e.code] ?? e.code}`, { cause: err });
}
