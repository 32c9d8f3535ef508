// kill -9 during concurrent writes: every acknowledged write survives a restart, and the chain verifies.
import { randomBytes, randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { requireBuiltCli, sleep } from '../helpers/kit.js';
import { newAdminKey, spawnServer, tempDir, type SpawnedServer } from '../helpers/server.js';
import { apiClient, ephemeralAddrs, exitWithin, type Call } from './helpers.js';

const writers = 8;
const maxRounds = 4;
const budgetMs = 45_000;

interface Acked {
  envKey: string;
  version: number;
  /** The value of `version`, to check a sample by reveal. */
  value: string;
}

const dataDir = tempDir('vg-kill9-');
const adminKey = newAdminKey();
const env = { ...ephemeralAddrs, VAULTGATE_DATA_DIR: dataDir, VAULTGATE_ADMIN_KEY: adminKey };
let current: SpawnedServer | null = null;

afterAll(() => {
  current?.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** Every acknowledged create is there with its env_key and at least the acknowledged version. */
async function checkAcked(call: Call, acked: Map<string, Acked>): Promise<void> {
  const entries = [...acked.entries()];
  const problems: string[] = [];
  for (let i = 0; i < entries.length; i += 16) {
    await Promise.all(
      entries.slice(i, i + 16).map(async ([id, want]) => {
        const res = await call('GET', `/secrets/${id}`);
        if (res.status !== 200) problems.push(`${id} (${want.envKey}): GET ${res.status}`);
        else if (res.json.env_key !== want.envKey || res.json.version < want.version) {
          problems.push(`${id}: have ${res.json.env_key} v${res.json.version}, acknowledged ${want.envKey} v${want.version}`);
        }
      }),
    );
  }
  expect(problems).toEqual([]);
  // Values too: a sample, revealed where no unacknowledged later version may have landed.
  for (const [id, want] of entries.filter((_, i) => i % Math.max(1, Math.floor(entries.length / 20)) === 0)) {
    const res = await call('POST', `/secrets/${id}/reveal`);
    expect(res.status).toBe(200);
    if (res.json.version === want.version) expect(res.json.value, `${id} v${want.version}`).toBe(want.value);
  }
  const verify = await call('GET', '/audit/verify');
  expect(verify.status).toBe(200);
  expect(verify.json, JSON.stringify(verify.json)).toMatchObject({ ok: true });
}

/** Writes until the first failure (the kill): creates, and a PATCH of every third secret. */
async function writer(call: Call, vaultId: string, tag: string, acked: Map<string, Acked>, counts: { creates: number; patches: number }) {
  for (let i = 0; ; i++) {
    const envKey = `K_${tag}_${i}`;
    const value = `v1-${randomBytes(12).toString('hex')}`;
    try {
      const res = await call('POST', `/vaults/${vaultId}/secrets`, { body: { env_key: envKey, value, revealable: true } });
      if (res.status !== 201) throw new Error(`create answered ${res.status}: ${res.text}`);
      acked.set(res.json.id, { envKey, version: res.json.version, value });
      counts.creates++;
      if (i % 3 === 0) {
        const next = `v2-${randomBytes(12).toString('hex')}`;
        const patched = await call('PATCH', `/secrets/${res.json.id}`, { body: { value: next } });
        if (patched.status !== 200) throw new Error(`patch answered ${patched.status}: ${patched.text}`);
        acked.set(res.json.id, { envKey, version: patched.json.version, value: next });
        counts.patches++;
      }
    } catch (err) {
      // Connection refused/reset once the server is gone; anything else is a real failure.
      if (/answered/.test(String((err as Error).message))) throw err;
      return;
    }
  }
}

it('acknowledged writes survive repeated kill -9 of the server', { timeout: 70_000 }, async () => {
  requireBuiltCli();
  const started = Date.now();
  const acked = new Map<string, Acked>();
  let vaultId: string | null = null;
  let rounds = 0;
  for (let round = 0; round < maxRounds && Date.now() - started < budgetMs; round++) {
    current = await spawnServer(env);
    const call = apiClient(current.url, adminKey);
    await checkAcked(call, acked);
    if (vaultId === null) {
      const vault = await call('POST', '/vaults', { body: { name: 'kill9' } });
      expect(vault.status).toBe(201);
      vaultId = vault.json.id as string;
    }
    const counts = { creates: 0, patches: 0 };
    const running = Array.from({ length: writers }, (_, w) => writer(call, vaultId!, `${round}_${w}`, acked, counts));
    await sleep(randomInt(150, 601));
    current.child.kill('SIGKILL');
    expect(await exitWithin(current.exited, 5000)).toBe(null); // killed by a signal, no exit code
    await Promise.all(running);
    current = null;
    expect(counts.creates, `round ${round} acknowledged nothing`).toBeGreaterThan(0);
    rounds++;
  }
  expect(rounds).toBeGreaterThanOrEqual(3);

  current = await spawnServer(env);
  const call = apiClient(current.url, adminKey);
  await checkAcked(call, acked);
  const listed = await call('GET', `/vaults/${vaultId}`);
  expect(listed.json.secret_count).toBeGreaterThanOrEqual(acked.size);
  current.child.kill('SIGTERM');
  expect(await exitWithin(current.exited, 5000)).toBe(0);
  current = null;
});
