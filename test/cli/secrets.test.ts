// `vaultgate secrets …` and the Namespace-style `vault …` aliases (SPEC §7): values from stdin and files, --json equal to the API, exit codes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { cliFor, expectFailure, okJson } from './helpers.js';

let s: TestServer;
let vg: ReturnType<typeof cliFor>;
let dir: string;
let vaultId: string;
beforeAll(async () => {
  requireBuiltCli();
  s = await startTestServer();
  vg = cliFor(s);
  dir = mkdtempSync(join(tmpdir(), 'vg-cli-secrets-'));
  vaultId = (await s.call('POST', '/vaults', { body: { name: 'payments' } })).json.id;
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const reveal = async (id: string) => (await s.call('POST', `/secrets/${id}/reveal`)).json;
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
let n = 0;
const unique = (tag: string) => `${tag}-${(n += 1)}-${Math.random().toString(36).slice(2, 10)}`;

describe('secrets add', () => {
  it('takes the value from stdin with every flag; --json is the API object; the value is never printed', async () => {
    const value = unique('sk_live');
    const r = await vg(
      ['secrets', 'add', '--vault', 'payments', '--env-key', 'STRIPE_KEY', '--allowed-domain', 'api.stripe.com', '--allowed-domain', '*.stripe.net', '--inject-in', 'header,body', '--label', 'env=prod', '--label', 'team=pay', '--revealable', '--description', 'live key', '--json'],
      `${value}\n`,
    );
    const secret = okJson(r);
    expect(r.stdout + r.stderr).not.toContain(value);
    expect(secret).toEqual((await s.call('GET', `/secrets/${secret.id}`)).json);
    expect(secret).toMatchObject({
      env_key: 'STRIPE_KEY',
      vault_id: vaultId,
      allowed_domains: ['api.stripe.com', '*.stripe.net'],
      inject_in: ['header', 'body'],
      labels: { env: 'prod', team: 'pay' },
      revealable: true,
      description: 'live key',
      version: 1,
    });
    expect(await reveal(secret.id)).toEqual({ value, version: 1 });
  });

  it('takes the value from --from-file and --from_file, removing exactly one trailing newline', async () => {
    const pem = '-----BEGIN KEY-----\nabc\n-----END KEY-----\n';
    const a = okJson(await vg(['secrets', 'add', '--vault', vaultId, '--env-key', 'PEM', '--revealable', '--unrestricted', '--from-file', file('pem.txt', `${pem}\n`), '--json']));
    expect((await reveal(a.id)).value).toBe(pem);
    const b = okJson(await vg(['secrets', 'add', '--vault', vaultId, '--env-key', 'PLAIN', '--revealable', '--unrestricted', '--from_file', file('plain.txt', 'no-newline'), '--json']));
    expect((await reveal(b.id)).value).toBe('no-newline');
    const human = await vg(['secrets', 'add', '--vault', 'payments', '--env-key', 'HUMAN', '--allowed-domain', 'api.example.com'], 'v\n');
    expect(human.stdout).toMatch(new RegExp(`^created secret HUMAN \\(sec_[0-9A-Z]{26}\\) in ${vaultId}, version 1\\n$`));
  });

  it('exits 5 for an empty value or a duplicate env_key, 4 for a missing vault, 2 for a missing file or flag', async () => {
    okJson(await vg(['secrets', 'add', '--vault', 'payments', '--env-key', 'TWICE', '--unrestricted', '--json'], 'x'));
    const add = (args: string[], input = 'x') => vg(['secrets', 'add', '--unrestricted', ...args], input);
    const [empty, newline, twice, noVault, noFile, noKey, badLabel] = await Promise.all([
      add(['--vault', 'payments', '--env-key', 'EMPTY'], ''),
      add(['--vault', 'payments', '--env-key', 'EMPTY'], '\n'),
      add(['--vault', 'payments', '--env-key', 'TWICE'], 'y'),
      add(['--vault', 'nope', '--env-key', 'K']),
      add(['--vault', 'payments', '--env-key', 'K', '--from-file', join(dir, 'missing')]),
      add(['--vault', 'payments']),
      add(['--vault', 'payments', '--env-key', 'K', '--label', 'novalue']),
    ]);
    expectFailure(empty, 5, 'vaultgate: value cannot be empty\n');
    expectFailure(newline, 5, 'vaultgate: value cannot be empty\n');
    expectFailure(twice, 5, 'vaultgate: env_key already exists in this vault\n');
    expectFailure(noVault, 4, 'vaultgate: vault not found\n');
    expectFailure(noFile, 2, `vaultgate: cannot read ${join(dir, 'missing')}: no such file\n`);
    expectFailure(noKey, 2, /^vaultgate: required option '--env-key <name>' not specified\n/);
    expectFailure(badLabel, 2, 'vaultgate: --label must look like key=value\n');
  });

  it('refuses an unrestricted secret unless --unrestricted says so (exit 2, nothing created); with it, a one-line warning', async () => {
    const value = unique('open');
    const listed = async () => (await s.call('GET', `/vaults/${vaultId}/secrets`)).json.map((x: any) => x.env_key);
    const [refused, both, noHost] = await Promise.all([
      vg(['secrets', 'add', '--vault', 'payments', '--env-key', 'OPEN'], value),
      vg(['secrets', 'add', '--vault', 'payments', '--env-key', 'OPEN', '--allowed-domain', 'api.example.com', '--unrestricted'], value),
      vg(['secrets', 'add', '--vault', 'payments', '--env-key', 'OPEN', '--allowed-domain', ','], value),
    ]);
    expectFailure(
      refused,
      2,
      "vaultgate: refusing to create an unrestricted secret: without --allowed-domain its real value goes into every agent's environment; add --allowed-domain HOST (repeatable) or, if that is really meant, --unrestricted\n",
    );
    expectFailure(both, 2, 'vaultgate: give --allowed-domain or --unrestricted, not both\n');
    expectFailure(noHost, 2, 'vaultgate: --allowed-domain needs a host name\n');
    expect(await listed()).not.toContain('OPEN');

    const open = await vg(['secrets', 'add', '--vault', 'payments', '--env-key', 'OPEN', '--unrestricted', '--json'], value);
    expect(okJson(open)).toMatchObject({ env_key: 'OPEN', allowed_domains: [] });
    expect(open.stderr).toBe('vaultgate: warning: OPEN is unrestricted: agents get its real value in plain in their environment, not a placeholder\n');
    expect(open.stdout + open.stderr).not.toContain(value);
    // A restricted secret is created without a word on stderr.
    const quiet = await vg(['secrets', 'add', '--vault', 'payments', '--env-key', 'CLOSED', '--allowed-domain', 'api.example.com'], value);
    expect([quiet.code, quiet.stderr]).toEqual([0, '']);
    expect((await vg(['secrets', 'add', '--help'])).stdout).toMatch(/--unrestricted\s+unrestricted on purpose, no --allowed-domain/);
  });
});

describe('secrets set, list, get, versions, reveal, delete', () => {
  it('sets a new value from stdin with --if-version-matches, changes fields without a value, and refuses a stale version (5)', async () => {
    const created = okJson(await vg(['secrets', 'add', '--vault', 'payments', '--env-key', 'ROTATE', '--revealable', '--unrestricted', '--json'], 'v1'));
    const v2 = okJson(await vg(['secrets', 'set', created.id, '--if-version-matches', '1', '--json'], 'v2\n'));
    expect(v2).toEqual((await s.call('GET', `/secrets/${created.id}`)).json);
    expect(v2.version).toBe(2);
    expect(await reveal(created.id)).toEqual({ value: 'v2', version: 2 });

    expectFailure(await vg(['secrets', 'set', created.id, '--if-version-matches', '1'], 'v3'), 5, 'vaultgate: version mismatch\n');
    expect(await reveal(created.id)).toEqual({ value: 'v2', version: 2 });

    // Fields only: empty stdin is no new value.
    const fields = okJson(await vg(['secrets', 'set', created.id, '--allowed-domain', 'api.example.com', '--description', 'rotated', '--json'], ''));
    expect(fields).toMatchObject({ allowed_domains: ['api.example.com'], description: 'rotated' });
    expect((await reveal(created.id)).value).toBe('v2');
    // Clearing every domain makes it unrestricted: only with --unrestricted, and then with a warning.
    expectFailure(
      await vg(['secrets', 'set', created.id, '--clear-allowed-domains', '--metadata-only']),
      2,
      "vaultgate: refusing to make the secret unrestricted: without allowed domains its real value goes into every agent's environment; if that is really meant, add --unrestricted\n",
    );
    expectFailure(await vg(['secrets', 'set', created.id, '--allowed-domain', ',', '--metadata-only']), 2, 'vaultgate: --allowed-domain needs a host name\n');
    expectFailure(await vg(['secrets', 'set', created.id, '--unrestricted', '--metadata-only']), 2, 'vaultgate: --unrestricted only goes with --clear-allowed-domains\n');
    expect((await s.call('GET', `/secrets/${created.id}`)).json.allowed_domains).toEqual(['api.example.com']);
    const clearing = await vg(['secrets', 'set', created.id, '--clear-allowed-domains', '--unrestricted', '--metadata-only', '--json']);
    expect(okJson(clearing).allowed_domains).toEqual([]);
    expect(clearing.stderr).toBe('vaultgate: warning: ROTATE is unrestricted: agents get its real value in plain in their environment, not a placeholder\n');

    const fromFile = await vg(['secrets', 'set', created.id, '--from-file', file('v4.txt', 'v4\n')]);
    expect(fromFile.stdout).toMatch(/^secret ROTATE \(sec_[0-9A-Z]{26}\) is at version \d+\n$/);
    expect((await reveal(created.id)).value).toBe('v4');

    expectFailure(await vg(['secrets', 'set', created.id, '--metadata-only']), 2, /^vaultgate: nothing to change/);
    expectFailure(await vg(['secrets', 'set', 'sec_01KQ27AQH800XQTQPJZ0DH14SJ'], 'x'), 4, 'vaultgate: secret not found\n');
  });

  it('list (one vault, every vault, by label), get and versions print the API objects; tables never show values', async () => {
    const value = unique('listed');
    const labelled = okJson(await vg(['secrets', 'add', '--vault', 'payments', '--env-key', 'LABELLED', '--label', 'tier=gold', '--unrestricted', '--json'], value));
    expect(okJson(await vg(['secrets', 'list', '--vault', 'payments', '--json']))).toEqual((await s.call('GET', `/vaults/${vaultId}/secrets`)).json);
    expect(okJson(await vg(['secrets', 'list', '--vault', 'payments', '--label', 'tier=gold', '--json']))).toEqual([labelled]);
    expect(okJson(await vg(['secrets', 'get', labelled.id, '--json']))).toEqual(labelled);
    okJson(await vg(['secrets', 'set', labelled.id, '--json'], 'next'));
    expect(okJson(await vg(['secrets', 'versions', labelled.id, '--json']))).toEqual((await s.call('GET', `/secrets/${labelled.id}/versions`)).json);

    const table = await vg(['secrets', 'list']);
    expect(table.stdout).toMatch(/^ID\s+ENV_KEY\s+TYPE\s+VAULT\s+VERSION\s+ALLOWED_DOMAINS\s+RULES\s+RATE_LIMIT\s+UPDATED\n/);
    expect(table.stdout).toMatch(new RegExp(`${labelled.id}  LABELLED +static +payments +2 +\\(any\\) +- +- +just now\\n`));
    const details = await vg(['secrets', 'get', labelled.id]);
    expect(details.stdout).toContain('labels:           tier=gold\n');
    const versions = await vg(['secrets', 'versions', labelled.id]);
    expect(versions.stdout.split('\n')[0]).toMatch(/^VERSION\s+CREATED\s+ACTOR\s+CHANGED\s+ALLOWED_DOMAINS$/);
    for (const r of [table, details, versions]) expect(r.stdout).not.toContain(value);
  });

  it('reveal prints the value (json: the API answer); a non-revealable secret exits 3', async () => {
    const value = unique('revealed');
    const sec = okJson(await vg(['secrets', 'add', '--vault', 'payments', '--env-key', 'SHOWN', '--revealable', '--unrestricted', '--json'], value));
    const r = await vg(['secrets', 'reveal', sec.id]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, `${value}\n`, '']);
    expect(okJson(await vg(['secrets', 'reveal', sec.id, '--json']))).toEqual({ value, version: 1 });
    const hidden = okJson(await vg(['secrets', 'add', '--vault', 'payments', '--env-key', 'HIDDEN', '--unrestricted', '--json'], 'x'));
    expectFailure(await vg(['secrets', 'reveal', hidden.id]), 3, 'vaultgate: secret is not revealable\n');
  });

  it('delete with --if-version-matches: a stale version exits 5 and keeps the secret', async () => {
    const sec = okJson(await vg(['secrets', 'add', '--vault', 'payments', '--env-key', 'GONE', '--unrestricted', '--json'], 'x'));
    expectFailure(await vg(['secrets', 'delete', sec.id, '--if-version-matches', '2']), 5, 'vaultgate: version mismatch\n');
    expect((await s.call('GET', `/secrets/${sec.id}`)).status).toBe(200);
    const r = await vg(['secrets', 'delete', sec.id, '--if-version-matches', '1']);
    expect([r.code, r.stdout]).toEqual([0, `deleted secret ${sec.id}\n`]);
    expect((await s.call('GET', `/secrets/${sec.id}`)).status).toBe(404);
    expectFailure(await vg(['secrets', 'delete', sec.id]), 4, 'vaultgate: secret not found\n');
  });
});

describe('Namespace-style (nsc) vault add|set|delete|list (SPEC §7)', () => {
  it('works with the Namespace flag spellings, in the default vault (created on first use)', async () => {
    const t = await startTestServer();
    const nsc = cliFor(t);
    try {
      // Namespace's own command line still works; with no domain it is unrestricted, so it says so on stderr.
      const addRun = await nsc(['vault', 'add', '--name', 'API_KEY', '--from_file', file('secret.txt', 'here-goes-my-key\n'), '--description', 'secret from file', '--revealable', '--json']);
      const added = okJson(addRun);
      expect(addRun.stderr).toBe(
        'vaultgate: warning: API_KEY is unrestricted: agents get its real value in plain in their environment, not a placeholder (restrict it with --allowed-domain HOST, or add --unrestricted to say it is meant)\n',
      );
      const vaults = (await t.call('GET', '/vaults')).json;
      expect(vaults.map((v: any) => v.name)).toEqual(['default']);
      expect(added).toMatchObject({ env_key: 'API_KEY', vault_id: vaults[0].id, description: 'secret from file', revealable: true });
      expect(added).toEqual((await t.call('GET', `/secrets/${added.id}`)).json);
      // The default-vault API (/v1/vault) sees it: one default vault.
      expect((await t.call('GET', `${t.url}/v1/vault/secrets`)).json).toEqual([{ id: added.id, name: 'API_KEY', created_at: added.created_at }]);

      const second = okJson(await nsc(['vault', 'add', '--env-key', 'OTHER', '--label', 'k=v', '--json'], 'other'));
      expect(second.vault_id).toBe(vaults[0].id);
      const meant = await nsc(['vault', 'add', '--name', 'MEANT', '--unrestricted'], 'x');
      expect([meant.code, meant.stderr]).toEqual([0, 'vaultgate: warning: MEANT is unrestricted: agents get its real value in plain in their environment, not a placeholder\n']);
      const restricted = await nsc(['vault', 'add', '--name', 'RESTRICTED', '--allowed-domain', 'api.example.com'], 'x');
      expect([restricted.code, restricted.stderr]).toEqual([0, '']);
      expectFailure(await nsc(['vault', 'add', '--name', 'BOTH', '--allowed-domain', 'api.example.com', '--unrestricted'], 'x'), 2, 'vaultgate: give --allowed-domain or --unrestricted, not both\n');

      const set = await nsc(['vault', 'set', '--object_id', added.id, '--from_file', file('key.txt', 'new-key\n')]);
      expect(set.code, set.stderr).toBe(0);
      expect((await t.call('POST', `/secrets/${added.id}/reveal`)).json).toEqual({ value: 'new-key', version: 2 });
      okJson(await nsc(['vault', 'set', '--object-id', added.id, '--if-version-matches', '2', '--json'], 'piped'));
      expectFailure(await nsc(['vault', 'set', '--object_id', added.id, '--if-version-matches', '2'], 'late'), 5, 'vaultgate: version mismatch\n');

      expect(okJson(await nsc(['vault', 'list', '--json']))).toEqual((await t.call('GET', `/vaults/${vaults[0].id}/secrets`)).json);
      expect(okJson(await nsc(['vault', 'reveal', '--object_id', added.id, '--json']))).toEqual({ value: 'piped', version: 3 });

      const del = await nsc(['vault', 'delete', '--object_id', added.id]);
      expect([del.code, del.stdout]).toEqual([0, `deleted secret ${added.id}\n`]);
      expect((await t.call('GET', `/secrets/${added.id}`)).status).toBe(404);
      expectFailure(await nsc(['vault', 'delete', '--object_id', added.id]), 4, 'vaultgate: secret not found\n');
      expectFailure(await nsc(['vault', 'delete']), 2, 'vaultgate: name the secret: --object_id sec_… (or as the argument)\n');
      expectFailure(await nsc(['vault', 'add', '--description', 'no name'], 'x'), 2, 'vaultgate: vault add needs the environment variable name: --env-key NAME (or --name NAME)\n');
    } finally {
      await t.close();
    }
  });
});
