// `vaultgate vaults …` against a real server: happy paths, --json equal to the API, tables, and every exit code.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { cliEnv, cliFor, expectFailure, okJson } from './helpers.js';

let s: TestServer;
let vg: ReturnType<typeof cliFor>;
beforeAll(async () => {
  requireBuiltCli();
  s = await startTestServer();
  vg = cliFor(s);
});
afterAll(async () => {
  await s.close();
});

describe('vaults', () => {
  it('create, list, get (by id and by name), delete; --json is exactly the API object', async () => {
    const created = okJson(await vg(['vaults', 'create', 'payments', '--description', 'Stripe keys', '--json']));
    const api = await s.call('GET', `/vaults/${created.id}`);
    expect(created).toEqual(api.json);
    expect(created).toMatchObject({ name: 'payments', description: 'Stripe keys', secret_count: 0 });

    const human = await vg(['vaults', 'create', 'second']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^created vault second \(vlt_[0-9A-Z]{26}\)\n$/);

    expect(okJson(await vg(['vaults', 'list', '--json']))).toEqual((await s.call('GET', '/vaults')).json);
    expect(okJson(await vg(['vaults', 'get', created.id, '--json']))).toEqual(api.json);
    expect(okJson(await vg(['vaults', 'get', 'payments', '--json']))).toEqual(api.json);

    const table = await vg(['vaults', 'list']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+SECRETS\s+CREATED\s+DESCRIPTION$/);
    expect(lines[1]).toMatch(new RegExp(`^${created.id}  payments  0 +just now +Stripe keys$`));
    // Aligned: every row's NAME column starts where the header's does.
    const col = lines[0]!.indexOf('NAME');
    for (const line of lines.slice(1)) expect(line.slice(col - 2, col)).toBe('  ');

    const details = await vg(['vaults', 'get', 'payments']);
    expect(details.stdout).toContain(`id:           ${created.id}\n`);
    expect(details.stdout).toContain('created:      just now\n');

    const del = await vg(['vaults', 'delete', 'payments']);
    expect([del.code, del.stdout]).toEqual([0, `deleted vault ${created.id}\n`]);
    expect((await s.call('GET', `/vaults/${created.id}`)).status).toBe(404);
    const delJson = await vg(['vaults', 'delete', 'second', '--json']);
    expect([delJson.code, delJson.stdout]).toEqual([0, '']);
  });

  it('exit 4 for a missing vault, 5 for a duplicate name, 2 for usage, with the server message on stderr', async () => {
    expectFailure(await vg(['vaults', 'get', 'vlt_01KQ27AQH800XQTQPJZ0DH14SJ']), 4, 'vaultgate: vault not found\n');
    expectFailure(await vg(['vaults', 'get', 'no-such-name']), 4, 'vaultgate: vault not found\n');
    okJson(await vg(['vaults', 'create', 'dup', '--json']));
    expectFailure(await vg(['vaults', 'create', 'dup']), 5, 'vaultgate: a vault with this name already exists\n');
    expectFailure(await vg(['vaults', 'create']), 2, /^vaultgate: missing required argument 'name'\n/);
    expectFailure(await vg(['vaults', 'frobnicate']), 2, /unknown command 'frobnicate'/);
  });

  it('exit 3 for a bad key or none, 7 when the server cannot be reached', async () => {
    expectFailure(await runCli(['vaults', 'list'], { env: cliEnv(s, { VAULTGATE_API_KEY: 'wrong-key-0123456789' }) }), 3, 'vaultgate: unauthorized\n');
    expectFailure(await runCli(['vaults', 'list'], { env: cliEnv(null, { VAULTGATE_URL: s.url }) }), 3, /^vaultgate: not logged in: run vaultgate login, or set VAULTGATE_API_KEY/);
    expectFailure(await runCli(['vaults', 'list'], { env: cliEnv({ url: 'http://127.0.0.1:1', apiKey: s.apiKey }) }), 7, 'vaultgate: cannot reach Vaultgate at http://127.0.0.1:1\n');
    expectFailure(await runCli(['vaults', 'list'], { env: cliEnv(s, { VAULTGATE_URL: 'ftp://x' }) }), 2, 'vaultgate: VAULTGATE_URL must be an http:// or https:// URL\n');
  });

  it('exit 6 for a server error, with its message; also for an answer that is not JSON', async () => {
    const answers = [
      { status: 503, body: '{"error":"service unavailable","code":"unavailable"}' },
      { status: 500, body: '<html>oops</html>' },
      { status: 200, body: 'not json' },
    ];
    const fake = http.createServer((_req, res) => {
      const a = answers.shift()!;
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    try {
      const env = cliEnv({ url: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`, apiKey: 'k' });
      expectFailure(await runCli(['vaults', 'list'], { env }), 6, 'vaultgate: service unavailable\n');
      expectFailure(await runCli(['vaults', 'list'], { env }), 6, 'vaultgate: unexpected response (HTTP 500)\n');
      expectFailure(await runCli(['vaults', 'list'], { env }), 6, 'vaultgate: unexpected response (HTTP 200)\n');
    } finally {
      fake.close();
    }
  });
});
