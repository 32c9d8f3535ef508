// Master-key rotation: values survive, the chain key does not change, the old key stops working,
// and a kill -9 at any moment of `admin rotate-master-key` leaves every secret readable.
import { randomBytes, randomInt } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli, sleep, startCli } from '../helpers/kit.js';
import { loadConfig } from '../../src/config.js';
import { openValue } from '../../src/crypto/envelope.js';
import { kekIdOf } from '../../src/crypto/keyring.js';
import { parseMasterKey } from '../../src/crypto/master-key.js';
import { createServices, openVaultgate } from '../../src/main.js';
import { inspectSqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { newAdminKey, startTestServer, tempDir } from '../helpers/server.js';
import { ephemeralAddrs } from './helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const newDir = (p: string) => {
  const d = tempDir(p);
  dirs.push(d);
  return d;
};
const keyFileText = (dir: string, name = 'master.key') => readFileSync(join(dir, name), 'utf8').trim();

/** Creates revealable secrets (some with two versions) over HTTP; returns id → current value. */
async function seedOverHttp(dataDir: string, adminKey: string, env: Record<string, string> = {}) {
  const srv = await startTestServer({ dataDir, apiKey: adminKey, env: { ...ephemeralAddrs, ...env } });
  const vault = await srv.call('POST', '/vaults', { body: { name: 'rot' } });
  const values = new Map<string, string>();
  for (let i = 0; i < 6; i++) {
    const value = `rot-${i}-${randomBytes(8).toString('hex')}`;
    const res = await srv.call('POST', `/vaults/${vault.json.id}/secrets`, { body: { env_key: `ROT_${i}`, value, revealable: true } });
    values.set(res.json.id, value);
    if (i % 2 === 0) {
      const next = `${value}-v2`;
      expect((await srv.call('PATCH', `/secrets/${res.json.id}`, { body: { value: next } })).status).toBe(200);
      values.set(res.json.id, next);
    }
  }
  const head = (await srv.call('GET', '/audit/verify')).json;
  await srv.close();
  return { values, head };
}

/** Boots in-process, reveals every value over HTTP, checks the chain still verifies against `oldHead`. */
async function checkAfterRotation(dataDir: string, adminKey: string, values: Map<string, string>, oldHead: string, env: Record<string, string> = {}) {
  const srv = await startTestServer({ dataDir, apiKey: adminKey, env: { ...ephemeralAddrs, ...env } });
  try {
    for (const [id, value] of values) {
      const res = await srv.call('POST', `/secrets/${id}/reveal`);
      expect(res.status, res.text).toBe(200);
      expect(res.json.value).toBe(value);
    }
    const verify = await srv.call('GET', `/audit/verify?expected_head=${oldHead}`);
    expect(verify.json, JSON.stringify(verify.json)).toMatchObject({ ok: true });
    const rotated = await srv.call('GET', '/audit?type=keyring.rotated');
    return rotated.json as { details: { from: string; to: string } }[];
  } finally {
    await srv.close();
  }
}

