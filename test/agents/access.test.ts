// The access table of SPEC §2 end to end: attached vault, grant, env_vars, nothing, domain restriction,
// and access taken away on the very next request.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { agentWithToken, createSecret, createVault, E, envOf, eventsOf, expect204, expectJson, grant, ok, readSecret } from './helpers.js';

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
});
afterEach(async () => {
  await s.close();
});

const restricted = { allowed_domains: ['api.stripe.com'] };

/** The last audit event of `type`. */
async function last(type: string): Promise<any> {
  const events = await eventsOf(s, type);
  expect(events.length, `no ${type} event`).toBeGreaterThan(0);
  return events[events.length - 1];
}

describe('who may read a value (vault.read)', () => {
  it('attached vault → the value, audited vault.accessed via attached_vault with request id and source', async () => {
    const v = await createVault(s, 'v');
    const sec = await createSecret(s, v.id, 'DB_URL', 'postgres://x');
    const { agent, token } = await agentWithToken(s, { name: 'a', vault_ids: [v.id] });
    const res = await readSecret(s, token, 'DB_URL');
    expect(res.text).toBe('{"value":"postgres://x"}');
    expect(res.status).toBe(200);
    const e = await last('vault.accessed');
    expect(e).toMatchObject({ actor: agent.id, agent_id: agent.id, vault_id: v.id, secret_id: sec.id, request_id: res.headers.get('x-request-id'), source_ip: '127.0.0.1' });
    expect(e.details).toEqual({ env_key: 'DB_URL', version: 1, via: 'attached_vault', delivery: 'vault.read' });
  });

  it('explicit grant to a secret in an unattached vault → the value (via grant)', async () => {
    const v = await createVault(s, 'other');
    await createSecret(s, v.id, 'NOT_GRANTED', 'n');
    const sec = await createSecret(s, v.id, 'OPENAI_API_KEY', 'sk-1');
    const { agent, token } = await agentWithToken(s, { name: 'a' });
    expectJson(await readSecret(s, token, 'OPENAI_API_KEY'), 403, E.denied);
    await grant(s, agent.id, sec.id);
    expectJson(await readSecret(s, token, 'OPENAI_API_KEY'), 200, { value: 'sk-1' });
    expect((await last('vault.accessed')).details.via).toBe('grant');
    // The grant covers that one secret, not its vault.
    expectJson(await readSecret(s, token, 'NOT_GRANTED'), 403, E.denied);
  });

  it('env_vars from_secret_id → the value under the env_vars name (via env_var)', async () => {
    const v = await createVault(s, 'v');
    const sec = await createSecret(s, v.id, 'GH_PAT', 'ghp_1');
    const { token } = await agentWithToken(s, { name: 'a', env_vars: [{ name: 'GITHUB_TOKEN', from_secret_id: sec.id }] });
    expectJson(await readSecret(s, token, 'GITHUB_TOKEN'), 200, { value: 'ghp_1' });
    expect((await last('vault.accessed')).details).toEqual({ env_key: 'GH_PAT', version: 1, via: 'env_var', delivery: 'vault.read' });
    expect(await envOf(s, token)).toEqual({ GITHUB_TOKEN: 'ghp_1' });
  });

  it('no access → 403 access denied, audited vault.denied reason no_access (secret named when it exists)', async () => {
    const v = await createVault(s, 'v');
    const sec = await createSecret(s, v.id, 'SECRET_X', 'x');
    const { agent, token } = await agentWithToken(s, { name: 'a', env: { SECRET_X: 'plain' } });
    const res = await readSecret(s, token, 'SECRET_X');
    expect(res.status).toBe(403);
    expect(res.text).toBe('{"error":"access denied","code":"access_denied"}');
    const e = await last('vault.denied');
    expect(e).toMatchObject({ actor: agent.id, agent_id: agent.id, secret_id: sec.id, vault_id: v.id, outcome: 'denied', reason: 'no_access', request_id: res.headers.get('x-request-id'), source_ip: '127.0.0.1' });
    // A name that matches nothing answers the very same body.
    const unknown = await readSecret(s, token, 'NO_SUCH_THING');
    expect([unknown.status, unknown.text]).toEqual([403, res.text]);
    expect(await last('vault.denied')).toMatchObject({ agent_id: agent.id, secret_id: null, reason: 'no_access' });
    expect(await eventsOf(s, 'vault.accessed')).toEqual([]);
  });

  it('a domain-restricted secret is never read, whichever path gives access: reason domain_restricted', async () => {
    const attachedV = await createVault(s, 'attached');
    const loose = await createVault(s, 'loose');
    const viaVault = await createSecret(s, attachedV.id, 'STRIPE_A', 'sk_a', restricted);
    const viaGrant = await createSecret(s, loose.id, 'STRIPE_G', 'sk_g', restricted);
    const viaEnvVar = await createSecret(s, loose.id, 'STRIPE_E', 'sk_e', { allowed_domains: ['*.stripe.com'] });
    const { agent, token } = await agentWithToken(s, { name: 'a', vault_ids: [attachedV.id], env_vars: [{ name: 'STRIPE_KEY', from_secret_id: viaEnvVar.id }] });
    await grant(s, agent.id, viaGrant.id);
    for (const [name, sec] of [['STRIPE_A', viaVault], ['STRIPE_G', viaGrant], ['STRIPE_KEY', viaEnvVar]] as const) {
      expectJson(await readSecret(s, token, name), 403, E.denied);
      expect(await last('vault.denied')).toMatchObject({ agent_id: agent.id, secret_id: sec.id, reason: 'domain_restricted', outcome: 'denied' });
    }
    expect(await eventsOf(s, 'vault.accessed')).toEqual([]);
  });
});

