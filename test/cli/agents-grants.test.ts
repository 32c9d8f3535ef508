// `vaultgate agents …`, `grants …` and `run` against a real server: --json equal to the API, exit codes, the child's exit status, a stopped agent.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli } from '../helpers/kit.js';
import { cliPath, startTestServer, type TestServer } from '../helpers/server.js';
import { cliEnv, cliFor, expectFailure, okJson } from './helpers.js';

let s: TestServer;
let vg: ReturnType<typeof cliFor>;
let tools: any;
let extra: any;
let secret: any;
beforeAll(async () => {
  requireBuiltCli();
  s = await startTestServer();
  vg = cliFor(s);
  tools = (await s.call('POST', '/vaults', { body: { name: 'tools' } })).json;
  extra = (await s.call('POST', '/vaults', { body: { name: 'extra' } })).json;
  secret = (await s.call('POST', `/vaults/${extra.id}/secrets`, { body: { env_key: 'GH_PAT', value: 'ghp_value' } })).json;
});
afterAll(async () => {
  await s.close();
});

const agentApi = async (id: string) => (await s.call('GET', `/agents/${id}`)).json;

describe('agents', () => {
  it('create, list, get, deploy, stop, attach, detach, delete by name or id; --json is the API object', async () => {
    const created = okJson(await vg(['agents', 'create', 'researcher', '--vault', 'tools', '--env', 'MODE=dev', '--env', 'URL=a=b', '--env-from', `GITHUB_TOKEN=${secret.id}`, '--json']));
    expect(created).toEqual(await agentApi(created.id));
    expect(created).toMatchObject({ name: 'researcher', status: 'stopped', env: { MODE: 'dev', URL: 'a=b' }, env_vars: [{ name: 'GITHUB_TOKEN', from_secret_id: secret.id }], vault_ids: [tools.id] });

    expect(okJson(await vg(['agents', 'list', '--json']))).toEqual((await s.call('GET', '/agents')).json);
    expect(okJson(await vg(['agents', 'get', 'researcher', '--json']))).toEqual(created);
    const deployed = okJson(await vg(['agents', 'deploy', 'researcher', '--json']));
    expect(deployed).toEqual(await agentApi(created.id));
    expect(deployed.status).toBe('deployed');
    const attached = okJson(await vg(['agents', 'attach', created.id, 'extra', '--json']));
    expect(attached.vault_ids).toEqual([tools.id, extra.id]);
    expect(attached).toEqual(await agentApi(created.id));

    const detach = await vg(['agents', 'detach', 'researcher', 'tools']);
    expect([detach.code, detach.stdout]).toEqual([0, `detached ${tools.id} from ${created.id}\n`]);
    const stopped = await vg(['agents', 'stop', 'researcher']);
    expect(stopped.stdout).toBe(`agent researcher (${created.id}) stopped\n`);
    expect(await agentApi(created.id)).toMatchObject({ status: 'stopped', vault_ids: [extra.id] });

    const table = await vg(['agents', 'list']);
    expect(table.stdout).toMatch(new RegExp(`^ID +NAME +STATUS +VAULTS +SECRET_ENV +CREATED\\n${created.id}  researcher  stopped +1 +1 +just now\\n$`));
    const details = await vg(['agents', 'get', 'researcher']);
    expect(details.stdout).toContain(`env_vars:  GITHUB_TOKEN=${secret.id}\n`);

    const del = await vg(['agents', 'delete', 'researcher']);
    expect([del.code, del.stdout]).toEqual([0, `deleted agent ${created.id}\n`]);
    expect((await s.call('GET', `/agents/${created.id}`)).status).toBe(404);
  });

  it('token mints (shown once), lists without the token, revokes', async () => {
    const agent = okJson(await vg(['agents', 'create', 'tokened', '--json']));
    const minted = okJson(await vg(['agents', 'token', 'tokened', '--json']));
    expect(minted).toMatchObject({ agent_id: agent.id });
    expect(minted.token).toEqual(expect.any(String));
    const listed = okJson(await vg(['agents', 'token', 'tokened', '--list', '--json']));
    expect(listed).toEqual((await s.call('GET', `/agents/${agent.id}/tokens`)).json);
    expect(JSON.stringify(listed)).not.toContain(minted.token);
    okJson(await vg(['agents', 'deploy', 'tokened', '--json']));
    const env = await s.call('GET', `${s.url}/api/agent/v1/environment`, { key: minted.token });
    expect(env.status).toBe(200);
    const revoked = await vg(['agents', 'token', 'tokened', '--revoke', minted.id]);
    expect([revoked.code, revoked.stdout]).toEqual([0, `revoked token ${minted.id}\n`]);
    expect((await s.call('GET', `${s.url}/api/agent/v1/environment`, { key: minted.token })).status).toBe(401);
    const human = await vg(['agents', 'token', agent.id]);
    expect(human.stdout).toMatch(new RegExp(`^token atk_[0-9A-Z]{26} for ${agent.id} \\(shown once, store it now\\):\\n\\S+\\n$`));
  });

  it('exit codes: 4 unknown agent or vault, 5 duplicate name or bad env, 2 usage', async () => {
    const [noAgent, noVault, noId, dup, badEnv, both] = await Promise.all([
      vg(['agents', 'get', 'nobody']),
      vg(['agents', 'create', 'x-agent', '--vault', 'no-such-vault']),
      vg(['agents', 'deploy', 'agt_01KQ27AQH800XQTQPJZ0DH14SJ']),
      (async () => {
        okJson(await vg(['agents', 'create', 'twice', '--json']));
        return vg(['agents', 'create', 'twice']);
      })(),
      vg(['agents', 'create', 'bad-env', '--env', 'NOEQUALS']),
      vg(['agents', 'token', 'twice', '--list', '--revoke', 'atk_x']),
    ]);
    expectFailure(noAgent, 4, 'vaultgate: agent not found\n');
    expectFailure(noVault, 4, 'vaultgate: vault not found\n');
    expectFailure(noId, 4, 'vaultgate: agent not found\n');
    expectFailure(dup, 5, 'vaultgate: an agent with this name already exists\n');
    expectFailure(badEnv, 2, 'vaultgate: --env must look like key=value\n');
    expectFailure(both, 2, 'vaultgate: give --list or --revoke, not both\n');
  });
});

