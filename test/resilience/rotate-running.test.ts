// Rotating the master key under a running node: refused while its heartbeat is live; and should a
// node's heartbeat look dead while it still runs (hung for 15 s, a clock far behind), the node
// refuses to write or read with its old key (503, nothing stored under a key that no longer
// exists), and a restart recovers everything.
import { afterEach, expect, it } from 'vitest';
import { requireBuiltCli, runCli } from '../helpers/kit.js';
import { ephemeralAddrs } from './helpers.js';
import { loadConfig } from '../../src/config.js';
import { createServices, openVaultgate } from '../../src/main.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

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

  const refused = await runCli(['admin', 'rotate-master-key', '--json'], { env: { ...ephemeralAddrs, ...s.storeEnv } });
  expect([refused.code, refused.stdout]).toEqual([1, '']);
  expect(refused.stderr).toMatch(new RegExp(`^vaultgate: a node is serving this store \\(pid ${process.pid} on [^,]+, last seen \\d+s ago\\): stop every node first\n$`));

  // Seen from a minute later, the node's heartbeat is stale: the rotation goes ahead under it.
  const minuteLater = { now: () => new Date(Date.now() + 60_000) };
  const config = loadConfig(s.storeEnv);
  const vg = await openVaultgate(config, { mustExist: true });
  const rotated = await createServices(vg, config).keyring.rotateMasterKey(undefined, { clock: minuteLater }).finally(() => vg.close());
  expect(rotated.rewrapped).toBe(1);

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
