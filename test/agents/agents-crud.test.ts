// Black-box tests of /agents: CRUD, validation, deploy/stop, attachment in both shapes, vault delete refusal.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createAgent, createSecret, createVault, E, expect204, expectJson, idOf, isoMs, missingId, ok, eventsOf, agentWithToken, envOf } from './helpers.js';

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
});
afterEach(async () => {
  await s.close();
});

const agentKeys = ['id', 'name', 'status', 'env', 'env_vars', 'vault_ids', 'created_at', 'updated_at'];

describe('agents CRUD', () => {
  it('creates, gets, lists, updates and deletes an agent with exact bodies', async () => {
    const v = await createVault(s, 'v');
    const sec = await createSecret(s, v.id, 'TOKEN', 'x');
    const res = await s.call('POST', '/agents', { body: { name: 'bot', env: { MODE: 'dev' }, env_vars: [{ name: 'GH', from_secret_id: sec.id }], vault_ids: [v.id] } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.json)).toEqual(agentKeys);
    const a = res.json;
    expect(a).toEqual({ id: a.id, name: 'bot', status: 'stopped', env: { MODE: 'dev' }, env_vars: [{ name: 'GH', from_secret_id: sec.id }], vault_ids: [v.id], created_at: a.created_at, updated_at: a.created_at });
    expect(a.id).toMatch(idOf('agt'));
    expect(a.created_at).toMatch(isoMs);

    expectJson(await s.call('GET', `/agents/${a.id}`), 200, a);
    const b = await createAgent(s, { name: 'second' });
    expectJson(await s.call('GET', '/agents'), 200, [a, b]);

    const patched = await s.call('PATCH', `/agents/${a.id}`, { body: { name: 'bot2', env: { MODE: 'prod', X: '1' } } });
    expectJson(patched, 200, { ...a, name: 'bot2', env: { MODE: 'prod', X: '1' }, updated_at: patched.json.updated_at });
    expect(patched.json.updated_at >= a.updated_at).toBe(true);
    // The same values again change nothing.
    expectJson(await s.call('PATCH', `/agents/${a.id}`, { body: { name: 'bot2', env: { MODE: 'prod', X: '1' } } }), 200, patched.json);
    expect((await eventsOf(s, 'agent.updated')).length).toBe(1);

    expect204(await s.call('DELETE', `/agents/${a.id}`));
    expectJson(await s.call('GET', `/agents/${a.id}`), 404, E.agent);
    expectJson(await s.call('DELETE', `/agents/${a.id}`), 404, E.agent);
    expectJson(await s.call('GET', '/agents'), 200, [b]);
    expect((await eventsOf(s, 'agent.created')).map((e) => e.agent_id)).toEqual([a.id, b.id]);
    expect((await eventsOf(s, 'agent.deleted')).map((e) => e.agent_id)).toEqual([a.id]);
  });

  it('validates env keys, env_vars and names; a refused write creates nothing', async () => {
    const v = await createVault(s, 'v');
    const sec = await createSecret(s, v.id, 'K', 'x');
    const bad: [Record<string, unknown>, number, unknown][] = [
      [{ name: 'a', env: { 'BAD-KEY': 'x' } }, 400, E.invalid('env keys must be valid environment variable names')],
      [{ name: 'a', env: { '1X': 'x' } }, 400, E.invalid('env keys must be valid environment variable names')],
      [{ name: 'a', env: { '': 'x' } }, 400, E.invalid('env keys must be valid environment variable names')],
      [{ name: 'a', env_vars: [{ name: 'G', from_secret_id: missingId('sec') }] }, 404, E.secret],
      [{ name: 'a', env_vars: [{ name: 'G', from_secret_id: 'not-an-id' }] }, 404, E.secret],
      [{ name: 'a', env_vars: [{ name: 'G', from_secret_id: v.id }] }, 404, E.secret],
      [{ name: 'a', env_vars: [{ name: 'G', from_secret_id: sec.id }, { name: 'G', from_secret_id: sec.id }] }, 400, E.invalid('env_vars[1].name is listed twice')],
      [{ name: 'a', env: { G: 'plain' }, env_vars: [{ name: 'G', from_secret_id: sec.id }] }, 400, E.invalid('env_vars[0].name is also set in env')],
      [{ name: 'a', env_vars: [{ name: 'bad name', from_secret_id: sec.id }] }, 400, E.invalid('env_vars[0].name must be a valid environment variable name')],
      [{ name: 'a', vault_ids: [missingId('vlt')] }, 404, E.vault],
      [{ name: '' }, 400, E.invalid('name must be 1-128 characters without control characters')],
    ];
    for (const [body, status, expected] of bad) expectJson(await s.call('POST', '/agents', { body }), status, expected);
    expect((await s.call('POST', '/agents', { body: { name: 'a', color: 'red' } })).status).toBe(400);
    expectJson(await s.call('GET', '/agents'), 200, []);

    const a = await createAgent(s, { name: 'dup', env_vars: [{ name: 'G', from_secret_id: sec.id }] });
    expectJson(await s.call('POST', '/agents', { body: { name: 'dup' } }), 409, err409);
    const other = await createAgent(s, { name: 'other' });
    expectJson(await s.call('PATCH', `/agents/${other.id}`, { body: { name: 'dup' } }), 409, err409);
    // PATCH env clashing with an existing env_vars entry, and PATCH env_vars naming a missing secret.
    expectJson(await s.call('PATCH', `/agents/${a.id}`, { body: { env: { G: 'x' } } }), 400, E.invalid('env_vars[0].name is also set in env'));
    expectJson(await s.call('PATCH', `/agents/${a.id}`, { body: { env_vars: [{ name: 'H', from_secret_id: missingId('sec') }] } }), 404, E.secret);
    expectJson(await s.call('GET', `/agents/${a.id}`), 200, a);
    expectJson(await s.call('GET', `/agents/${missingId('agt')}`), 404, E.agent);
    expectJson(await s.call('GET', '/agents/garbage'), 404, E.agent);
  });

  it('deploy and stop switch the status, idempotently, each audited once', async () => {
    const a = await createAgent(s, { name: 'a' });
    const d = await s.call('POST', `/agents/${a.id}/deploy`);
    expectJson(d, 200, { ...a, status: 'deployed', updated_at: d.json.updated_at });
    expectJson(await s.call('POST', `/agents/${a.id}/deploy`), 200, d.json);
    expect((await s.call('GET', `/agents/${a.id}`)).json.status).toBe('deployed');
    const st = await s.call('POST', `/agents/${a.id}/stop`);
    expectJson(st, 200, { ...a, status: 'stopped', updated_at: st.json.updated_at });
    expect((await eventsOf(s, 'agent.deployed')).length).toBe(1);
    expect((await eventsOf(s, 'agent.stopped')).length).toBe(1);
    expectJson(await s.call('POST', `/agents/${missingId('agt')}/deploy`), 404, E.agent);
    expectJson(await s.call('POST', `/agents/${missingId('agt')}/stop`), 404, E.agent);
  });
});

