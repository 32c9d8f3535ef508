// The Vaultgate SDK: typed clients for the operator API and the agent runtime API.
import type { Agent, AgentEnvironment, AgentToken, AgentTokenInfo, CreateAgentBody, EnvironmentEntry, ExplainBody, ExplainResponse, Grant, Resource, UpdateAgentBody, DefaultVaultSecret } from '../contract/agent-schemas.js';
import type { AuditEvent, AuditVerifyResult, CreateSecretBody, CreateVaultBody, CredentialType, RateLimit, RatePeriod, RequestRule, RevealResponse, Secret, SecretVersion, UpdateSecretBody, UpdateVaultBody, Vault } from '../contract/schemas.js';
import { followAudit, type AuditFilter, type FollowOptions } from './audit-stream.js';
import { nextCursor, request, type RequestOptions, type Transport } from './http.js';

export { VaultgateError } from './http.js';
export type { AuditFilter, FollowOptions } from './audit-stream.js';
export type { Agent, AgentEnvironment, AgentToken, AgentTokenInfo, EnvironmentEntry, AuditEvent, AuditVerifyResult, CreateSecretBody, CredentialType, DefaultVaultSecret, ExplainBody, ExplainResponse, Grant, RateLimit, RatePeriod, RequestRule, Resource, RevealResponse, Secret, SecretVersion, UpdateSecretBody, Vault };

export interface ClientOptions {
  url: string;
  fetch?: typeof fetch;
}

export interface ListOptions {
  limit?: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | undefined;
}

/** `If-Match` for optimistic concurrency. */
export interface VersionGuard {
  ifVersion?: number;
}

function guard(opts?: VersionGuard): RequestOptions['headers'] {
  return opts?.ifVersion === undefined ? {} : { 'if-match': `"${opts.ifVersion}"` };
}

function transport(opts: ClientOptions, token: string): Transport {
  // Called as `t.fetch(…)`: a browser's fetch throws "Illegal invocation" unless it is called on
  // the global object, so the default is wrapped rather than stored bare.
  return { baseUrl: opts.url, token, fetch: opts.fetch ?? ((input, init) => globalThis.fetch(input, init)) };
}

