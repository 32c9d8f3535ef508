// `vaultgate audit tail [--follow] | verify`; the follower resumes across a server restart with nothing lost or repeated.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, sleep } from '../helpers/kit.js';
import { cliPath, newAdminKey, startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { cliEnv, cliFor, expectFailure, okJson } from './helpers.js';

let s: TestServer;
let vg: ReturnType<typeof cliFor>;
beforeAll(async () => {
  requireBuiltCli();
  s = await startTestServer();
  vg = cliFor(s);
  for (const name of ['a1', 'a2', 'a3']) await s.call('POST', '/vaults', { body: { name } });
});
afterAll(async () => {
  await s.close();
});

const allEvents = async (srv: TestServer) => (await srv.call('GET', '/audit?limit=1000')).json as any[];

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('audit tail and verify', () => {
  it('tail -n shows the last events (json: the API objects), --type filters, tables are aligned', async () => {
    const all = await allEvents(s);
    expect(okJson(await vg(['audit', 'tail', '-n', '2', '--json']))).toEqual(all.slice(-2));
    expect(okJson(await vg(['audit', 'tail', '--after', String(all[0].seq), '--json']))).toEqual(all.slice(1));
    const created = okJson(await vg(['audit', 'tail', '--type', 'vault.created', '--json']));
    expect(created).toEqual(all.filter((e) => e.type === 'vault.created'));
    expect(created).toHaveLength(3);
    const table = await vg(['audit', 'tail', '-n', '1']);
    const last = all.at(-1);
    expect(table.stdout).toMatch(new RegExp(`^SEQ +TIME +TYPE +ACTOR +TARGET +OUTCOME\\n${last.seq} +just now +vault.created +${last.actor}  ${last.vault_id}  success\\n$`));
    expectFailure(await vg(['audit', 'tail', '-n', 'many']), 2, 'vaultgate: --lines must be a number\n');
  });

  it('verify prints the API answer; a chain that does not match exits 1', async () => {
    const api = (await s.call('GET', '/audit/verify')).json;
    expect(okJson(await vg(['audit', 'verify', '--json']))).toEqual(api);
    const human = await vg(['audit', 'verify']);
    expect(human.stdout).toBe(`audit chain intact: ${api.events} events, head ${api.head} (seq ${api.head_seq})\n`);
    const wrong = await vg(['audit', 'verify', '--expected-head', 'f'.repeat(64)]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^vaultgate: audit chain broken at seq/);
  });
});

describe('audit tail --follow', () => {
  it('streams new events and, after the server restarts on the same data, resumes without losing or repeating any', async () => {
    const dataDir = tempDir('vg-cli-follow-');
    const apiKey = newAdminKey();
    let srv = await startTestServer({ dataDir, apiKey });
    const port = new URL(srv.url).port;
    const make = async (name: string) => expect((await srv.call('POST', '/vaults', { body: { name } })).status).toBe(201);
    try {
      await make('before-1');
      await make('before-2');
      const startSeq = (await allEvents(srv)).at(-1).seq;

      const follower = spawn(process.execPath, [cliPath, 'audit', 'tail', '--follow', '--json', '-n', '1'], { env: cliEnv(srv), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      follower.stdout.on('data', (d) => (out += String(d)));
      follower.stderr.on('data', (d) => (err += String(d)));
      const seqs = () => out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l).seq as number);
      try {
        await until('the first listed event', () => seqs().length === 1);
        for (const name of ['live-1', 'live-2', 'live-3']) await make(name);
        await until('the live events', () => seqs().length === 4);

        await srv.close();
        await until('the follower to notice', () => err.includes('interrupted'));
        srv = await startTestServer({ dataDir, apiKey, env: { VAULTGATE_API_ADDR: `127.0.0.1:${port}` } });
        // Written before the follower reconnects: only Last-Event-ID brings these.
        for (const name of ['after-1', 'after-2']) await make(name);
        await until('the resume', () => err.includes('resumed'));
        await make('after-3');
        const head = (await allEvents(srv)).at(-1).seq;
        await until('every event', () => seqs().at(-1) === head);
        await sleep(300); // anything repeated would arrive now
      } finally {
        follower.kill('SIGINT');
      }
      const expected = (await allEvents(srv)).filter((e) => e.seq >= startSeq);
      expect(out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))).toEqual(expected);
      expect(expected.filter((e) => e.type === 'vault.created')).toHaveLength(7); // before-2, live-1..3, after-1..3
      expect(err).toMatch(/^vaultgate: audit stream interrupted \(.*\); reconnecting\nvaultgate: audit stream resumed after seq \d+\n$/);
    } finally {
      await srv.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a bad key exits 3 at once; an unreachable server exits 7', async () => {
    expectFailure(await cliFor(s, { VAULTGATE_API_KEY: 'bad-key-0123456789' })(['audit', 'tail', '--follow']), 3, 'vaultgate: unauthorized\n');
    expectFailure(await cliFor(s, { VAULTGATE_URL: 'http://127.0.0.1:1' })(['audit', 'tail', '--follow']), 7, 'vaultgate: cannot reach Vaultgate at http://127.0.0.1:1\n');
  });
});
