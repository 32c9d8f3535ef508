// `vaultgate secrets import --from-dotenv`: one secret per key, existing keys skipped (or --overwrite), names printed, never values.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentCall, agentWithToken } from '../agents/helpers.js';
import { requireBuiltCli } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { cliFor, expectFailure, okJson } from './helpers.js';

let s: TestServer;
let vg: ReturnType<typeof cliFor>;
let dir: string;
beforeAll(async () => {
  requireBuiltCli();
  s = await startTestServer();
  vg = cliFor(s);
  dir = mkdtempSync(join(tmpdir(), 'vg-cli-import-'));
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const unique = (tag: string) => `${tag}-${(n += 1)}-${Math.random().toString(36).slice(2, 10)}`;
const file = (text: string) => {
  const path = join(dir, `${unique('env')}.env`);
  writeFileSync(path, text);
  return path;
};
const newVault = async () => (await s.call('POST', '/vaults', { body: { name: unique('imp') } })).json as { id: string; name: string };
const secretsOf = async (vaultId: string) => ((await s.call('GET', `/vaults/${vaultId}/secrets`)).json as { env_key: string; id: string; version: number; allowed_domains: string[]; inject_in: string[] }[]).sort((a, b) => a.env_key.localeCompare(b.env_key));
/** The real values, through an agent's environment (imported with --unrestricted, so agents get them). */
async function valuesOf(vaultId: string): Promise<Record<string, string>> {
  const { token } = await agentWithToken(s, { name: unique('agent'), vault_ids: [vaultId] });
  return (await agentCall(s, token, '/environment')).json.env;
}

describe('secrets import --from-dotenv', () => {
  it('creates one secret per key with the values of the file, printing names and never a value', async () => {
    const v = await newVault();
    const values = { A: unique('a'), B: `two words ${unique('b')}`, C: `x"y\n${unique('c')}` };
    const path = file(`# app\nA=${values.A}\nexport B='${values.B}'\n\nC="x\\"y\\n${values.C.split('\n')[1]}" # comment\n`);
    const r = await vg(['secrets', 'import', '--vault', v.name, '--from-dotenv', path, '--unrestricted']);
    expect(r.code, r.stderr).toBe(0);
    const made = await secretsOf(v.id);
    expect(made.map((x) => x.env_key)).toEqual(['A', 'B', 'C']);
    const id = (k: string) => made.find((x) => x.env_key === k)!.id;
    expect(r.stdout).toBe(`A  created  ${id('A')}\nB  created  ${id('B')}\nC  created  ${id('C')}\n`);
    expect(r.stderr).toBe(['A', 'B', 'C'].map((k) => `vaultgate: warning: ${k} is unrestricted: agents get its real value in plain in their environment, not a placeholder\n`).join(''));
    for (const value of Object.values(values)) expect(r.stdout + r.stderr).not.toContain(value);
    expect(await valuesOf(v.id)).toEqual(values);
  });

  it('skips keys the vault has, unless --overwrite gives them a new version; --json and --dry-run', async () => {
    const v = await newVault();
    const first = file('OLD=one\n');
    expect((await vg(['secrets', 'import', '--vault', v.id, '--from-dotenv', first, '--allowed-domain', 'api.example.com', '--inject-in', 'header,body'])).code).toBe(0);
    const [old] = await secretsOf(v.id);
    expect(old).toMatchObject({ env_key: 'OLD', version: 1, allowed_domains: ['api.example.com'], inject_in: ['header', 'body'] });

    const second = file('OLD=two\nNEW=three\n');
    const args = ['secrets', 'import', '--vault', v.id, '--from-dotenv', second, '--allowed-domain', 'api.example.com'];
    const dry = await vg([...args, '--dry-run']);
    expect([dry.code, dry.stdout, dry.stderr]).toEqual([0, `OLD  skipped: exists (--overwrite sets a new value)  ${old!.id}\nNEW  would be created\n`, '']);
    expect(await secretsOf(v.id)).toHaveLength(1);

    const skipped = okJson(await vg([...args, '--json']));
    const created = (await secretsOf(v.id)).find((x) => x.env_key === 'NEW')!;
    expect(skipped).toEqual([
      { env_key: 'OLD', action: 'skipped', reason: 'exists (--overwrite sets a new value)', id: old!.id, dry_run: false },
      { env_key: 'NEW', action: 'created', id: created.id, dry_run: false },
    ]);
    expect((await secretsOf(v.id)).find((x) => x.env_key === 'OLD')!.version).toBe(1);

    const over = await vg([...args, '--overwrite']);
    // NEW already holds "three": the API makes no new version, and the line says so.
    expect([over.code, over.stdout, over.stderr]).toEqual([0, `OLD  updated  ${old!.id}\nNEW  unchanged  ${created.id}\n`, '']);
    expect((await secretsOf(v.id)).map((x) => [x.env_key, x.version])).toEqual([
      ['NEW', 1],
      ['OLD', 2],
    ]);
    expect((await s.call('GET', `/secrets/${old!.id}/versions`)).json.map((x: { changed: string[] }) => x.changed)).toEqual([['value'], ['value']]);
  });

  it('refuses, before anything is created, a file it would have to guess about, naming the line and not the value', async () => {
    const v = await newVault();
    const hidden = unique('hidden');
    const path = file(`GOOD=fine\nBAD="${hidden}\nsecond line"\n`);
    expectFailure(await vg(['secrets', 'import', '--vault', v.id, '--from-dotenv', path, '--unrestricted']), 2, `vaultgate: ${path} line 2: a quoted value does not end on its line (multi-line values are not read from a .env file: add that secret with secrets add --from-file); nothing was imported\n`);
    expectFailure(await vg(['secrets', 'import', '--vault', v.id, '--from-dotenv', file(`A=${hidden}\nB=\n`), '--unrestricted']), 2, /line 2: B is empty, and a secret cannot be; nothing was imported\n$/);
    expect(await secretsOf(v.id)).toEqual([]);
  });

  it('needs --allowed-domain or --unrestricted, as secrets add does', async () => {
    const v = await newVault();
    const path = file('A=1\n');
    expectFailure(
      await vg(['secrets', 'import', '--vault', v.id, '--from-dotenv', path]),
      2,
      "vaultgate: refusing to create an unrestricted secret: without --allowed-domain its real value goes into every agent's environment; add --allowed-domain HOST (repeatable) or, if that is really meant, --unrestricted\n",
    );
    expectFailure(await vg(['secrets', 'import', '--vault', v.id, '--from-dotenv', path, '--unrestricted', '--allowed-domain', 'x.example.com']), 2, 'vaultgate: give --allowed-domain or --unrestricted, not both\n');
    expect(await secretsOf(v.id)).toEqual([]);
  });
});
