// The only reader of process.env: configuration validated once, then frozen.
import { resolve } from 'node:path';

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
    logLevel,
  });
}

export interface ClientConfig {
  url: string;
  apiKey: string | undefined;
  agentToken: string | undefined;
}

/** What client commands (the CLI on top of the SDK) read: where the API is and how to authenticate. */
export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): Readonly<ClientConfig> {
  const url = optional(env, 'VAULTGATE_URL') ?? 'http://127.0.0.1:7400';
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new ConfigError('VAULTGATE_URL must be an http:// or https:// URL');
  return Object.freeze({ url, apiKey: optional(env, 'VAULTGATE_API_KEY'), agentToken: optional(env, 'VAULTGATE_AGENT_TOKEN') });
}

/** A copy of this process's environment, for commands that start children (`vaultgate run`). */
export function parentEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env };
}
