// Boot refusal touches nothing: a missing, wrong, malformed or exposed master key stops `serve`
// with a clear message that never contains key text, and every data file stays byte-identical.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli } from '../helpers/kit.js';
import { newAdminKey, spawnServer, tempDir } from '../helpers/server.js';
import { apiClient, ephemeralAddrs, exitWithin, hashDir } from './helpers.js';

const dataDir = tempDir('vg-boot-');
const aside = tempDir('vg-boot-aside-');
const keyFile = join(dataDir, 'master.key');
const adminKey = newAdminKey();
const env = { ...ephemeralAddrs, VAULTGATE_DATA_DIR: dataDir, VAULTGATE_ADMIN_KEY: adminKey };
const value = `boot-value-${randomBytes(8).toString('hex')}`;
let keyText = '';
let secretId = '';

beforeAll(async () => {
  requireBuiltCli();
  const srv = await spawnServer(env);
  const call = apiClient(srv.url, adminKey);
  const vault = await call('POST', '/vaults', { body: { name: 'boot' } });
  const secret = await call('POST', `/vaults/${vault.json.id}/secrets`, { body: { env_key: 'BOOT', value, revealable: true } });
  expect(secret.status).toBe(201);
  secretId = secret.json.id;
  srv.child.kill('SIGTERM');
  expect(await exitWithin(srv.exited, 5000)).toBe(0);
  keyText = readFileSync(keyFile, 'utf8').trim();
});

afterAll(() => [dataDir, aside].forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs `serve`, expects a refusal matching `message`, unchanged files, and no `secrets` in the output. */
async function expectRefusal(extraEnv: Record<string, string>, message: RegExp, secrets: string[]): Promise<string> {
  const before = hashDir(dataDir);
  const r = await runCli(['serve'], { env: { ...ephemeralAddrs, ...env, ...extraEnv }, timeoutMs: 10_000 });
  const output = r.stdout + r.stderr;
  expect(r.signal, output).toBe(null);
  expect(r.code, output).not.toBe(0);
  expect(output).toMatch(message);
  expect(output).not.toMatch(/listening/);
  for (const s of secrets) expect(output.includes(s), `output contains key text: ${output}`).toBe(false);
  expect(hashDir(dataDir)).toEqual(before);
  return output;
}

describe('boot with a bad master key', () => {
  it('(a) a deleted master.key: refused, no new key file, nothing changed', async () => {
    renameSync(keyFile, join(aside, 'master.key'));
    try {
      await expectRefusal({}, /master key/i, [keyText]);
      expect(existsSync(keyFile)).toBe(false);
    } finally {
      renameSync(join(aside, 'master.key'), keyFile);
    }
  });

  it('(b) master.key replaced by another valid key: refused as the wrong key', async () => {
    const other = randomBytes(32).toString('base64');
    writeFileSync(keyFile, `${other}\n`, { mode: 0o600 });
    try {
      await expectRefusal({}, /master key does not match this store/, [other, keyText]);
    } finally {
      writeFileSync(keyFile, `${keyText}\n`, { mode: 0o600 });
    }
  });

  it('(b) a wrong key in VAULTGATE_MASTER_KEY is refused too', async () => {
    const other = randomBytes(32).toString('base64url');
    await expectRefusal({ VAULTGATE_MASTER_KEY: other }, /master key does not match this store/, [other, keyText]);
  });

  for (const [name, bad] of [
    ['abc', 'abc'],
    ['31 bytes of base64', randomBytes(31).toString('base64')],
    ['33 bytes of base64', randomBytes(33).toString('base64')],
    ['32 bytes with junk appended', `${randomBytes(32).toString('base64')}!!`],
  ] as const) {
    it(`(c) malformed VAULTGATE_MASTER_KEY (${name}): refused without echoing it`, async () => {
      await expectRefusal({ VAULTGATE_MASTER_KEY: bad }, /VAULTGATE_MASTER_KEY must be base64 of exactly 32 bytes/, [bad, keyText]);
    });
  }

  it('(c) a malformed master.key file: refused without echoing it', async () => {
    const bad = randomBytes(31).toString('base64');
    writeFileSync(keyFile, `${bad}\n`, { mode: 0o600 });
    try {
      await expectRefusal({}, /must be base64 of exactly 32 bytes/, [bad, keyText]);
    } finally {
      writeFileSync(keyFile, `${keyText}\n`, { mode: 0o600 });
    }
  });

  it('(d) master.key readable by group/others (0644): refused', async () => {
    chmodSync(keyFile, 0o644);
    try {
      await expectRefusal({}, /accessible by group or others \(mode 644\)/, [keyText]);
    } finally {
      chmodSync(keyFile, 0o600);
    }
  });

  it('(e) with the right key it boots and the data is readable (file and env provider)', async () => {
    const providers: Record<string, string>[] = [{}, { VAULTGATE_MASTER_KEY: keyText }];
    for (const extra of providers) {
      const srv = await spawnServer({ ...env, ...extra });
      try {
        const call = apiClient(srv.url, adminKey);
        const reveal = await call('POST', `/secrets/${secretId}/reveal`);
        expect(reveal.status).toBe(200);
        expect(reveal.json.value).toBe(value);
        expect((await call('GET', '/audit/verify')).json.ok).toBe(true);
      } finally {
        srv.child.kill('SIGTERM');
        expect(await exitWithin(srv.exited, 5000)).toBe(0);
      }
      expect(srv.output().includes(keyText)).toBe(false);
    }
  });

  it('a refused boot after a kill -9 (WAL not checkpointed) leaves the database and WAL untouched', async () => {
    const srv = await spawnServer(env);
    const call = apiClient(srv.url, adminKey);
    const vault = await call('POST', '/vaults', { body: { name: `after-crash-${randomBytes(4).toString('hex')}` } });
    expect(vault.status).toBe(201);
    srv.child.kill('SIGKILL');
    await exitWithin(srv.exited, 5000);
    expect(existsSync(`${join(dataDir, 'vaultgate.db')}-wal`)).toBe(true);
    renameSync(keyFile, join(aside, 'master.key'));
    try {
      const before = hashDir(dataDir);
      const r = await runCli(['serve'], { env: { ...ephemeralAddrs, ...env }, timeoutMs: 10_000 });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/no master key was found/);
      const after = hashDir(dataDir);
      // The -shm file is SQLite's shared-memory index, rebuilt by any reader; the data files must not change.
      for (const f of ['vaultgate.db', 'vaultgate.db-wal']) expect(after[f], f).toBe(before[f]);
      expect(Object.keys(after)).toEqual(Object.keys(before));
    } finally {
      renameSync(join(aside, 'master.key'), keyFile);
    }
    // And the acknowledged vault is there once the key is back.
    const again = await spawnServer(env);
    try {
      expect((await apiClient(again.url, adminKey)('GET', `/vaults/${vault.json.id}`)).status).toBe(200);
    } finally {
      again.child.kill('SIGTERM');
      expect(await exitWithin(again.exited, 5000)).toBe(0);
    }
  });
});
