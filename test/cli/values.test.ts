// Values never travel in argv and never show on the terminal: refusal (exit 2), and a hidden prompt in a real pty.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { cliEnv, cliFor, expectFailure, runInPty } from './helpers.js';

let s: TestServer;
let vg: ReturnType<typeof cliFor>;
let vaultId: string;
beforeAll(async () => {
  requireBuiltCli();
  s = await startTestServer();
  vg = cliFor(s);
  vaultId = (await s.call('POST', '/vaults', { body: { name: 'pty' } })).json.id;
});
afterAll(async () => {
  await s.close();
});

const secretsOf = async () => (await s.call('GET', `/vaults/${vaultId}/secrets`)).json as any[];
const refusal = /^vaultgate: --(value|password|secret-value) is refused: a value on the command line is visible in ps and kept in shell history\. Pass it on stdin .*, with --from-file FILE, or type it at the prompt\n$/;

describe('a value in argv is refused', () => {
  it('--value, --value=…, --password=…, an extra argument, an unknown --flag=…: exit 2, value not echoed, nothing created', async () => {
    const value = `argv-canary-${Math.random().toString(36).slice(2)}`;
    const base = ['secrets', 'add', '--vault', 'pty', '--env-key', 'ARGV'];
    const runs = await Promise.all([
      vg([...base, '--value', value]),
      vg([...base, `--value=${value}`]),
      vg(['vault', 'add', '--name', 'ARGV', `--password=${value}`]),
      vg(['secrets', 'set', 'sec_01KQ27AQH800XQTQPJZ0DH14SJ', '--secret-value', value]),
      vg([...base, value]),
      vg([...base, `--val=${value}`]),
      vg(['login', `--api-key=${value}`]),
    ]);
    for (const r of runs.slice(0, 4)) expectFailure(r, 2, refusal);
    expectFailure(runs[4]!, 2, /^vaultgate: too many arguments for 'add'/);
    expectFailure(runs[5]!, 2, /^vaultgate: unknown option '--val=…'/);
    expectFailure(runs[6]!, 2, /^vaultgate: --api-key is refused: .*vaultgate login.*VAULTGATE_API_KEY/);
    for (const r of runs) expect(r.stdout + r.stderr).not.toContain(value);
    expect(await secretsOf()).toEqual([]);
  });
});

describe('the prompt (stdin is a terminal)', () => {
  it('reads the value with echo off: the typed value never appears on the terminal', async () => {
    const value = `typed-${Math.random().toString(36).slice(2)}`;
    const env = cliEnv(s);
    const r = await runInPty(['secrets', 'add', '--vault', 'pty', '--env-key', 'TYPED', '--revealable', '--unrestricted'], env, [{ waitFor: /Value for TYPED \(input hidden\): $/, send: `${value}\r` }]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/created secret TYPED \(sec_[0-9A-Z]{26}\)/);
    expect(r.output).not.toContain(value);
    const [secret] = await secretsOf();
    expect((await s.call('POST', `/secrets/${secret.id}/reveal`)).json).toEqual({ value, version: 1 });

    // Backspace edits the hidden input; `vault set --object_id` prompts as Namespace's CLI does.
    const next = `next-${Math.random().toString(36).slice(2)}`;
    const set = await runInPty(['vault', 'set', '--object_id', secret.id], env, [{ waitFor: /New value for sec_\w+ \(input hidden\): $/, send: `${next}X\u007f\r` }]);
    expect(set.code, set.output).toBe(0);
    expect(set.output).not.toContain(next);
    expect((await s.call('POST', `/secrets/${secret.id}/reveal`)).json).toEqual({ value: next, version: 2 });
  });

  it('Ctrl-C at the prompt cancels with exit 130 and creates nothing', async () => {
    const r = await runInPty(['secrets', 'add', '--vault', 'pty', '--env-key', 'CANCELLED', '--unrestricted'], cliEnv(s), [{ waitFor: /input hidden\): $/, send: 'part\u0003' }]);
    expect(r.code, r.output).toBe(130);
    expect(r.output).not.toContain('part');
    expect((await secretsOf()).map((x) => x.env_key)).not.toContain('CANCELLED');
  });

  it('an unrestricted secret without --unrestricted is refused before the prompt: no value is typed in vain', async () => {
    const r = await runInPty(['secrets', 'add', '--vault', 'pty', '--env-key', 'NEVER'], cliEnv(s), []);
    expect(r.code, r.output).toBe(2);
    expect(r.output).toContain('vaultgate: refusing to create an unrestricted secret');
    expect(r.output).not.toContain('input hidden');
  });

  it('reveal warns on stderr when stdout is a terminal', async () => {
    const created = (await s.call('POST', `/vaults/${vaultId}/secrets`, { body: { env_key: 'WARNED', value: 'shown-on-purpose', revealable: true } })).json;
    const r = await runInPty(['secrets', 'reveal', created.id], cliEnv(s), []);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain(`vaultgate: printing the value of ${created.id} to the terminal; it stays in the scrollback`);
    expect(r.output).toContain('shown-on-purpose');
  });
});