describe('master-key rotation', () => {
  it('file provider: values reveal identically, master.key changes, the chain verifies, the event is recorded', async () => {
    requireBuiltCli();
    const dataDir = newDir('vg-rot-file-');
    const adminKey = newAdminKey();
    const { values, head } = await seedOverHttp(dataDir, adminKey);
    const oldKey = keyFileText(dataDir);

    const r = await runCli(['admin', 'rotate-master-key', '--json'], { env: { ...ephemeralAddrs, VAULTGATE_DATA_DIR: dataDir } });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    const newKey = keyFileText(dataDir);
    expect(newKey).not.toBe(oldKey);
    expect(result).toEqual({ from: kekIdOf(parseMasterKey(oldKey)), to: kekIdOf(parseMasterKey(newKey)), rewrapped: 9, pendingFile: null });
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dataDir).filter((f) => f.includes('master.key'))).toEqual(['master.key']);
    for (const k of [oldKey, newKey]) expect(r.stdout + r.stderr).not.toContain(k);

    const events = await checkAfterRotation(dataDir, adminKey, values, head.head);
    expect(events).toHaveLength(1);
    expect(events[0]!.details).toMatchObject({ from: result.from, to: result.to });

    // The old key no longer opens the store.
    const old = await runCli(['serve'], { env: { ...ephemeralAddrs, VAULTGATE_DATA_DIR: dataDir, VAULTGATE_MASTER_KEY: oldKey, VAULTGATE_ADMIN_KEY: adminKey } });
    expect(old.code).not.toBe(0);
    expect(old.stderr).toMatch(/does not match this store/);
  });

  it('env provider with --new-key-file: boots with the new env key, refuses the old one', async () => {
    const dataDir = newDir('vg-rot-env-');
    const adminKey = newAdminKey();
    const oldKey = randomBytes(32).toString('base64');
    const newKey = randomBytes(32).toString('base64');
    const { values, head } = await seedOverHttp(dataDir, adminKey, { VAULTGATE_MASTER_KEY: oldKey });
    expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
    const newKeyFile = join(newDir('vg-rot-newkey-'), 'new.key');
    writeFileSync(newKeyFile, `${newKey}\n`, { mode: 0o600 });

    const env = { VAULTGATE_DATA_DIR: dataDir, VAULTGATE_MASTER_KEY: oldKey };
    const r = await runCli(['admin', 'rotate-master-key', '--new-key-file', newKeyFile, '--json'], { env: { ...ephemeralAddrs, ...env } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ to: kekIdOf(parseMasterKey(newKey)), rewrapped: 9, pendingFile: join(dataDir, 'master.key.next') });
    for (const k of [oldKey, newKey]) expect(r.stdout + r.stderr).not.toContain(k);

    const events = await checkAfterRotation(dataDir, adminKey, values, head.head, { VAULTGATE_MASTER_KEY: newKey });
    expect(events).toHaveLength(1);

    const serveOld = () => runCli(['serve'], { env: { ...ephemeralAddrs, ...env, VAULTGATE_ADMIN_KEY: adminKey } });
    const refusedPending = await serveOld();
    expect(refusedPending.code).not.toBe(0);
    expect(refusedPending.stderr).toMatch(/re-keyed by rotate-master-key/);
    rmSync(join(dataDir, 'master.key.next'));
    const refused = await serveOld();
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/does not match this store/);
    for (const k of [oldKey, newKey]) expect(refused.stdout + refused.stderr + refusedPending.stderr).not.toContain(k);
    await checkAfterRotation(dataDir, adminKey, values, head.head, { VAULTGATE_MASTER_KEY: newKey });
  });
});

