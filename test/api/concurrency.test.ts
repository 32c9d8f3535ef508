// Concurrent writers on one secret: without If-Match every PATCH lands as its own version (none lost,
// none refused); with If-Match exactly one of the racers wins. Runs on SQLite and PostgreSQL.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let secretId: string;
beforeAll(async () => {
  s = await startTestServer();
  const vault = (await s.call('POST', '/vaults', { body: { name: 'race' } })).json;
  secretId = (await s.call('POST', `/vaults/${vault.id}/secrets`, { body: { env_key: 'K', value: 'v0' } })).json.id;
});
afterAll(async () => {
  await s.close();
});

it('48 concurrent PATCHes of one secret all succeed, each as a new version', async () => {
  const results = await Promise.all(Array.from({ length: 48 }, (_, i) => s.call('PATCH', `/secrets/${secretId}`, { body: { value: `value-${i}` } })));
  expect(results.map((r) => r.status)).toEqual(Array(48).fill(200));
  expect(new Set(results.map((r) => r.json.version)).size).toBe(48);
  expect((await s.call('GET', `/secrets/${secretId}`)).json.version).toBe(49);
  expect((await s.call('GET', `/secrets/${secretId}/versions`)).json).toHaveLength(49);
  expect((await s.call('GET', '/audit/verify')).json.ok).toBe(true);
});

it('with If-Match, exactly one of 8 racers on the same version wins; the others get 412', async () => {
  const current = (await s.call('GET', `/secrets/${secretId}`)).json.version;
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) => s.call('PATCH', `/secrets/${secretId}`, { body: { value: `guarded-${i}` }, headers: { 'if-match': `"${current}"` } })),
  );
  expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(7).fill(412)]);
});