describe('access taken away takes effect on the next request', () => {
  it('detaching the vault (either shape)', async () => {
    const v = await createVault(s, 'v');
    await createSecret(s, v.id, 'K', 'x');
    const { agent, token } = await agentWithToken(s, { name: 'a', vault_ids: [v.id] });
    expect((await readSecret(s, token, 'K')).status).toBe(200);
    expect204(await s.call('DELETE', `/agents/${agent.id}/vaults/${v.id}`));
    expectJson(await readSecret(s, token, 'K'), 403, E.denied);
    expect(await envOf(s, token)).toEqual({});
    const r = await ok(s.call('POST', `/agents/${agent.id}/resources`, { body: { entity_type: 'vault', entity_id: v.id } }), 201);
    expect((await readSecret(s, token, 'K')).status).toBe(200);
    expect204(await s.call('DELETE', `/agents/${agent.id}/resources/${r.id}`));
    expectJson(await readSecret(s, token, 'K'), 403, E.denied);
  });

  it('deleting the grant', async () => {
    const v = await createVault(s, 'v');
    const sec = await createSecret(s, v.id, 'K', 'x');
    const { agent, token } = await agentWithToken(s, { name: 'a' });
    const g = await grant(s, agent.id, sec.id);
    expectJson(await s.call('GET', `/grants?agent_id=${agent.id}`), 200, [g]);
    expect((await readSecret(s, token, 'K')).status).toBe(200);
    expect204(await s.call('DELETE', `/grants/${g.grant_id}`));
    expectJson(await readSecret(s, token, 'K'), 403, E.denied);
    expectJson(await s.call('GET', `/grants?agent_id=${agent.id}`), 200, []);
    expectJson(await s.call('DELETE', `/grants/${g.grant_id}`), 404, E.grant);
  });

  it('removing the env_vars entry', async () => {
    const v = await createVault(s, 'v');
    const sec = await createSecret(s, v.id, 'K', 'x');
    const { agent, token } = await agentWithToken(s, { name: 'a', env_vars: [{ name: 'MY_K', from_secret_id: sec.id }] });
    expect((await readSecret(s, token, 'MY_K')).status).toBe(200);
    await ok(s.call('PATCH', `/agents/${agent.id}`, { body: { env_vars: [] } }), 200);
    expectJson(await readSecret(s, token, 'MY_K'), 403, E.denied);
    expect(await envOf(s, token)).toEqual({});
  });

  it('deleting the secret removes its grants and env_vars entries', async () => {
    const v = await createVault(s, 'v');
    const sec = await createSecret(s, v.id, 'K', 'x');
    const keep = await createSecret(s, v.id, 'KEEP', 'y');
    const { agent, token } = await agentWithToken(s, { name: 'a', env_vars: [{ name: 'MY_K', from_secret_id: sec.id }, { name: 'MY_KEEP', from_secret_id: keep.id }] });
    await grant(s, agent.id, sec.id);
    const kept = await grant(s, agent.id, keep.id);
    expect204(await s.call('DELETE', `/secrets/${sec.id}`));
    expectJson(await s.call('GET', `/grants?agent_id=${agent.id}`), 200, [kept]);
    expect((await s.call('GET', `/agents/${agent.id}`)).json.env_vars).toEqual([{ name: 'MY_KEEP', from_secret_id: keep.id }]);
    expectJson(await readSecret(s, token, 'MY_K'), 403, E.denied);
    expectJson(await readSecret(s, token, 'K'), 403, E.denied);
    expect(await envOf(s, token)).toEqual({ MY_KEEP: 'y', KEEP: 'y' });
  });
  it('deleting a vault removes grants and env_vars entries naming its secrets', async () => {
    const v = await createVault(s, 'v');
    const a = await createSecret(s, v.id, 'A', 'x');
    const b = await createSecret(s, v.id, 'B', 'y');
    const { agent, token } = await agentWithToken(s, { name: 'a', env_vars: [{ name: 'AA', from_secret_id: a.id }] });
    await grant(s, agent.id, b.id);
    expect(await envOf(s, token)).toEqual({ AA: 'x', B: 'y' });
    expect204(await s.call('DELETE', `/vaults/${v.id}`));
    expectJson(await s.call('GET', '/grants'), 200, []);
    expect((await s.call('GET', `/agents/${agent.id}`)).json.env_vars).toEqual([]);
    expect(await envOf(s, token)).toEqual({});
    expectJson(await readSecret(s, token, 'AA'), 403, E.denied);
  });
});

describe('nothing is injected by default (SPEC §7: secrets are named explicitly)', () => {
  it('an agent with no vaults, grants or env_vars has only its plaintext env, though the org has secrets', async () => {
    const v = await createVault(s, 'v');
    await createSecret(s, v.id, 'DATABASE_URL', 'postgres://secret');
    await createSecret(s, v.id, 'STRIPE', 'sk', restricted);
    const bare = await agentWithToken(s, { name: 'bare' });
    expect(await envOf(s, bare.token)).toEqual({});
    const plain = await agentWithToken(s, { name: 'plain', env: { MODE: 'dev' } });
    expect(await envOf(s, plain.token)).toEqual({ MODE: 'dev' });
    expectJson(await readSecret(s, bare.token, 'DATABASE_URL'), 403, E.denied);
    expect(await eventsOf(s, 'vault.accessed')).toEqual([]);
  });
});