const err409 = { error: 'an agent with this name already exists', code: 'agent_name_exists' };

describe('vault attachment', () => {
  it('SPEC shape: POST /agents/{id}/vaults answers the agent (201 then 200), DELETE detaches (204)', async () => {
    const v = await createVault(s, 'v');
    const a = await createAgent(s, { name: 'a' });
    const first = await s.call('POST', `/agents/${a.id}/vaults`, { body: { vault_id: v.id } });
    expectJson(first, 201, { ...a, vault_ids: [v.id], updated_at: first.json.updated_at });
    expectJson(await s.call('POST', `/agents/${a.id}/vaults`, { body: { vault_id: v.id } }), 200, first.json);
    const resources = await ok(s.call('GET', `/agents/${a.id}/resources`), 200);
    expect(resources).toEqual([{ id: resources[0].id, agent_id: a.id, entity_type: 'vault', entity_id: v.id, created_at: resources[0].created_at }]);
    expect(resources[0].id).toMatch(idOf('res'));
    expect((await eventsOf(s, 'agent.vault_attached')).length).toBe(1);

    expect204(await s.call('DELETE', `/agents/${a.id}/vaults/${v.id}`));
    expect((await s.call('GET', `/agents/${a.id}`)).json.vault_ids).toEqual([]);
    expectJson(await s.call('GET', `/agents/${a.id}/resources`), 200, []);
    expectJson(await s.call('DELETE', `/agents/${a.id}/vaults/${v.id}`), 404, E.vault);
    expect((await eventsOf(s, 'agent.vault_detached')).map((e) => e.vault_id)).toEqual([v.id]);

    expectJson(await s.call('POST', `/agents/${a.id}/vaults`, { body: { vault_id: missingId('vlt') } }), 404, E.vault);
    expectJson(await s.call('POST', `/agents/${a.id}/vaults`, { body: { vault_id: 'nope' } }), 404, E.vault);
    expectJson(await s.call('POST', `/agents/${missingId('agt')}/vaults`, { body: { vault_id: v.id } }), 404, E.agent);
  });

  it("Nairi's shape: resources 201 then 200 with the same object, list, DELETE 204, both shapes interoperate", async () => {
    const v = await createVault(s, 'v');
    const w = await createVault(s, 'w');
    const a = await createAgent(s, { name: 'a' });
    const r = await s.call('POST', `/agents/${a.id}/resources`, { body: { entity_type: 'vault', entity_id: v.id } });
    expect(r.status).toBe(201);
    expect(Object.keys(r.json)).toEqual(['id', 'agent_id', 'entity_type', 'entity_id', 'created_at']);
    expect(r.json).toEqual({ id: r.json.id, agent_id: a.id, entity_type: 'vault', entity_id: v.id, created_at: r.json.created_at });
    expect(r.json.id).toMatch(idOf('res'));
    expectJson(await s.call('POST', `/agents/${a.id}/resources`, { body: { entity_type: 'vault', entity_id: v.id } }), 200, r.json);
    // Attaching w the SPEC way shows it as a resource too.
    await ok(s.call('POST', `/agents/${a.id}/vaults`, { body: { vault_id: w.id } }), 201);
    const list = await ok(s.call('GET', `/agents/${a.id}/resources`), 200);
    expect(list.map((x: any) => x.entity_id)).toEqual([v.id, w.id]);
    expect(list[0]).toEqual(r.json);
    expect((await s.call('GET', `/agents/${a.id}`)).json.vault_ids).toEqual([v.id, w.id]);

    expect204(await s.call('DELETE', `/agents/${a.id}/resources/${r.json.id}`));
    expectJson(await s.call('DELETE', `/agents/${a.id}/resources/${r.json.id}`), 404, E.resource);
    // A resource attached the SPEC way is detached Nairi's way.
    expect204(await s.call('DELETE', `/agents/${a.id}/resources/${list[1].id}`));
    expect((await s.call('GET', `/agents/${a.id}`)).json.vault_ids).toEqual([]);

    expectJson(await s.call('POST', `/agents/${a.id}/resources`, { body: { entity_type: 'vault', entity_id: missingId('vlt') } }), 404, E.vault);
    expect((await s.call('POST', `/agents/${a.id}/resources`, { body: { entity_type: 'secret', entity_id: v.id } })).status).toBe(400);
    expectJson(await s.call('GET', `/agents/${missingId('agt')}/resources`), 404, E.agent);
  });
});

