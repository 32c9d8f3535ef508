// Shared helpers of the agents/grants/runtime black-box suites: fixtures and agent-API calls (the CLI
// runner, the SSE reader and the canary search are the kit's: test/helpers/kit.ts).
import { expect } from 'vitest';
import type { TestServer } from '../helpers/server.js';

export type Res = { status: number; headers: Headers; text: string; json: any };

export const isoMs = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const idOf = (prefix: string) => new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`);
export const placeholderRe = /^vgph_[0-9A-Za-z]{40}$/;
/** A well-formed id that was never minted. */
export const missingId = (prefix: string) => `${prefix}_01KQ27AQH800XQTQPJZ0DH14SJ`;

export const err = (error: string, code: string) => ({ error, code });
export const E = {
  unauthorized: err('unauthorized', 'unauthorized'),
  denied: err('access denied', 'access_denied'),
  agent: err('agent not found', 'agent_not_found'),
  vault: err('vault not found', 'vault_not_found'),
  secret: err('secret not found', 'secret_not_found'),
  grant: err('grant not found', 'grant_not_found'),
  token: err('token not found', 'token_not_found'),
  resource: err('resource not found', 'resource_not_found'),
  invalid: (message: string) => err(message, 'invalid_request'),
};

/** Exact status and exact JSON body. */
export function expectJson(res: Res, status: number, body: unknown): void {
  expect(res.status, res.text.slice(0, 500)).toBe(status);
  expect(res.json).toEqual(body);
}

export function expect204(res: Res): void {
  expect(res.status, res.text.slice(0, 500)).toBe(204);
  expect(res.text).toBe('');
}

let counter = 0;
/** A distinctive value; ':' '/' '+' make its escaped and encoded forms differ from the raw one. */
export function canary(tag = 'v'): string {
  counter += 1;
  return `CNRY:${tag}/${counter}-${Math.random().toString(36).slice(2, 12)}+${Math.random().toString(36).slice(2, 8)}`;
}

export async function ok(res: Promise<Res>, status: number): Promise<any> {
  const r = await res;
  expect(r.status, r.text.slice(0, 500)).toBe(status);
  return r.json;
}

export const createVault = (s: TestServer, name: string, key?: string) => ok(s.call('POST', '/vaults', { body: { name }, ...(key ? { key } : {}) }), 201);

export const createSecret = (s: TestServer, vaultId: string, envKey: string, value: string, extra: Record<string, unknown> = {}, key?: string) =>
  ok(s.call('POST', `/vaults/${vaultId}/secrets`, { body: { env_key: envKey, value, ...extra }, ...(key ? { key } : {}) }), 201);

export const createAgent = (s: TestServer, body: Record<string, unknown>, key?: string) => ok(s.call('POST', '/agents', { body, ...(key ? { key } : {}) }), 201);

export async function mintToken(s: TestServer, agentId: string, key?: string): Promise<{ id: string; token: string }> {
  return ok(s.call('POST', `/agents/${agentId}/tokens`, key ? { key } : {}), 201);
}

export const grant = (s: TestServer, agentId: string, secretId: string, key?: string) =>
  ok(s.call('POST', '/grants', { body: { agent_id: agentId, secret_id: secretId }, ...(key ? { key } : {}) }), 201);

/** A call on the agent runtime API with an agent token. */
export const agentCall = (s: TestServer, token: string | null, path: string, method = 'GET') => s.call(method, `${s.url}/api/agent/v1${path}`, { key: token });

export const readSecret = (s: TestServer, token: string, name: string) => agentCall(s, token, `/secrets/${encodeURIComponent(name)}`);

export async function envOf(s: TestServer, token: string): Promise<Record<string, string>> {
  const res = await agentCall(s, token, '/environment');
  expect(res.status, res.text.slice(0, 300)).toBe(200);
  return res.json.env;
}

/** Deploys an agent (a new one is stopped and receives no value: the kill switch, SPEC §2). */
export const deploy = (s: TestServer, agentId: string, key?: string) => ok(s.call('POST', `/agents/${agentId}/deploy`, key ? { key } : {}), 200);

/** A deployed agent with a fresh token. */
export async function agentWithToken(s: TestServer, body: Record<string, unknown>, key?: string): Promise<{ agent: any; token: string; tokenId: string }> {
  const agent = await deploy(s, (await createAgent(s, body, key)).id, key);
  const t = await mintToken(s, agent.id, key);
  return { agent, token: t.token, tokenId: t.id };
}

/** All audit events of the caller's org, oldest first. */
export async function allEvents(s: TestServer, key?: string): Promise<any[]> {
  return ok(s.call('GET', '/audit?limit=1000', key ? { key } : {}), 200);
}

export async function eventsOf(s: TestServer, type: string, key?: string): Promise<any[]> {
  return (await allEvents(s, key)).filter((e) => e.type === type);
}
