// The bootstrap admin key (SPEC §11): written once to stderr or a new 0600 file, never to the JSON
// log on stdout; VAULTGATE_ADMIN_KEY only sets the first key of an empty store, and is ignored later.
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, sleep, startCli, type CliProcess } from '../helpers/kit.js';
import { newAdminKey, tempDir } from '../helpers/server.js';
import { apiClient, ephemeralAddrs, exitWithin } from './helpers.js';

const dirs: string[] = [];
const newDir = () => {
  const d = tempDir('vg-bootkey-');
  dirs.push(d);
  return d;
};

beforeAll(() => requireBuiltCli());
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Served {
  url: string;
  proc: CliProcess;
  /** Stops the server; resolves with its whole stdout (the JSON log) and stderr. */
  stop(): Promise<{ stdout: string; stderr: string }>;
}

/** `vaultgate serve` with stdout (the JSON log) and stderr kept apart. */
async function serve(env: Record<string, string>): Promise<Served> {
  const proc = startCli(['serve'], { env: { ...ephemeralAddrs, VAULTGATE_LOG_LEVEL: 'info', ...env }, timeoutMs: 30_000 });
  let exited = false;
  void proc.done.then(() => (exited = true));
  for (let waited = 0; waited < 20_000; waited += 50) {
    const m = /"address":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(proc.out());
    if (m?.[1]) {
      const url = m[1];
      return {
        url,
        proc,
        async stop() {
          proc.child.kill('SIGTERM');
          const r = await exitWithin(proc.done.then((d) => d.code), 10_000);
          expect(r, proc.err()).toBe(0);
          const done = await proc.done;
          return { stdout: done.stdout, stderr: done.stderr };
        },
      };
    }
    if (exited) break;
    await sleep(50);
  }
  const done = await proc.done;
  throw new Error(`serve did not start (exit ${done.code}):\n${done.stdout}\n${done.stderr}`);
}

/** Every stdout line is a JSON log record. */
function expectJsonLines(stdout: string): void {
  for (const line of stdout.split('\n').filter((l) => l !== '')) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
}

const keyPattern = /vgk_[A-Za-z0-9_-]+/;

describe('bootstrap admin key', () => {
  it('a minted key goes to stderr as one plain line, never into the JSON log, and works', async () => {
    const dataDir = newDir();
    const s = await serve({ VAULTGATE_DATA_DIR: dataDir });
    const status = (await apiClient(s.url, '')('GET', '/vaults', { key: null })).status;
    expect(status).toBe(401);
    const { stdout, stderr } = await s.stop();
    const key = keyPattern.exec(stderr)?.[0];
    expect(key, stderr).toBeDefined();
    expect(stderr).toMatch(/Admin API key \(shown once, store it now\):\n\n {2}vgk_/);
    expect(stdout.includes(key!), 'the key is in the JSON log').toBe(false);
    expect(stdout).not.toMatch(keyPattern);
    expectJsonLines(stdout);

    // The key opens the API; the next start prints no key at all.
    const again = await serve({ VAULTGATE_DATA_DIR: dataDir });
    expect((await apiClient(again.url, key!)('GET', '/vaults')).status).toBe(200);
    const second = await again.stop();
    expect(second.stdout + second.stderr).not.toMatch(keyPattern);
  });

  it('VAULTGATE_ADMIN_KEY sets the first key of an empty store; a different one later is ignored with a warning that names the variable, not the value', async () => {
    const dataDir = newDir();
    const first = newAdminKey();
    const s = await serve({ VAULTGATE_DATA_DIR: dataDir, VAULTGATE_ADMIN_KEY: first });
    expect((await apiClient(s.url, first)('GET', '/vaults')).status).toBe(200);
    const out1 = await s.stop();
    expect(out1.stdout + out1.stderr).not.toMatch(keyPattern);
    expect((out1.stdout + out1.stderr).includes(first)).toBe(false);

    const other = newAdminKey();
    const later = await serve({ VAULTGATE_DATA_DIR: dataDir, VAULTGATE_ADMIN_KEY: other });
    expect((await apiClient(later.url, other)('GET', '/vaults')).status).toBe(401);
    expect((await apiClient(later.url, first)('GET', '/vaults')).status).toBe(200);
    const out2 = await later.stop();
    const warning = out2.stdout.split('\n').find((l) => l.includes('VAULTGATE_ADMIN_KEY is ignored'));
    expect(warning, out2.stdout).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: 40 });
    expect((out2.stdout + out2.stderr).includes(other)).toBe(false);

    // The same key again is no news: no warning.
    const same = await serve({ VAULTGATE_DATA_DIR: dataDir, VAULTGATE_ADMIN_KEY: first });
    const out3 = await same.stop();
    expect(out3.stdout).not.toMatch(/VAULTGATE_ADMIN_KEY is ignored/);
  });

  it('VAULTGATE_ADMIN_KEY_FILE: the key goes into a new 0600 file and nowhere else; an existing file is never overwritten', async () => {
    const dataDir = newDir();
    const file = join(newDir(), 'admin.key');
    const s = await serve({ VAULTGATE_DATA_DIR: dataDir, VAULTGATE_ADMIN_KEY_FILE: file });
    const out = await s.stop();
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^vgk_[A-Za-z0-9_-]+\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(out.stdout + out.stderr).not.toMatch(keyPattern);
    expect(out.stderr).toContain(`its admin API key is in ${file} (mode 0600)`);
    expect((await serveAndCall(dataDir, text.trim())).status).toBe(200);

    // A later start of the same store has no key to write: the file is left alone.
    const later = await serve({ VAULTGATE_DATA_DIR: dataDir, VAULTGATE_ADMIN_KEY_FILE: file });
    await later.stop();
    expect(readFileSync(file, 'utf8')).toBe(text);

    // An empty store and a file already there: refused, the file unchanged, no key minted.
    const taken = join(newDir(), 'taken.key');
    writeFileSync(taken, 'not mine\n');
    const emptyStore = newDir();
    const refused = await startCli(['serve'], { env: { ...ephemeralAddrs, VAULTGATE_DATA_DIR: emptyStore, VAULTGATE_ADMIN_KEY_FILE: taken }, timeoutMs: 20_000 }).done;
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toBe(
      `vaultgate: VAULTGATE_ADMIN_KEY_FILE ${taken} already exists: refusing to overwrite it, so no admin key was created (move the file away, or unset the variable to have the key written to stderr)\n`,
    );
    expect(refused.stdout + refused.stderr).not.toMatch(keyPattern);
    expect(readFileSync(taken, 'utf8')).toBe('not mine\n');

    // Once the file is moved away, the same store starts and writes its key.
    rmSync(taken);
    const retry = await serve({ VAULTGATE_DATA_DIR: emptyStore, VAULTGATE_ADMIN_KEY_FILE: taken });
    await retry.stop();
    expect(existsSync(taken)).toBe(true);
    expect((await serveAndCall(emptyStore, readFileSync(taken, 'utf8').trim())).status).toBe(200);
  });
});

async function serveAndCall(dataDir: string, key: string) {
  const s = await serve({ VAULTGATE_DATA_DIR: dataDir });
  try {
    return await apiClient(s.url, key)('GET', '/vaults');
  } finally {
    await s.stop();
  }
}
