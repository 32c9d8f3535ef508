// `vaultgate agents apply -f spec.yaml`: create and deploy, idempotent re-apply, update, redeploy after a stop, vault names, bad specs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { allEvents, createSecret, createVault, envOf, expectJson, idOf, mintToken, ok } from './helpers.js';

let s: TestServer;
let dir: string;
beforeAll(async () => {
  s = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'vg-apply-'));
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
function spec(text: string): string {
  files += 1;
  const path = join(dir, `spec-${files}.yaml`);
  writeFileSync(path, text);
  return path;
}

const agents = async () => ok(s.call('GET', '/agents'), 200);

describe('agents apply -f', () => {
  it('creates the agent, re-applies as unchanged without audit events, updates on change, accepts vault names', async () => {
    const tools = await createVault(s, 'tools');
    const extra = await createVault(s, 'extra');
    await createSecret(s, tools.id, 'TOOLS_KEY', 'tools-value');
    await createSecret(s, extra.id, 'EXTRA_KEY', 'extra-value');
    const gh = await createSecret(s, (await createVault(s, 'loose')).id, 'GH_PAT', 'ghp_value');
    const first = spec(
      [
        'name: my-devbox',
        'image: default',
        'size: M',
        `vaults: [${tools.id}]`,
        'env:',
        '  - name: ZED',
        '    value: last-but-first',
        '  - name: GITHUB_TOKEN',
        `    from_secret_id: ${gh.id}`,
        '  - name: MODE',
        '    value: dev',
        '  - name: WORKERS',
        '    value: 3',
        '',
      ].join('\n'),
    );
    const created = await runCli(['agents', 'apply', '-f', first], { server: s });
    expect(created.code, created.stderr).toBe(0);
    const [agent] = await agents();
    expect(created.stdout).toBe(`agent my-devbox (${agent.id}) created\n`);
    expect(agent.id).toMatch(idOf('agt'));
    expect(agent).toMatchObject({ name: 'my-devbox', status: 'deployed', env: { ZED: 'last-but-first', MODE: 'dev', WORKERS: '3' }, env_vars: [{ name: 'GITHUB_TOKEN', from_secret_id: gh.id }], vault_ids: [tools.id] });
    const { token } = await mintToken(s, agent.id);
    expect(await envOf(s, token)).toEqual({ TOOLS_KEY: 'tools-value', GITHUB_TOKEN: 'ghp_value', ZED: 'last-but-first', MODE: 'dev', WORKERS: '3' });

    const before = await allEvents(s);
    const [again, asJson] = await Promise.all([runCli(['agents', 'apply', '-f', first], { server: s }), runCli(['agents', 'apply', '-f', first, '--json'], { server: s })]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`agent my-devbox (${agent.id}) unchanged\n`);
    expect(asJson.code, asJson.stderr).toBe(0);
    expect(JSON.parse(asJson.stdout)).toEqual(agent);
    expect(await allEvents(s)).toEqual(before);
    expectJson(await s.call('GET', `/agents/${agent.id}`), 200, agent);

    // A changed file: new env value, a vault by name replacing the old one.
    const changed = spec(['name: my-devbox', 'vaults: [extra]', 'env:', '  - name: GITHUB_TOKEN', `    from_secret_id: ${gh.id}`, '  - name: MODE', '    value: prod', ''].join('\n'));
    const updated = await runCli(['agents', 'apply', '-f', changed], { server: s });
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toBe(`agent my-devbox (${agent.id}) updated\n`);
    expect(await envOf(s, token)).toEqual({ EXTRA_KEY: 'extra-value', GITHUB_TOKEN: 'ghp_value', MODE: 'prod' });
    const after = await ok(s.call('GET', `/agents/${agent.id}`), 200);
    expect(after).toMatchObject({ env: { MODE: 'prod' }, vault_ids: [extra.id] });
    expect((await runCli(['agents', 'apply', '-f', changed], { server: s })).stdout).toBe(`agent my-devbox (${agent.id}) unchanged\n`);
    expect((await agents()).length).toBe(1);
  });

  it('leaves the agent deployed: applying the same spec to a stopped agent deploys it again', async () => {
    const v = await createVault(s, 'redeploy');
    await createSecret(s, v.id, 'REDEPLOY_KEY', 'redeploy-value');
    const file = spec(`name: redeploy\nvaults: [redeploy]\n`);
    expect((await runCli(['agents', 'apply', '-f', file], { server: s })).code).toBe(0);
    const agent = (await agents()).find((a: any) => a.name === 'redeploy');
    const { token } = await mintToken(s, agent.id);
    await ok(s.call('POST', `/agents/${agent.id}/stop`), 200);
    expectJson(await s.call('GET', `${s.url}/api/agent/v1/environment`, { key: token }), 403, { error: 'agent is stopped', code: 'agent_stopped' });

    const res = await runCli(['agents', 'apply', '-f', file], { server: s });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe(`agent redeploy (${agent.id}) updated\n`);
    expect((await ok(s.call('GET', `/agents/${agent.id}`), 200)).status).toBe('deployed');
    expect(await envOf(s, token)).toEqual({ REDEPLOY_KEY: 'redeploy-value' });
    expect((await allEvents(s)).filter((e) => e.agent_id === agent.id && e.type.startsWith('agent.')).map((e) => e.type)).toEqual(['agent.created', 'agent.deployed', 'agent.token_created', 'agent.stopped', 'agent.deployed']);
  });

  it('creates with vault names, mixing names and ids', async () => {
    const a = await createVault(s, 'by-name-a');
    const b = await createVault(s, 'by-name-b');
    const res = await runCli(['agents', 'apply', '-f', spec(`name: named\nvaults:\n  - by-name-a\n  - ${b.id}\n`), '--json'], { server: s });
    expect(res.code, res.stderr).toBe(0);
    const agent = JSON.parse(res.stdout);
    expect(agent).toMatchObject({ name: 'named', status: 'deployed', vault_ids: [a.id, b.id], env: {}, env_vars: [] });
    expectJson(await s.call('GET', `/agents/${agent.id}`), 200, agent);
  });

  it('refuses an entry with both value and from_secret_id, with a clear message and a non-zero exit', async () => {
    const v = await createVault(s, 'bad-spec-vault');
    const sec = await createSecret(s, v.id, 'K', 'x');
    const before = await agents();
    const res = await runCli(['agents', 'apply', '-f', spec(`name: both\nenv:\n  - name: MODE\n    value: dev\n  - name: K\n    value: x\n    from_secret_id: ${sec.id}\n`)], { server: s });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toBe('vaultgate: spec.env[1] needs exactly one of value or from_secret_id\n');
    expect(res.stdout).toBe('');
    expect(await agents()).toEqual(before);
  });

  it('reports the server error for an unknown vault or secret, and refuses malformed specs', async () => {
    const before = await agents();
    const [unknownVault, unknownSecret, noName, noKey] = await Promise.all([
      runCli(['agents', 'apply', '-f', spec('name: x1\nvaults: [no-such-vault]\n')], { server: s }),
      runCli(['agents', 'apply', '-f', spec('name: x2\nenv:\n  - name: G\n    from_secret_id: sec_01KQ27AQH800XQTQPJZ0DH14SJ\n')], { server: s }),
      runCli(['agents', 'apply', '-f', spec('vaults: []\n')], { server: s }),
      runCli(['agents', 'apply', '-f', spec('name: x3\n')], { server: s, env: { VAULTGATE_API_KEY: '' } }),
    ]);
    // Exit codes (docs/cli.md): 4 not found, 5 validation.
    expect([unknownVault.code, unknownVault.stderr]).toEqual([4, 'vaultgate: vault not found\n']);
    expect([unknownSecret.code, unknownSecret.stderr]).toEqual([4, 'vaultgate: secret not found\n']);
    expect([noName.code, noName.stderr]).toEqual([5, 'vaultgate: spec.name must be a non-empty string\n']);
    expect(noKey.code).not.toBe(0);
    expect(noKey.stderr).toMatch(/VAULTGATE_API_KEY/);
    expect(await agents()).toEqual(before);
  });
});