describe('deleting an attached vault', () => {
  it('is refused while a deployed agent has it attached; vault, secrets and access stay; works once stopped', async () => {
    const v = await createVault(s, 'v');
    const sec = await createSecret(s, v.id, 'API_KEY', 'value-1');
    const { agent, token } = await agentWithToken(s, { name: 'a', vault_ids: [v.id] });
    await ok(s.call('POST', `/agents/${agent.id}/deploy`), 200);

    const refused = await s.call('DELETE', `/vaults/${v.id}`);
    expect(refused.status).toBe(400);
    expect(refused.text).toBe('{"error":"cannot delete vault: still attached to 1 deployed agent(s)","code":"vault_in_use"}');
    const b = await createAgent(s, { name: 'b', vault_ids: [v.id] });
    await ok(s.call('POST', `/agents/${b.id}/deploy`), 200);
    expectJson(await s.call('DELETE', `/vaults/${v.id}`), 400, { error: 'cannot delete vault: still attached to 2 deployed agent(s)', code: 'vault_in_use' });

    expect((await s.call('GET', `/vaults/${v.id}`)).status).toBe(200);
    expectJson(await s.call('GET', `/vaults/${v.id}/secrets/${sec.id}`), 200, sec);
    expect(await envOf(s, token)).toEqual({ API_KEY: 'value-1' });
    expect(await eventsOf(s, 'vault.deleted')).toEqual([]);

    await ok(s.call('POST', `/agents/${agent.id}/stop`), 200);
    await ok(s.call('POST', `/agents/${b.id}/stop`), 200);
    expect204(await s.call('DELETE', `/vaults/${v.id}`));
    expectJson(await s.call('GET', `/vaults/${v.id}`), 404, E.vault);
    expectJson(await s.call('GET', `/secrets/${sec.id}`), 404, E.secret);
    expect((await s.call('GET', `/agents/${agent.id}`)).json.vault_ids).toEqual([]);
    // Deployed again, the agent no longer holds anything of the deleted vault.
    await ok(s.call('POST', `/agents/${agent.id}/deploy`), 200);
    expect(await envOf(s, token)).toEqual({});
  });

  it('a vault attached only to stopped agents is deleted (204)', async () => {
    const v = await createVault(s, 'v');
    const a = await createAgent(s, { name: 'a', vault_ids: [v.id] });
    expect204(await s.call('DELETE', `/vaults/${v.id}`));
    expectJson(await s.call('GET', `/agents/${a.id}/resources`), 200, []);
  });
});
