// Black-box tests of operator auth (401s) and org isolation: another org's objects do not exist for you.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrgViaCli, runCli, SseClient } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { allEvents, canary, createSecret, createVault, expectJson, missingId, unauthorized } from './helpers.js';

let s: TestServer;
let other: { org_id: string; api_key: string };
let vault: any;
let secret: any;
let value: string;
beforeAll(async () => {
  s = await startTestServer({ sseHeartbeatMs: 200 });
  value = canary('org-a');
  vault = await createVault(s, 'shared-name');
  secret = await createSecret(s, vault.id, { env_key: 'A_SECRET', value, revealable: true });
  other = await createOrgViaCli(s, 'other-org');
});
afterAll(async () => {
  await s.close();
});

const routes = (vaultId: string, secretId: string): [string, string, unknown?][] => [
  ['GET', '/vaults'],
  ['POST', '/vaults', { name: 'x' }],
  ['GET', `/vaults/${vaultId}`],
  ['PATCH', `/vaults/${vaultId}`, { name: 'y' }],
  ['DELETE', `/vaults/${vaultId}`],
  ['GET', `/vaults/${vaultId}/secrets`],
  ['POST', `/vaults/${vaultId}/secrets`, { env_key: 'B', value: 'v' }],
  ['GET', `/vaults/${vaultId}/secrets/${secretId}`],
  ['PATCH', `/vaults/${vaultId}/secrets/${secretId}`, { value: 'v' }],
  ['DELETE', `/vaults/${vaultId}/secrets/${secretId}`],
  ['GET', `/vaults/${vaultId}/secrets/${secretId}/versions`],
  ['POST', `/vaults/${vaultId}/secrets/${secretId}/reveal`],
  ['GET', `/secrets/${secretId}`],
  ['PATCH', `/secrets/${secretId}`, { value: 'v' }],
  ['DELETE', `/secrets/${secretId}`],
  ['GET', `/secrets/${secretId}/versions`],
  ['POST', `/secrets/${secretId}/reveal`],
  ['GET', '/audit'],
  ['GET', '/audit/verify'],
  ['GET', '/audit/stream'],
];

describe('authentication', () => {
  it.each([
    ['no Authorization header', {}],
    ['the Basic scheme', { authorization: `Basic ${Buffer.from('admin:x').toString('base64')}` }],
    ['Bearer with no token', { authorization: 'Bearer ' }],
    ['an unknown key', { authorization: 'Bearer vgk_not-a-real-key-at-all' }],
    ['the admin key with a suffix', { authorization: 'Bearer KEY-suffix' }],
    ['the admin key without the scheme', { authorization: 'KEY' }],
    ['a 600-character token', { authorization: `Bearer ${'k'.repeat(600)}` }],
  ])('%s → 401 on every operator route, and nothing happens', async (_name, headers: Record<string, string>) => {
    const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace('KEY', s.apiKey)]));
    const before = await allEvents(s);
    for (const [method, path, body] of routes(vault.id, secret.id)) {
      const res = await s.call(method, path, { key: null, headers: h, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.json).toEqual(unauthorized);
      expect(res.text).not.toContain(value);
    }
    expect(await allEvents(s)).toEqual(before);
    expectJson(await s.call('GET', `/secrets/${secret.id}`), 200, secret);
  });

  it('a revoked key fails on its next request, and the attempt is audited in its org', async () => {
    const created = await runCli(['admin', 'key', 'create', '--name', 'ci', '--json'], { env: s.storeEnv });
    expect(created.code, created.stderr).toBe(0);
    const minted = JSON.parse(created.stdout);
    expect((await s.call('GET', '/vaults', { key: minted.api_key })).status).toBe(200);
    expect((await runCli(['admin', 'key', 'revoke', minted.id, '--json'], { env: s.storeEnv })).code).toBe(0);
    expectJson(await s.call('GET', '/vaults', { key: minted.api_key }), 401, unauthorized);
    const failed = (await allEvents(s)).filter((e) => e.type === 'auth.failed');
    expect(failed.map((e) => [e.actor, e.target_id, e.outcome, e.reason])).toEqual([[minted.id, minted.id, 'denied', 'api key revoked']]);
  });
});

