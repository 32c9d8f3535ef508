// Agent tokens: minting, revocation effective on the next request, deleted agents, API separation.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { needlesFor, searchDir } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { agentCall, agentWithToken, createSecret, createVault, E, expect204, expectJson, eventsOf, idOf, isoMs, missingId, readSecret } from './helpers.js';

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
});
afterEach(async () => {
  await s.close();
});

async function fixture() {
  const v = await createVault(s, 'v');
  await createSecret(s, v.id, 'K', 'value-k');
  return agentWithToken(s, { name: 'a', vault_ids: [v.id] });
}

describe('agent tokens', () => {
  it('are minted as {id, token, agent_id, created_at}, shown once, stored only hashed, audited', async () => {
    const v = await createVault(s, 'v');
    const { agent } = await agentWithToken(s, { name: 'x', vault_ids: [v.id] });
    const res = await s.call('POST', `/agents/${agent.id}/tokens`);
    expect(res.status).toBe(201);
    expect(Object.keys(res.json)).toEqual(['id', 'token', 'agent_id', 'created_at']);
    expect(res.json.id).toMatch(idOf('atk'));
    expect(res.json.token).toMatch(/^vgat_[A-Za-z0-9_-]{32,}$/);
    expect(res.json.agent_id).toBe(agent.id);
    expect(res.json.created_at).toMatch(isoMs);
    expect((await agentCall(s, res.json.token, '/environment')).status).toBe(200);
    // Nothing on the operator API shows it again.
    for (const path of ['/agents', `/agents/${agent.id}`, '/audit?limit=1000']) expect((await s.call('GET', path)).text).not.toContain(res.json.token);
    const created = await eventsOf(s, 'agent.token_created');
    expect(created.map((e) => [e.agent_id, e.target_id])[1]).toEqual([agent.id, res.json.id]);
    const hits = searchDir(s.dataDir, needlesFor(res.json.token));
    expect(hits).toEqual([]);
    expectJson(await s.call('POST', `/agents/${missingId('agt')}/tokens`), 404, E.agent);
  });

  it('a revoked token fails on the very next request (401), others of the agent keep working; auth.failed is audited', async () => {
    const { agent, token, tokenId } = await fixture();
    const other = await s.call('POST', `/agents/${agent.id}/tokens`);
    expectJson(await readSecret(s, token, 'K'), 200, { value: 'value-k' });
    expect204(await s.call('DELETE', `/agents/${agent.id}/tokens/${tokenId}`));
    const env = await agentCall(s, token, '/environment');
    expect(env.status).toBe(401);
    expect(env.text).toBe('{"error":"unauthorized","code":"unauthorized"}');
    expectJson(await readSecret(s, token, 'K'), 401, E.unauthorized);
    expectJson(await readSecret(s, other.json.token, 'K'), 200, { value: 'value-k' });

    // Failures are coalesced per source address and minute (SPEC §9): the first is on record at
    // once, the second only counts until the next event of that address.
    const failed = await eventsOf(s, 'auth.failed');
    expect(failed.length).toBe(1);
    expect(failed[0]).toMatchObject({ actor: agent.id, agent_id: agent.id, target_id: tokenId, outcome: 'denied', reason: 'agent token revoked', request_id: env.headers.get('x-request-id'), details: { count: 1 } });
    expect((await eventsOf(s, 'agent.token_revoked')).map((e) => [e.agent_id, e.target_id])).toEqual([[agent.id, tokenId]]);
    // Revoking again, or through another agent's path, is 404.
    expectJson(await s.call('DELETE', `/agents/${agent.id}/tokens/${tokenId}`), 404, E.token);
    const b = await agentWithToken(s, { name: 'b' });
    expectJson(await s.call('DELETE', `/agents/${agent.id}/tokens/${b.tokenId}`), 404, E.token);
    expectJson(await s.call('DELETE', `/agents/${agent.id}/tokens/${missingId('atk')}`), 404, E.token);
    expect((await agentCall(s, b.token, '/environment')).status).toBe(200);
  });

  it('a token of a deleted agent fails (401)', async () => {
    const { agent, token } = await fixture();
    expect((await agentCall(s, token, '/environment')).status).toBe(200);
    expect204(await s.call('DELETE', `/agents/${agent.id}`));
    expectJson(await agentCall(s, token, '/environment'), 401, E.unauthorized);
    expectJson(await readSecret(s, token, 'K'), 401, E.unauthorized);
    expect(await eventsOf(s, 'vault.accessed')).toHaveLength(1);
  });

  it('agent tokens work only on the agent API, operator keys only on the operator APIs', async () => {
    const { token } = await fixture();
    for (const path of ['/vaults', '/agents', '/grants', '/audit']) expectJson(await s.call('GET', path, { key: token }), 401, E.unauthorized);
    expectJson(await s.call('POST', '/vaults', { key: token, body: { name: 'evil' } }), 401, E.unauthorized);
    expectJson(await s.call('GET', `${s.url}/v1/vault/secrets`, { key: token }), 401, E.unauthorized);
    expectJson(await s.call('POST', `${s.url}/v1/vault/secrets`, { key: token, body: { name: 'X', value: 'y' } }), 401, E.unauthorized);
    expectJson(await agentCall(s, s.apiKey, '/environment'), 401, E.unauthorized);
    expectJson(await readSecret(s, s.apiKey, 'K'), 401, E.unauthorized);
    for (const bad of [null, 'vgat_not-a-real-token', `${token}x`]) {
      expectJson(await agentCall(s, bad, '/environment'), 401, E.unauthorized);
      expectJson(await agentCall(s, bad, '/secrets/K'), 401, E.unauthorized);
    }
    // The operator API still works with its key, the agent API with the token.
    expect((await s.call('GET', '/vaults')).status).toBe(200);
    expect((await agentCall(s, token, '/environment')).status).toBe(200);
    expect((await s.call('GET', '/vaults?limit=1000')).json.map((v: any) => v.name)).toEqual(['v']);
  });
});
