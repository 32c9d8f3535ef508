// The default-vault API (/v1/vault, SPEC §5) byte for byte, then vault.read through the agent API.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createAgent, createSecret, createVault, deploy, expect204, expectJson, idOf, isoMs, mintToken, missingId, ok, readSecret, type Res } from './helpers.js';

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
});
afterEach(async () => {
  await s.close();
});

const v1 = (method: string, path: string, body?: unknown) => s.call(method, `${s.url}/v1/vault${path}`, body === undefined ? {} : { body });

function expectRaw(res: Res, status: number, text: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.text).toBe(text);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
}

describe('/v1/vault (SPEC §5)', () => {
  it('walks its documented example: create, list, grant by agent name, vault.read, delete with its grants', async () => {
    const created = await v1('POST', '/secrets', { name: 'OPENAI_API_KEY', value: 'sk-xxxxxxxxxxxx' });
    const a = created.json;
    expectRaw(created, 201, JSON.stringify({ id: a.id, name: 'OPENAI_API_KEY', created_at: a.created_at }));
    expect(a.id).toMatch(idOf('sec'));
    expect(a.created_at).toMatch(isoMs);
    const b = (await v1('POST', '/secrets', { name: 'TELEGRAM_BOT_TOKEN', value: 'tg-123' })).json;
    expectRaw(await v1('GET', '/secrets'), 200, JSON.stringify([a, b].map((x) => ({ id: x.id, name: x.name, created_at: x.created_at }))));

    // They live in the org's "default" vault, created on first use, unrestricted.
    const vaults = await ok(s.call('GET', '/vaults'), 200);
    expect(vaults.map((v: any) => v.name)).toEqual(['default']);
    const inVault = await ok(s.call('GET', `/vaults/${vaults[0].id}/secrets`), 200);
    expect(inVault.map((x: any) => [x.id, x.env_key, x.allowed_domains])).toEqual([
      [a.id, 'OPENAI_API_KEY', []],
      [b.id, 'TELEGRAM_BOT_TOKEN', []],
    ]);

    // The example's agent runs: a new agent is stopped and receives nothing until deployed (SPEC §2).
    const researcher = await deploy(s, (await createAgent(s, { name: 'researcher' })).id);
    const { token } = await mintToken(s, researcher.id);
    expectJson(await readSecret(s, token, 'OPENAI_API_KEY'), 403, { error: 'access denied', code: 'access_denied' });

    const granted = await v1('POST', '/grants', { agent_id: 'researcher', secret_id: a.id });
    const g = granted.json;
    expectRaw(granted, 201, JSON.stringify({ grant_id: g.grant_id, agent_id: 'researcher', secret_id: a.id, created_at: g.created_at }));
    expect(g.grant_id).toMatch(idOf('grt'));
    expect(g.created_at).toMatch(isoMs);
    // The operator API shows the same grant with the real agent id.
    expectJson(await s.call('GET', `/grants?agent_id=${researcher.id}`), 200, [{ grant_id: g.grant_id, agent_id: researcher.id, secret_id: a.id, created_at: g.created_at }]);
    // Granting again answers the same grant (200), by name or by id, agent_id as given.
    expectRaw(await v1('POST', '/grants', { agent_id: 'researcher', secret_id: a.id }), 200, granted.text);
    expectRaw(await v1('POST', '/grants', { agent_id: researcher.id, secret_id: a.id }), 200, JSON.stringify({ ...g, agent_id: researcher.id }));

    const read = await readSecret(s, token, 'OPENAI_API_KEY');
    expectRaw(read, 200, '{"value":"sk-xxxxxxxxxxxx"}');
    expectJson(await readSecret(s, token, 'TELEGRAM_BOT_TOKEN'), 403, { error: 'access denied', code: 'access_denied' });

    const del = await v1('DELETE', `/secrets/${a.id}`);
    expect204(del);
    expectRaw(await v1('GET', '/secrets'), 200, JSON.stringify([{ id: b.id, name: b.name, created_at: b.created_at }]));
    expectJson(await s.call('GET', '/grants'), 200, []);
    expectJson(await readSecret(s, token, 'OPENAI_API_KEY'), 403, { error: 'access denied', code: 'access_denied' });
    expectRaw(await v1('DELETE', `/secrets/${a.id}`), 404, '{"error":"secret not found","code":"secret_not_found"}');

    const types = (await ok(s.call('GET', '/audit?limit=1000'), 200)).map((e: any) => e.type);
    expect(types.filter((t: string) => t.startsWith('vault.') && t !== 'vault.created')).toEqual(['vault.denied', 'vault.accessed', 'vault.denied', 'vault.denied']);
    expect(types).toContain('grant.created');
    expect(types).toContain('secret.deleted');
  });

  it('an empty list is [], and the list never carries a value', async () => {
    expectRaw(await v1('GET', '/secrets'), 200, '[]');
    await v1('POST', '/secrets', { name: 'K', value: 'compat-secret-value' });
    const list = await v1('GET', '/secrets');
    expect(list.text).not.toContain('compat-secret-value');
    expect(Object.keys(list.json[0])).toEqual(['id', 'name', 'created_at']);
  });

  it('errors: empty value, duplicate name, unknown agent or secret, secrets outside the default vault', async () => {
    expectRaw(await v1('POST', '/secrets', { name: 'K' }), 400, '{"error":"value cannot be empty","code":"value_empty"}');
    expectRaw(await v1('POST', '/secrets', { name: 'K', value: '' }), 400, '{"error":"value cannot be empty","code":"value_empty"}');
    const k = (await v1('POST', '/secrets', { name: 'K', value: 'v' })).json;
    expectRaw(await v1('POST', '/secrets', { name: 'K', value: 'w' }), 400, '{"error":"env_key already exists in this vault","code":"env_key_exists"}');
    expect((await v1('POST', '/secrets', { name: 'K', value: 'v', extra: 1 })).status).toBe(400);
    expectRaw(await v1('POST', '/grants', { agent_id: 'nobody', secret_id: k.id }), 404, '{"error":"agent not found","code":"agent_not_found"}');
    await createAgent(s, { name: 'researcher' });
    expectRaw(await v1('POST', '/grants', { agent_id: 'researcher', secret_id: missingId('sec') }), 404, '{"error":"secret not found","code":"secret_not_found"}');
    expectRaw(await v1('DELETE', `/secrets/${missingId('sec')}`), 404, '{"error":"secret not found","code":"secret_not_found"}');
    // A secret of another vault is not deleted through /v1/vault.
    const other = await createVault(s, 'other');
    const o = await createSecret(s, other.id, 'OTHER', 'x');
    expectRaw(await v1('DELETE', `/secrets/${o.id}`), 404, '{"error":"secret not found","code":"secret_not_found"}');
    expect((await s.call('GET', `/secrets/${o.id}`)).status).toBe(200);
    expectJson(await s.call('GET', `${s.url}/v1/vault/secrets`, { key: null }), 401, { error: 'unauthorized', code: 'unauthorized' });
  });

  it('uses an existing vault named "default"', async () => {
    const d = await createVault(s, 'default');
    const x = (await v1('POST', '/secrets', { name: 'X', value: 'v' })).json;
    expect((await ok(s.call('GET', `/secrets/${x.id}`), 200)).vault_id).toBe(d.id);
    expect((await ok(s.call('GET', '/vaults'), 200)).length).toBe(1);
  });
});