export function createClient(opts: ClientOptions & { apiKey: string }) {
  const t = transport(opts, opts.apiKey);
  const api = '/api/public/v1';
  const call = async <T>(method: string, path: string, o?: RequestOptions) => (await request<T>(t, method, `${api}${path}`, o)).data;
  const list = async <T>(path: string, o: object = {}): Promise<Page<T>> => {
    const res = await request<T[]>(t, 'GET', `${api}${path}`, { query: o as RequestOptions['query'] });
    return { items: res.data, nextCursor: nextCursor(res.headers) };
  };
  /** Follows `Link` headers until the last page (`param` is the cursor's query name). */
  async function all<T>(path: string, o: Record<string, unknown> = {}, param = 'cursor'): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    do {
      const res = await request<T[]>(t, 'GET', `${api}${path}`, { query: { ...o, limit: 1000, ...(cursor ? { [param]: cursor } : {}) } });
      out.push(...res.data);
      cursor = nextCursor(res.headers, param);
    } while (cursor);
    return out;
  }
  const enc = encodeURIComponent;

  return {
    vaults: {
      create: (body: CreateVaultBody) => call<Vault>('POST', '/vaults', { body }),
      list: (o?: ListOptions) => list<Vault>('/vaults', o),
      all: () => all<Vault>('/vaults'),
      get: (id: string) => call<Vault>('GET', `/vaults/${enc(id)}`),
      update: (id: string, body: UpdateVaultBody) => call<Vault>('PATCH', `/vaults/${enc(id)}`, { body }),
      delete: (id: string) => call<void>('DELETE', `/vaults/${enc(id)}`),
    },
    secrets: {
      create: (vaultId: string, body: CreateSecretBody) => call<Secret>('POST', `/vaults/${enc(vaultId)}/secrets`, { body }),
      list: (vaultId: string, o?: ListOptions & { label?: string[] }) => list<Secret>(`/vaults/${enc(vaultId)}/secrets`, o),
      all: (vaultId: string, o?: { label?: string[] }) => all<Secret>(`/vaults/${enc(vaultId)}/secrets`, o),
      get: (id: string) => call<Secret>('GET', `/secrets/${enc(id)}`),
      update: (id: string, body: UpdateSecretBody, o?: VersionGuard) => call<Secret>('PATCH', `/secrets/${enc(id)}`, { body, headers: guard(o) }),
      delete: (id: string, o?: VersionGuard) => call<void>('DELETE', `/secrets/${enc(id)}`, { headers: guard(o) }),
      versions: (id: string) => call<SecretVersion[]>('GET', `/secrets/${enc(id)}/versions`),
      reveal: (id: string) => call<RevealResponse>('POST', `/secrets/${enc(id)}/reveal`),
    },
    agents: {
      create: (body: CreateAgentBody) => call<Agent>('POST', '/agents', { body }),
      list: (o?: ListOptions) => list<Agent>('/agents', o),
      all: () => all<Agent>('/agents'),
      get: (id: string) => call<Agent>('GET', `/agents/${enc(id)}`),
      update: (id: string, body: UpdateAgentBody) => call<Agent>('PATCH', `/agents/${enc(id)}`, { body }),
      delete: (id: string) => call<void>('DELETE', `/agents/${enc(id)}`),
      deploy: (id: string) => call<Agent>('POST', `/agents/${enc(id)}/deploy`),
      stop: (id: string) => call<Agent>('POST', `/agents/${enc(id)}/stop`),
      attach: (id: string, vaultId: string) => call<Agent>('POST', `/agents/${enc(id)}/vaults`, { body: { vault_id: vaultId } }),
      detach: (id: string, vaultId: string) => call<void>('DELETE', `/agents/${enc(id)}/vaults/${enc(vaultId)}`),
      resources: (id: string) => call<Resource[]>('GET', `/agents/${enc(id)}/resources`),
      /** Names and forms (value or placeholder) of the agent's environment; never a value. */
      environment: (id: string) => call<EnvironmentEntry[]>('GET', `/agents/${enc(id)}/environment`),
      createToken: (id: string) => call<AgentToken>('POST', `/agents/${enc(id)}/tokens`),
      tokens: (id: string) => call<AgentTokenInfo[]>('GET', `/agents/${enc(id)}/tokens`),
      revokeToken: (id: string, tokenId: string) => call<void>('DELETE', `/agents/${enc(id)}/tokens/${enc(tokenId)}`),
      /** What the proxy would do with this request, per placeholder in it; decrypts and sends nothing. */
      explain: (id: string, body: ExplainBody) => call<ExplainResponse>('POST', `/agents/${enc(id)}/explain`, { body }),
    },
    grants: {
      create: (agentId: string, secretId: string) => call<Grant>('POST', '/grants', { body: { agent_id: agentId, secret_id: secretId } }),
      list: (o?: ListOptions & { agent_id?: string }) => list<Grant>('/grants', o),
      all: (o?: { agent_id?: string }) => all<Grant>('/grants', o),
      delete: (grantId: string) => call<void>('DELETE', `/grants/${enc(grantId)}`),
    },
    audit: {
      list: (o?: AuditFilter & { after?: number; limit?: number }) => call<AuditEvent[]>('GET', '/audit', { query: o }),
      /** Every matching event after `after` (all pages), oldest first. */
      all: (o?: AuditFilter & { after?: number }) => all<AuditEvent>('/audit', o, 'after'),
      /** The live feed: every matching event after `after`, resuming by Last-Event-ID across dropped connections. */
      follow: (o?: FollowOptions) => followAudit(t, `${api}/audit/stream`, o),
      verify: (expectedHead?: string) => call<AuditVerifyResult>('GET', '/audit/verify', { query: { expected_head: expectedHead } }),
    },
  };
}

export type VaultgateClient = ReturnType<typeof createClient>;

export function createAgentClient(opts: ClientOptions & { token: string }) {
  const t = transport(opts, opts.token);
  const api = '/api/agent/v1';
  return {
    environment: async () => (await request<AgentEnvironment>(t, 'GET', `${api}/environment`)).data,
    /** Changes whenever the environment would change; carries no value. */
    fingerprint: async () => (await request<{ fingerprint: string }>(t, 'GET', `${api}/environment/fingerprint`)).data,
    vault: {
      /** The `vault.read` primitive: the value, or a VaultgateError with code `access_denied`. */
      read: async (name: string) => (await request<{ value: string }>(t, 'GET', `${api}/secrets/${encodeURIComponent(name)}`)).data.value,
    },
  };
}

export type VaultgateAgentClient = ReturnType<typeof createAgentClient>;