describe('kill -9 during rotate-master-key', () => {
  const secrets = 2800;
  const patches = 200;

  /** ~3,000 secret versions, written through the services in-process; returns every version's value. */
  async function seed(dataDir: string) {
    const config = loadConfig({ VAULTGATE_DATA_DIR: dataDir });
    const vg = await openVaultgate(config);
    const s = createServices(vg, config);
    const adminKey = newAdminKey();
    const { org } = await s.orgs.bootstrap(adminKey);
    const caller = { orgId: org.id, actor: 'admin', requestId: null, sourceIp: null };
    const vault = await s.vaults.create(caller, { name: 'bulk' });
    const versions: { id: string; version: number; value: string }[] = [];
    for (let i = 0; i < secrets; i++) {
      const value = `bulk-${i}-${randomBytes(6).toString('hex')}`;
      const created = await s.secrets.create(caller, vault.id, { env_key: `B_${i}`, value, revealable: true });
      versions.push({ id: created.id, version: 1, value });
      if (i < patches) {
        const updated = await s.secrets.update(caller, null, created.id, { value: `${value}-v2` }, null);
        versions.push({ id: created.id, version: updated.version, value: `${value}-v2` });
      }
    }
    await vg.close();
    return { orgId: org.id, vaultId: vault.id, versions, adminKey };
  }

  /** Boots the store (adopting master.key.next if the rotation committed) and opens every version. */
  async function checkAllReadable(dataDir: string, seeded: Awaited<ReturnType<typeof seed>>): Promise<void> {
    const vg = await openVaultgate(loadConfig({ VAULTGATE_DATA_DIR: dataDir }));
    try {
      let bad = 0;
      for (const v of seeded.versions) {
        const row = await vg.store.getSecretVersion(seeded.orgId, v.id, v.version);
        const binding = { orgId: seeded.orgId, vaultId: seeded.vaultId, secretId: v.id, version: v.version };
        const sealed = row && { kekId: row.kek_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext };
        if (!sealed || openValue(vg.keyring, binding, sealed) !== v.value) bad++;
      }
      expect(bad).toBe(0);
      expect(kekIdOf(vg.masterKey)).toBe(inspectSqliteStore(join(dataDir, 'vaultgate.db')).keyring?.kek_id);
    } finally {
      await vg.close();
    }
  }

  /** Runs the rotation; `killAt` decides when to SIGKILL it (ms after spawn, or after the pending key file is replaced). */
  async function rotate(dataDir: string, killAt: { afterSpawn: number } | { afterPending: number } | null) {
    const pending = join(dataDir, 'master.key.next');
    const inodeBefore = existsSync(pending) ? statSync(pending).ino : -1;
    const { child, done } = startCli(['admin', 'rotate-master-key', '--json'], { env: { ...ephemeralAddrs, VAULTGATE_DATA_DIR: dataDir }, timeoutMs: 20_000 });
    const t0 = Date.now();
    let pendingAt = -1;
    const poll = setInterval(() => {
      if (pendingAt < 0 && existsSync(pending) && statSync(pending, { throwIfNoEntry: false })?.ino !== inodeBefore) pendingAt = Date.now() - t0;
    }, 1);
    if (killAt && 'afterSpawn' in killAt) setTimeout(() => child.kill('SIGKILL'), killAt.afterSpawn);
    if (killAt && 'afterPending' in killAt) {
      while (pendingAt < 0 && child.exitCode === null) await sleep(1);
      await sleep(killAt.afterPending);
      child.kill('SIGKILL');
    }
    const result = await done;
    clearInterval(poll);
    return { ...result, pendingAt, elapsed: Date.now() - t0 };
  }

  it('every secret stays readable whatever moment the rotation dies at', { timeout: 60_000 }, async () => {
    requireBuiltCli();
    const dataDir = newDir('vg-rot-crash-');
    const seeded = await seed(dataDir);
    expect(seeded.versions).toHaveLength(secrets + patches);

    // A clean run first: it must succeed, and it tells how long the re-wrap phase lasts here.
    const clean = await rotate(dataDir, null);
    expect(clean.code, clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout).rewrapped).toBe(secrets + patches);
    const rewrapMs = Math.max(20, clean.elapsed - Math.max(clean.pendingAt, 0));
    await checkAllReadable(dataDir, seeded);

    const outcomes: string[] = [];
    const plans: ({ afterSpawn: number } | { afterPending: number })[] = [{ afterSpawn: randomInt(5, 201) }, { afterSpawn: randomInt(5, 201) }, ...Array.from({ length: 4 }, () => ({ afterPending: randomInt(0, rewrapMs + 10) }))];
    let midRotationKills = 0;
    for (let i = 0; i < plans.length; i++) {
      const plan = plans[i]!;
      const before = inspectSqliteStore(join(dataDir, 'vaultgate.db')).keyring!.kek_id;
      const run = await rotate(dataDir, plan);
      const after = inspectSqliteStore(join(dataDir, 'vaultgate.db')).keyring!.kek_id;
      outcomes.push(`${JSON.stringify(plan)} → ${run.signal ?? `exit ${run.code}`}, ${after === before ? 'not committed' : 'committed'}`);
      if (run.signal === null) expect(run.code, run.stderr).toBe(0);
      if (run.signal === 'SIGKILL' && run.pendingAt >= 0) midRotationKills++;
      // Make sure at least one kill lands between writing master.key.next and the end.
      if (i === plans.length - 1 && midRotationKills === 0 && plans.length < 10) plans.push({ afterPending: randomInt(0, Math.ceil(rewrapMs / 2)) });
      await checkAllReadable(dataDir, seeded);
      expect(existsSync(join(dataDir, 'master.key'))).toBe(true);
    }
    // After all that, a real server boots and reveals over HTTP.
    const srv = await startTestServer({ dataDir, apiKey: seeded.adminKey, env: ephemeralAddrs });
    try {
      for (const v of seeded.versions.filter((_, i) => i % 500 === 0)) {
        const res = await srv.call('GET', `/secrets/${v.id}`);
        expect(res.status).toBe(200);
      }
      expect((await srv.call('GET', '/audit/verify')).json.ok).toBe(true);
    } finally {
      await srv.close();
    }
    expect(outcomes).toHaveLength(plans.length);
    expect(midRotationKills, outcomes.join('\n')).toBeGreaterThan(0);
  });

  it('a rotation that committed but died before swapping key files is adopted at boot', async () => {
    const dataDir = newDir('vg-rot-adopt-');
    const adminKey = newAdminKey();
    const { values, head } = await seedOverHttp(dataDir, adminKey);
    const oldKey = keyFileText(dataDir);
    const r = await runCli(['admin', 'rotate-master-key', '--json'], { env: { ...ephemeralAddrs, VAULTGATE_DATA_DIR: dataDir } });
    expect(r.code, r.stderr).toBe(0);
    const newKey = keyFileText(dataDir);
    // Recreate the moment between the commit and the rename: old master.key, new master.key.next.
    cpSync(join(dataDir, 'master.key'), join(dataDir, 'master.key.next'));
    writeFileSync(join(dataDir, 'master.key'), `${oldKey}\n`, { mode: 0o600 });
    await checkAfterRotation(dataDir, adminKey, values, head.head);
    expect(keyFileText(dataDir)).toBe(newKey);
    expect(existsSync(join(dataDir, 'master.key.next'))).toBe(false);
  });
});
