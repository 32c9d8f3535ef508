// Shared helpers of the operator-API black-box suites: fixtures, exact-shape builders, paging.
import { expect } from 'vitest';
import type { TestServer } from '../helpers/server.js';

export const secretKeyOrder = [
  'id',
  'env_key',
  'allowed_domains',
  'created_at',
  'updated_at',
  'vault_id',
  'version',
  'revealable',
  'labels',
  'description',
  'inject_in',
  // SPEC §10, after the seed's keys (regions and services follow for aws_sigv4 only).
  'type',
  'rules',
  'rate_limit',
];

export const auditKeyOrder = [
  'id',
  'seq',
  'type',
  'time',
  'org_id',
  'actor',
  'vault_id',
  'secret_id',
  'agent_id',
  'target_id',
  'request_id',
  'source_ip',
  'outcome',
  'reason',
  'details',
  'prev_hash',
  'hash',
];

export const isoMs = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const ulid = '[0-9A-HJKMNP-TV-Z]{26}';
export const idOf = (prefix: string) => new RegExp(`^${prefix}_${ulid}$`);
export const hex64 = /^[0-9a-f]{64}$/;

/** An error body exactly as the error table builds it. */
export const err = (error: string, code: string) => ({ error, code });
export const vaultNotFound = err('vault not found', 'vault_not_found');
export const secretNotFound = err('secret not found', 'secret_not_found');
export const invalid = (message: string) => err(message, 'invalid_request');
export const unauthorized = err('unauthorized', 'unauthorized');
export const versionMismatch = err('version mismatch', 'version_mismatch');

/** A well-formed id that was never minted. */
export const missingId = (prefix: string) => `${prefix}_01KQ27AQH800XQTQPJZ0DH14SJ`;

let canaries = 0;
/** A distinctive value that must never appear in any response but a reveal. */
export function canary(tag = 'v'): string {
  canaries += 1;
  return `CANARY-${tag}-${canaries}-${Math.random().toString(36).slice(2, 12)}`;
}

export async function createVault(s: TestServer, name: string, description?: string): Promise<any> {
  const res = await s.call('POST', '/vaults', { body: description === undefined ? { name } : { name, description } });
  expect(res.status, res.text).toBe(201);
  return res.json;
}

export async function createSecret(s: TestServer, vaultId: string, body: Record<string, unknown>): Promise<any> {
  const res = await s.call('POST', `/vaults/${vaultId}/secrets`, { body: { value: canary('fixture'), ...body } });
  expect(res.status, res.text).toBe(201);
  return res.json;
}

/** The full secret object a create with `body` must answer, built from the returned id and times. */
export function expectedSecret(created: { id: string; created_at: string; updated_at: string }, vaultId: string, over: Record<string, unknown>): Record<string, unknown> {
  return {
    id: created.id,
    env_key: over.env_key,
    allowed_domains: over.allowed_domains ?? [],
    created_at: created.created_at,
    updated_at: created.updated_at,
    vault_id: vaultId,
    version: over.version ?? 1,
    revealable: over.revealable ?? false,
    labels: over.labels ?? {},
    description: over.description ?? null,
    inject_in: over.inject_in ?? ['header'],
    type: over.type ?? 'static',
    rules: over.rules ?? null,
    rate_limit: over.rate_limit ?? null,
    ...(over.regions !== undefined ? { regions: over.regions, services: over.services } : {}),
  };
}

/** The admin key's id (`key_…`), the actor of every mutation made through `s.call`. */
export async function adminKeyId(s: TestServer): Promise<string> {
  const res = await s.call('GET', '/audit?type=api_key.created');
  expect(res.status).toBe(200);
  return res.json[0].target_id;
}

/** Follows `Link: <…>; rel="next"` from `firstPath`; returns each page's items and link. */
export async function walkPages(s: TestServer, firstPath: string): Promise<{ pages: any[][]; links: (string | null)[] }> {
  const pages: any[][] = [];
  const links: (string | null)[] = [];
  let next: string | null = `/api/public/v1${firstPath}`;
  while (next !== null && pages.length < 50) {
    const res = await s.call('GET', `${s.url}${next}`);
    expect(res.status, res.text).toBe(200);
    pages.push(res.json);
    const link = res.headers.get('link');
    links.push(link);
    next = link === null ? null : nextLinkPath(link);
  }
  return { pages, links };
}

export function nextLinkPath(link: string): string {
  const m = /^<(\/api\/public\/v1\/[^>]+)>; rel="next"$/.exec(link);
  if (!m?.[1]) throw new Error(`bad Link header: ${link}`);
  return m[1];
}

/** All audit events of the caller's org, oldest first. */
export async function allEvents(s: TestServer, key?: string): Promise<any[]> {
  const res = await s.call('GET', '/audit?limit=1000', key === undefined ? {} : { key });
  expect(res.status, res.text).toBe(200);
  return res.json;
}

/** Exact status and exact JSON body. */
export function expectJson(res: { status: number; text: string; json: any }, status: number, body: unknown): void {
  expect(res.status, res.text.slice(0, 500)).toBe(status);
  expect(res.json).toEqual(body);
}
