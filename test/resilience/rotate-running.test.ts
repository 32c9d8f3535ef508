// Rotating the master key under a running node: the node refuses to write or read with its old
// key (503, nothing stored under a key that no longer exists), and a restart recovers everything.
import { afterEach, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireBuiltCli, runCli } from './helpers.js';

let s: TestServer | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

it('a node left on the old key answers 503 and writes nothing; after a restart every value is intact', async () => {
  requireBuiltCli();
  s = await startTestServer();
  const vault = (await s.call('POST', '/vaults', { body: { name: 'v' } })).json;
  const secret = (await s.call('POST', `/vaults/${vault.id}/secrets`, { body: { env_key: 'A', value: 'before-rotation', revealable: true } })).json;

  const rotated = await runCli(['admin', 'rotate-master-key', '--json'], { VAULTGATE_DATA_DIR: s.dataDir });
  expect(rotated.code, rotated.stderr).toBe(0);

  const stale = { error: 'the master key was rotated: restart this node with the new key', code: 'unavailable' };
  const create = await s.call('POST', `/vaults/${vault.id}/secrets`, { body: { env_key: 'B', value: 'after' } });
  expect([create.status, create.json]).toEqual([503, stale]);
  const patch = await s.call('PATCH', `/secrets/${secret.id}`, { body: { value: 'changed' } });
  expect([patch.status, patch.json]).toEqual([503, stale]);
  const reveal = await s.call('POST', `/secrets/${secret.id}/reveal`);
  expect([reveal.status, reveal.json]).toEqual([503, stale]);

  const { dataDir, apiKey } = s;
  await s.server.close();
  s = await startTestServer({ dataDir, apiKey });
  expect((await s.call('POST', `/secrets/${secret.id}/reveal`)).json).toEqual({ value: 'before-rotation', version: 1 });
  expect((await s.call('GET', `/vaults/${vault.id}/secrets`)).json.map((x: any) => x.env_key)).toEqual(['A']);
  expect((await s.call('GET', '/audit/verify')).json.ok).toBe(true);
});