describe('grants', () => {
  it('create, list (all and per agent), delete; --json is the API object; unknown ids exit 4', async () => {
    const agent = okJson(await vg(['agents', 'create', 'granted', '--json']));
    const grant = okJson(await vg(['grants', 'create', '--agent', 'granted', '--secret', secret.id, '--json']));
    expect(grant).toMatchObject({ agent_id: agent.id, secret_id: secret.id });
    expect(okJson(await vg(['grants', 'list', '--json']))).toEqual((await s.call('GET', '/grants')).json);
    expect(okJson(await vg(['grants', 'list', '--agent', 'granted', '--json']))).toEqual([grant]);
    const table = await vg(['grants', 'list']);
    expect(table.stdout).toMatch(new RegExp(`^ID +AGENT +SECRET +CREATED\\n${grant.grant_id}  ${agent.id}  ${secret.id}  just now\\n`));
    const del = await vg(['grants', 'delete', grant.grant_id]);
    expect([del.code, del.stdout]).toEqual([0, `deleted grant ${grant.grant_id}\n`]);
    expect((await s.call('GET', '/grants')).json).toEqual([]);
    const [again, noSecret, noFlag] = await Promise.all([
      vg(['grants', 'delete', grant.grant_id]),
      vg(['grants', 'create', '--agent', 'granted', '--secret', 'sec_01KQ27AQH800XQTQPJZ0DH14SJ']),
      vg(['grants', 'create', '--agent', 'granted']),
    ]);
    expectFailure(again, 4, 'vaultgate: grant not found\n');
    expectFailure(noSecret, 4, 'vaultgate: secret not found\n');
    expectFailure(noFlag, 2, /^vaultgate: required option '--secret <secret_id>' not specified/);
  });
});

