// Tokens can be listed (never their values) so an operator can find one to revoke; /v1/vault lists create nothing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { agentWithToken, E, expectJson, idOf, isoMs, missingId, mintToken } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
});

it('GET /agents/{id}/tokens lists ids and times, never a token, revoked ones with their time', async () => {
  const { agent, token, tokenId } = await agentWithToken(s, { name: 'lister' });
  const second = await mintToken(s, agent.id);
  expect((await s.call('DELETE', `/agents/${agent.id}/tokens/${tokenId}`)).status).toBe(204);
  const res = await s.call('GET', `/agents/${agent.id}/tokens`);
  expect(res.status).toBe(200);
  expect(res.text).not.toContain(token);
  expect(res.text).not.toContain(second.token);
  expect(res.json.map((t: any) => [t.id, t.agent_id, t.revoked_at === null])).toEqual([
    [tokenId, agent.id, false],
    [second.id, agent.id, true],
  ]);
  for (const t of res.json) {
    expect(Object.keys(t)).toEqual(['id', 'agent_id', 'created_at', 'revoked_at']);
    expect(t.id).toMatch(idOf('atk'));
    expect(t.created_at).toMatch(isoMs);
  }
  expect(res.json[0].revoked_at).toMatch(isoMs);
  expectJson(await s.call('GET', `/agents/${missingId('agt')}/tokens`), 404, E.agent);
});

it('GET /v1/vault/secrets before any secret answers [] and creates no vault', async () => {
  const before = (await s.call('GET', '/vaults')).json.length;
  const res = await s.call('GET', `${s.url}/v1/vault/secrets`);
  expect([res.status, res.text]).toEqual([200, '[]']);
  expect((await s.call('GET', '/vaults')).json.length).toBe(before);
});
