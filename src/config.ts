// The only reader of process.env: configuration validated once, then frozen.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface Config {
  dataDir: string;
  databaseUrl: string | null;
  masterKey: string | undefined;
  apiAddr: ListenAddress;
  proxyAddr: ListenAddress;
  adminKey: string | undefined;
  /** Where a minted bootstrap admin key is written (a new 0600 file) instead of stderr. */
  adminKeyFile: string | null;
  upstreamCaFile: string | null;
  proxyConnectTo: string | null;
  proxyAllowPrivate: boolean;
  /** The proxy address agents are told to use (behind a load balancer), else the listen address. */
  proxyPublicUrl: string | null;
  logLevel: string;
  /** `GET /metrics`: off (404), on the API listener (`metricsAddr` null), or on a listener of its own. */
  metrics: boolean;
  metricsAddr: ListenAddress | null;
  limits: Limits;
}

/** What one connection may cost: SPEC §9. Every field has an env var, listed in the README. */
export interface Limits {
  /** Largest request head (request line and headers), in bytes, on every listener. */
  maxHeaderBytes: number;
  /** Time to receive a whole request head (slowloris). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, head and body. */
  requestTimeoutMs: number;
  /** Idle time allowed between two requests of a keep-alive connection. */
  keepAliveTimeoutMs: number;
  /** Time a client gets to finish the TLS handshake inside a CONNECT tunnel. */
  handshakeTimeoutMs: number;
  /** A tunnel or upstream exchange with no byte either way for this long is closed. */
  idleTimeoutMs: number;
  /** Open connections per listener, in total and from one source address. */
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** Largest request body the proxy holds whole (only where a value may go into the body). */
  maxBufferedBody: number;
  /** Failed authentications (API 401, proxy 407) one source address may have per minute before 429. */
  authFailuresPerMinute: number;
}

export const defaultLimits: Readonly<Limits> = Object.freeze({
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  maxConnections: 4096,
  maxConnectionsPerAddress: 256,
  maxBufferedBody: 16 * 1024 * 1024,
  authFailuresPerMinute: 20,
});

/** Env var → limit, in the README's order. */
export const limitVariables: Readonly<Record<keyof Limits, string>> = Object.freeze({
  maxHeaderBytes: 'VAULTGATE_MAX_HEADER_BYTES',
  headersTimeoutMs: 'VAULTGATE_HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'VAULTGATE_REQUEST_TIMEOUT_MS',
  keepAliveTimeoutMs: 'VAULTGATE_KEEPALIVE_TIMEOUT_MS',
  handshakeTimeoutMs: 'VAULTGATE_PROXY_HANDSHAKE_TIMEOUT_MS',
  idleTimeoutMs: 'VAULTGATE_PROXY_IDLE_TIMEOUT_MS',
  maxConnections: 'VAULTGATE_MAX_CONNECTIONS',
  maxConnectionsPerAddress: 'VAULTGATE_MAX_CONNECTIONS_PER_ADDRESS',
  maxBufferedBody: 'VAULTGATE_PROXY_MAX_BUFFERED_BODY',
  authFailuresPerMinute: 'VAULTGATE_AUTH_FAILURES_PER_MINUTE',
});

function loadLimits(env: NodeJS.ProcessEnv): Limits {
  const limits = { ...defaultLimits };
  for (const [field, name] of Object.entries(limitVariables) as [keyof Limits, string][]) {
    const text = optional(env, name);
    if (text === undefined) continue;
    if (!/^[1-9][0-9]{0,11}$/.test(text)) throw new ConfigError(`${name} must be a positive whole number`);
    limits[field] = Number(text);
  }
  return limits;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function parseListenAddress(name: string, value: string): ListenAddress {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !match[1] || port > 65535) throw new ConfigError(`${name} must look like host:port (e.g. 127.0.0.1:7400)`);
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}

