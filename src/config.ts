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
  upstreamCaFile: string | null;
  proxyConnectTo: string | null;
  proxyAllowPrivate: boolean;
  /** The proxy address agents are told to use (behind a load balancer), else the listen address. */
  proxyPublicUrl: string | null;
  logLevel: string;
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
  const adminKey = optional(env, 'VAULTGATE_ADMIN_KEY');
  if (adminKey !== undefined && adminKey.length < 16) throw new ConfigError('VAULTGATE_ADMIN_KEY must be at least 16 characters');
  return Object.freeze({
    dataDir: resolve(optional(env, 'VAULTGATE_DATA_DIR') ?? './.vaultgate'),
    databaseUrl,
    masterKey: optional(env, 'VAULTGATE_MASTER_KEY'),
    apiAddr: parseListenAddress('VAULTGATE_API_ADDR', optional(env, 'VAULTGATE_API_ADDR') ?? '127.0.0.1:7400'),
    proxyAddr: parseListenAddress('VAULTGATE_PROXY_ADDR', optional(env, 'VAULTGATE_PROXY_ADDR') ?? '127.0.0.1:7401'),
    adminKey,
    upstreamCaFile: optional(env, 'VAULTGATE_UPSTREAM_CA_FILE') ?? null,
    proxyConnectTo: optional(env, 'VAULTGATE_PROXY_CONNECT_TO') ?? null,
    proxyAllowPrivate: allowPrivate === '1',
    proxyPublicUrl,
    logLevel,
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