describe('org isolation', () => {
  const asOther = (method: string, path: string, body?: unknown) => s.call(method, path, { key: other.api_key, ...(body ? { body } : {}) });

  it('the other org sees no vaults, secrets or events of this one', async () => {
    expectJson(await asOther('GET', '/vaults'), 200, []);
    const events = await allEvents(s, other.api_key);
    expect(events.map((e) => [e.seq, e.type, e.org_id])).toEqual([
      [1, 'org.created', other.org_id],
      [2, 'api_key.created', other.org_id],
    ]);
    expectJson(await asOther('GET', `/audit?secret_id=${secret.id}`), 200, []);
    expectJson(await asOther('GET', `/audit?type=vault.created`), 200, []);
    const verify = await asOther('GET', '/audit/verify');
    expectJson(verify, 200, { ok: true, events: 2, head: events[1].hash, head_seq: 2 });
  });

  it('every id of this org answers the other org exactly like a missing id', async () => {
    const mine = routes(vault.id, secret.id);
    const missing = routes(missingId('vlt'), missingId('sec'));
    for (const [i, [method, path, body]] of mine.entries()) {
      if (!path.includes(vault.id) && !path.includes(secret.id)) continue;
      const [, missingPath] = missing[i] as [string, string];
      const a = await asOther(method, path, body);
      const b = await asOther(method, missingPath, body);
      expect(a.status, `${method} ${path}`).toBe(404);
      expect(a.text, `${method} ${path}`).toBe(b.text);
      expect(a.text).not.toContain(value);
    }
    expectJson(await asOther('GET', `/vaults/${vault.id}`), 404, { error: 'vault not found', code: 'vault_not_found' });
    expectJson(await asOther('GET', `/secrets/${secret.id}`), 404, { error: 'secret not found', code: 'secret_not_found' });
  });

  it("the other org's attempts changed nothing here", async () => {
    expectJson(await s.call('GET', `/vaults/${vault.id}`), 200, { ...vault, secret_count: 1 });
    expectJson(await s.call('GET', `/secrets/${secret.id}`), 200, secret);
    expectJson(await s.call('POST', `/secrets/${secret.id}/reveal`), 200, { value, version: 1 });
    expect((await allEvents(s)).every((e) => e.org_id !== other.org_id)).toBe(true);
  });

  it('both orgs may use the same vault name; each sees only its own', async () => {
    const theirs = await asOther('POST', '/vaults', { name: 'shared-name' });
    expect(theirs.status).toBe(201);
    expectJson(await asOther('GET', '/vaults'), 200, [theirs.json]);
    expect((await s.call('GET', '/vaults')).json.map((v: any) => v.id)).not.toContain(theirs.json.id);
    expectJson(await s.call('GET', `/vaults/${theirs.json.id}`), 404, { error: 'vault not found', code: 'vault_not_found' });
  });

  it("each org's audit stream carries only its own events", async () => {
    const mineStream = await SseClient.open(s, '/audit/stream');
    const theirs = await SseClient.open(s, '/audit/stream', { authorization: `Bearer ${other.api_key}` });
    try {
      const mineVault = await createVault(s, 'mine-live');
      const theirVault = (await asOther('POST', '/vaults', { name: 'theirs-live' })).json;
      await mineStream.until(() => mineStream.events().some((e) => e.vault_id === mineVault.id));
      await theirs.until(() => theirs.events().some((e) => e.vault_id === theirVault.id));
      expect(mineStream.events().every((e) => e.org_id !== other.org_id)).toBe(true);
      expect(theirs.events().every((e) => e.org_id === other.org_id)).toBe(true);
      expect(theirs.raw).not.toContain(mineVault.id);
    } finally {
      mineStream.close();
      theirs.close();
    }
  });
});