function optional(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const logLevel = optional(env, 'VAULTGATE_LOG_LEVEL') ?? 'info';
  if (!logLevels.includes(logLevel)) throw new ConfigError(`VAULTGATE_LOG_LEVEL must be one of ${logLevels.join(', ')}`);
  const databaseUrl = optional(env, 'VAULTGATE_DATABASE_URL') ?? null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('VAULTGATE_DATABASE_URL must be a postgres:// URL');
  }
  const allowPrivate = optional(env, 'VAULTGATE_PROXY_ALLOW_PRIVATE');
  if (allowPrivate !== undefined && allowPrivate !== '1' && allowPrivate !== '0') {
    throw new ConfigError('VAULTGATE_PROXY_ALLOW_PRIVATE must be 1 or 0');
  }
  const proxyPublicUrl = optional(env, 'VAULTGATE_PROXY_PUBLIC_URL') ?? null;
  if (proxyPublicUrl !== null && !/^http:\/\/[^/\s@]+(:\d{1,5})?\/?$/.test(proxyPublicUrl)) {
    throw new ConfigError('VAULTGATE_PROXY_PUBLIC_URL must look like http://host:port (no credentials, no path)');
  }
  const metrics = optional(env, 'VAULTGATE_METRICS') ?? 'on';
  if (metrics !== 'on' && metrics !== 'off') throw new ConfigError('VAULTGATE_METRICS must be on or off');
  const metricsAddrText = optional(env, 'VAULTGATE_METRICS_ADDR');
  if (metrics === 'off' && metricsAddrText !== undefined) throw new ConfigError('VAULTGATE_METRICS_ADDR is set but VAULTGATE_METRICS is off');
  const adminKey = optional(env, 'VAULTGATE_ADMIN_KEY');
  if (adminKey !== undefined && adminKey.length < 16) throw new ConfigError('VAULTGATE_ADMIN_KEY must be at least 16 characters');
  const adminKeyFile = optional(env, 'VAULTGATE_ADMIN_KEY_FILE');
  return Object.freeze({
    dataDir: resolve(optional(env, 'VAULTGATE_DATA_DIR') ?? './.vaultgate'),
    databaseUrl,
    masterKey: optional(env, 'VAULTGATE_MASTER_KEY'),
    apiAddr: parseListenAddress('VAULTGATE_API_ADDR', optional(env, 'VAULTGATE_API_ADDR') ?? '127.0.0.1:7400'),
    proxyAddr: parseListenAddress('VAULTGATE_PROXY_ADDR', optional(env, 'VAULTGATE_PROXY_ADDR') ?? '127.0.0.1:7401'),
    adminKey,
    adminKeyFile: adminKeyFile === undefined ? null : resolve(adminKeyFile),
    upstreamCaFile: optional(env, 'VAULTGATE_UPSTREAM_CA_FILE') ?? null,
    proxyConnectTo: optional(env, 'VAULTGATE_PROXY_CONNECT_TO') ?? null,
    proxyAllowPrivate: allowPrivate === '1',
    proxyPublicUrl,
    logLevel,
    metrics: metrics === 'on',
    metricsAddr: metricsAddrText === undefined ? null : parseListenAddress('VAULTGATE_METRICS_ADDR', metricsAddrText),
    limits: Object.freeze(loadLimits(env)),
  });
}

export interface ClientConfig {
  url: string;
  apiKey: string | undefined;
  agentToken: string | undefined;
}

/** What `vaultgate login` saved; each field is overridden by its environment variable. */
export interface ClientProfile {
  url?: string | undefined;
  apiKey?: string | undefined;
}

export const defaultApiUrl = 'http://127.0.0.1:7400';

/** What client commands (the CLI on top of the SDK) read: where the API is and how to authenticate. */
export function loadClientConfig(env: NodeJS.ProcessEnv = process.env, profile: ClientProfile = {}): Readonly<ClientConfig> {
  const fromEnv = optional(env, 'VAULTGATE_URL');
  const url = fromEnv ?? profile.url ?? defaultApiUrl;
  if (!isHttpUrl(url)) throw new ConfigError(`${fromEnv === undefined ? 'the saved profile URL' : 'VAULTGATE_URL'} must be an http:// or https:// URL`);
  const apiKey = optional(env, 'VAULTGATE_API_KEY') ?? (profile.apiKey === '' ? undefined : profile.apiKey);
  return Object.freeze({ url, apiKey, agentToken: optional(env, 'VAULTGATE_AGENT_TOKEN') });
}

export function isHttpUrl(url: string): boolean {
  return /^https?:\/\/[^\s]+$/.test(url);
}

/** Where `vaultgate login` keeps the profile: `$XDG_CONFIG_HOME/vaultgate/config.json`, else `~/.config/vaultgate/config.json`. */
export function clientProfilePath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = optional(env, 'XDG_CONFIG_HOME');
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(optional(env, 'HOME') ?? homedir(), '.config');
  return join(base, 'vaultgate', 'config.json');
}

/** A copy of this process's environment, for commands that start children (`vaultgate run`). */
export function parentEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env };
}
