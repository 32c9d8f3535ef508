// Cross-org isolation: every agent/attachment/token/grant/compat route answers another org's ids exactly
// as it answers a missing id; grants across orgs are impossible; agent tokens only see their own org.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrgViaCli, sleep, SseClient } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { agentCall, agentWithToken, allEvents, createSecret, createVault, E, expectJson, grant, missingId, ok, readSecret, type Res } from './helpers.js';

let s: TestServer;
let keyB: string;
const A: Record<string, any> = {};
const B: Record<string, any> = {};

beforeAll(async () => {
  s = await startTestServer();
  keyB = (await createOrgViaCli(s, 'org-b')).api_key;
  A.vault = await createVault(s, 'shared-name');
  A.secret = await createSecret(s, A.vault.id, 'A_SECRET', 'value-of-org-a');
  A.loose = await createSecret(s, (await createVault(s, 'loose')).id, 'A_LOOSE', 'loose-of-org-a');
  const a = await agentWithToken(s, { name: 'alpha', vault_ids: [A.vault.id] });
  Object.assign(A, { agent: a.agent, token: a.token, tokenId: a.tokenId });
  A.resource = (await ok(s.call('GET', `/agents/${a.agent.id}/resources`), 200))[0];
  A.grant = await grant(s, a.agent.id, A.loose.id);
  A.compat = await ok(s.call('POST', `${s.url}/v1/vault/secrets`, { body: { name: 'A_COMPAT', value: 'compat-of-org-a' } }), 201);

  B.vault = await createVault(s, 'shared-name', keyB);
  B.secret = await createSecret(s, B.vault.id, 'B_SECRET', 'value-of-org-b', {}, keyB);
  const b = await agentWithToken(s, { name: 'beta', vault_ids: [B.vault.id] }, keyB);
  Object.assign(B, { agent: b.agent, token: b.token });
});
afterAll(async () => {
  await s.close();
});

/** The request with another org's id and the same request with a missing id answer the same 404. */
async function same(cross: Promise<Res>, missing: Promise<Res>, body: unknown): Promise<void> {
  const [c, m] = await Promise.all([cross, missing]);
  expectJson(c, 404, body);
  expect({ status: c.status, text: c.text, type: c.headers.get('content-type') }).toEqual({ status: m.status, text: m.text, type: m.headers.get('content-type') });
}