describe('run', () => {
  it("passes the child's exit code, 128+n for a signal, 127 for a missing command, and revokes the minted token", async () => {
    const agent = okJson(await vg(['agents', 'create', 'runner', '--vault', 'extra', '--env', 'MODE=run', '--json']));
    okJson(await vg(['agents', 'deploy', 'runner', '--json']));
    const [seven, env, signalled, missing] = await Promise.all([
      vg(['run', '--agent', 'runner', '--', process.execPath, '-e', 'process.exit(7)']),
      vg(['run', '--agent', 'runner', '--', process.execPath, '-e', 'process.stdout.write(process.env.MODE + " " + process.env.GH_PAT + " " + (process.env.VAULTGATE_API_KEY ?? "none"))']),
      vg(['run', '--agent', agent.id, '--', 'sh', '-c', 'kill -TERM $$']),
      vg(['run', '--agent', 'runner', '--', 'no-such-command-vaultgate']),
    ]);
    expect(seven.code, seven.stderr).toBe(7);
    expect([env.code, env.stdout]).toEqual([0, 'run ghp_value none']);
    expect(signalled.code, signalled.stderr).toBe(143);
    expect(missing.code).toBe(127);
    // GH_PAT is unrestricted: run names it (never its value) before starting the command.
    expect(missing.stderr).toBe('vaultgate run: these variables hold real values (unrestricted secrets): GH_PAT\nvaultgate run: cannot start no-such-command-vaultgate: ENOENT\n');
    const tokens = (await s.call('GET', `/agents/${agent.id}/tokens`)).json as any[];
    expect(tokens).toHaveLength(4);
    for (const t of tokens) expect(t.revoked_at).not.toBeNull();
  });

  it('forwards SIGTERM to the child and exits with its code', async () => {
    await s.call('POST', `/agents/${(await s.call('POST', '/agents', { body: { name: 'sig-runner' } })).json.id}/deploy`);
    const child = spawn(process.execPath, [cliPath, 'run', '--agent', 'sig-runner', '--', process.execPath, '-e', 'process.on("SIGTERM", () => process.exit(42)); console.log("ready"); setInterval(() => {}, 1000)'], {
      env: cliEnv(s),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
      if (out.includes('ready')) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect([code, out]).toEqual([42, 'ready\n']);
  });

  it('refuses a stopped agent before starting the command, naming the fix; runs once it is deployed', async () => {
    const agent = okJson(await vg(['agents', 'create', 'halted', '--vault', 'extra', '--json']));
    const marker = join(mkdtempSync(join(tmpdir(), 'vg-run-stopped-')), 'started');
    const cmd = ['--', 'sh', '-c', `touch ${marker}`];
    expectFailure(await vg(['run', '--agent', 'halted', ...cmd]), 3, 'vaultgate: agent halted is stopped: run "vaultgate agents deploy halted" first\n');
    expectFailure(await vg(['run', '--agent', agent.id, ...cmd]), 3, 'vaultgate: agent halted is stopped: run "vaultgate agents deploy halted" first\n');
    expect((await s.call('GET', `/agents/${agent.id}/tokens`)).json).toEqual([]);
    // With a token alone the server's refusal stops it, before the command too.
    const { token } = (await s.call('POST', `/agents/${agent.id}/tokens`)).json;
    const asAgent = await runCli(['run', ...cmd], { env: cliEnv(null, { VAULTGATE_URL: s.url, VAULTGATE_AGENT_TOKEN: token }) });
    expectFailure(asAgent, 3, 'vaultgate: this agent is stopped: run "vaultgate agents deploy <agent>" first\n');
    expect(existsSync(marker)).toBe(false);

    okJson(await vg(['agents', 'deploy', 'halted', '--json']));
    const ran = await vg(['run', '--agent', 'halted', ...cmd]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });
});