describe('cross-org ids answer like missing ids', () => {
  it('on every agent, attachment and token route', async () => {
    const before = await allEvents(s);
    const b = (method: string, path: string, body?: unknown) => s.call(method, path, { key: keyB, ...(body === undefined ? {} : { body }) });
    const mAgt = missingId('agt');
    const a = A.agent.id;
    const cases: [Promise<Res>, Promise<Res>, unknown][] = [
      [b('GET', `/agents/${a}`), b('GET', `/agents/${mAgt}`), E.agent],
      [b('PATCH', `/agents/${a}`, { env: { X: '1' } }), b('PATCH', `/agents/${mAgt}`, { env: { X: '1' } }), E.agent],
      [b('POST', `/agents/${a}/deploy`), b('POST', `/agents/${mAgt}/deploy`), E.agent],
      [b('POST', `/agents/${a}/stop`), b('POST', `/agents/${mAgt}/stop`), E.agent],
      [b('POST', `/agents/${a}/vaults`, { vault_id: B.vault.id }), b('POST', `/agents/${mAgt}/vaults`, { vault_id: B.vault.id }), E.agent],
      [b('POST', `/agents/${B.agent.id}/vaults`, { vault_id: A.vault.id }), b('POST', `/agents/${B.agent.id}/vaults`, { vault_id: missingId('vlt') }), E.vault],
      [b('DELETE', `/agents/${a}/vaults/${A.vault.id}`), b('DELETE', `/agents/${mAgt}/vaults/${A.vault.id}`), E.agent],
      [b('DELETE', `/agents/${B.agent.id}/vaults/${A.vault.id}`), b('DELETE', `/agents/${B.agent.id}/vaults/${missingId('vlt')}`), E.vault],
      [b('POST', `/agents/${a}/resources`, { entity_type: 'vault', entity_id: B.vault.id }), b('POST', `/agents/${mAgt}/resources`, { entity_type: 'vault', entity_id: B.vault.id }), E.agent],
      [b('POST', `/agents/${B.agent.id}/resources`, { entity_type: 'vault', entity_id: A.vault.id }), b('POST', `/agents/${B.agent.id}/resources`, { entity_type: 'vault', entity_id: missingId('vlt') }), E.vault],
      [b('GET', `/agents/${a}/resources`), b('GET', `/agents/${mAgt}/resources`), E.agent],
      [b('DELETE', `/agents/${a}/resources/${A.resource.id}`), b('DELETE', `/agents/${mAgt}/resources/${A.resource.id}`), E.agent],
      [b('DELETE', `/agents/${B.agent.id}/resources/${A.resource.id}`), b('DELETE', `/agents/${B.agent.id}/resources/${missingId('res')}`), E.resource],
      [b('POST', `/agents/${a}/tokens`), b('POST', `/agents/${mAgt}/tokens`), E.agent],
      [b('DELETE', `/agents/${a}/tokens/${A.tokenId}`), b('DELETE', `/agents/${mAgt}/tokens/${A.tokenId}`), E.agent],
      [b('DELETE', `/agents/${B.agent.id}/tokens/${A.tokenId}`), b('DELETE', `/agents/${B.agent.id}/tokens/${missingId('atk')}`), E.token],
      [b('DELETE', `/agents/${a}`), b('DELETE', `/agents/${mAgt}`), E.agent],
      // Org B's agents cannot reference org A's secrets or vaults.
      [b('POST', '/agents', { name: 'x1', env_vars: [{ name: 'G', from_secret_id: A.secret.id }] }), b('POST', '/agents', { name: 'y1', env_vars: [{ name: 'G', from_secret_id: missingId('sec') }] }), E.secret],
      [b('POST', '/agents', { name: 'x2', vault_ids: [A.vault.id] }), b('POST', '/agents', { name: 'y2', vault_ids: [missingId('vlt')] }), E.vault],
      [b('PATCH', `/agents/${B.agent.id}`, { env_vars: [{ name: 'G', from_secret_id: A.secret.id }] }), b('PATCH', `/agents/${B.agent.id}`, { env_vars: [{ name: 'G', from_secret_id: missingId('sec') }] }), E.secret],
    ];
    for (const [cross, missing, body] of cases) await same(cross, missing, body);
    // B's agent list does not show A's agent; nothing of A changed or was audited in A's org.
    expect((await ok(b('GET', '/agents'), 200)).map((x: any) => x.id)).toEqual([B.agent.id]);
    expectJson(await s.call('GET', `/agents/${a}`), 200, A.agent);
    expect(await allEvents(s)).toEqual(before);
    expectJson(await readSecret(s, A.token, 'A_SECRET'), 200, { value: 'value-of-org-a' });
  });

  it('on grants and the compatibility API; a grant across orgs is 404 from either side', async () => {
    const b = (method: string, path: string, body?: unknown) => s.call(method, path, { key: keyB, ...(body === undefined ? {} : { body }) });
    const mSec = missingId('sec');
    await same(b('POST', '/grants', { agent_id: A.agent.id, secret_id: B.secret.id }), b('POST', '/grants', { agent_id: missingId('agt'), secret_id: B.secret.id }), E.agent);
    await same(b('POST', '/grants', { agent_id: B.agent.id, secret_id: A.secret.id }), b('POST', '/grants', { agent_id: B.agent.id, secret_id: mSec }), E.secret);
    // Org A's own key cannot link its agent to org B's secret either.
    await same(s.call('POST', '/grants', { body: { agent_id: A.agent.id, secret_id: B.secret.id } }), s.call('POST', '/grants', { body: { agent_id: A.agent.id, secret_id: mSec } }), E.secret);
    await same(b('DELETE', `/grants/${A.grant.grant_id}`), b('DELETE', `/grants/${missingId('grt')}`), E.grant);
    const listCross = await b('GET', `/grants?agent_id=${A.agent.id}`);
    expectJson(listCross, 200, []);
    expect(listCross.text).toBe((await b('GET', `/grants?agent_id=${missingId('agt')}`)).text);
    expectJson(await b('GET', '/grants'), 200, []);

    const compat = `${s.url}/v1/vault`;
    await same(b('DELETE', `${compat}/secrets/${A.compat.id}`), b('DELETE', `${compat}/secrets/${mSec}`), E.secret);
    await same(b('POST', `${compat}/grants`, { agent_id: 'alpha', secret_id: B.secret.id }), b('POST', `${compat}/grants`, { agent_id: 'nobody', secret_id: B.secret.id }), E.agent);
    await same(b('POST', `${compat}/grants`, { agent_id: A.agent.id, secret_id: B.secret.id }), b('POST', `${compat}/grants`, { agent_id: missingId('agt'), secret_id: B.secret.id }), E.agent);
    await same(b('POST', `${compat}/grants`, { agent_id: 'beta', secret_id: A.compat.id }), b('POST', `${compat}/grants`, { agent_id: 'beta', secret_id: mSec }), E.secret);
    expect((await ok(b('GET', `${compat}/secrets`), 200)).map((x: any) => x.id)).not.toContain(A.compat.id);

    // Org A's grant and compat secret are untouched.
    expectJson(await s.call('GET', `/grants?agent_id=${A.agent.id}`), 200, [A.grant]);
    expect((await ok(s.call('GET', `${compat}/secrets`), 200)).map((x: any) => x.id)).toEqual([A.compat.id]);
  });

  it("an agent token of org B cannot read org A's secrets, and B's denials do not name them", async () => {
    const envB = await agentCall(s, B.token, '/environment');
    expect(envB.json.env).toEqual({ B_SECRET: 'value-of-org-b' });
    const aEventsBefore = await allEvents(s);
    for (const name of ['A_SECRET', 'A_LOOSE', 'A_COMPAT']) {
      const cross = await readSecret(s, B.token, name);
      const missing = await readSecret(s, B.token, 'NEVER_EXISTED');
      expect([cross.status, cross.text]).toEqual([403, missing.text]);
      expectJson(cross, 403, E.denied);
    }
    const denied = (await allEvents(s, keyB)).filter((e) => e.type === 'vault.denied');
    expect(denied.length).toBe(6);
    for (const e of denied) expect([e.agent_id, e.secret_id, e.vault_id, e.reason]).toEqual([B.agent.id, null, null, 'no_access']);
    expect(await allEvents(s)).toEqual(aEventsBefore);
  });

  it("each org's audit stream shows only its own denials", async () => {
    const streamA = await SseClient.open(s, '/audit/stream?type=vault.denied');
    const streamB = await SseClient.open(s, '/audit/stream?type=vault.denied', { authorization: `Bearer ${keyB}` });
    try {
      const lastA = (await allEvents(s)).at(-1).seq;
      expect((await readSecret(s, A.token, 'B_SECRET')).status).toBe(403);
      expect((await readSecret(s, B.token, 'A_SECRET')).status).toBe(403);
      await streamA.until(() => streamA.events().some((e) => e.seq > lastA));
      await streamB.until(() => streamB.events().some((e) => e.details.name === 'A_SECRET'));
      await sleep(100);
      expect(streamA.events().map((e) => e.agent_id)).toEqual([A.agent.id]);
      const orgA = (await allEvents(s))[0].org_id;
      const orgB = (await allEvents(s, keyB))[0].org_id;
      expect(orgA).not.toBe(orgB);
      expect(streamA.events()[0]).toMatchObject({ org_id: orgA, details: { name: 'B_SECRET' }, secret_id: null });
      expect(new Set(streamB.events().map((e) => [e.org_id, e.agent_id].join()))).toEqual(new Set([[orgB, B.agent.id].join()]));
    } finally {
      streamA.close();
      streamB.close();
    }
  });
});
