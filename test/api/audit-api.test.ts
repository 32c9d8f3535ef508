// Black-box tests of GET /audit and /audit/verify: every mutation's exact event, filters, chain verification.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { allEvents, auditKeyOrder, canary, expectJson, hex64, idOf, invalid, isoMs } from './helpers.js';

let s: TestServer;
let orgId: string;
let keyId: string;
const values: string[] = [];
/** What each mutation must have produced, in order, minus the chain-generated fields. */
const expected: Record<string, unknown>[] = [];

/** Sends one request; `event` builds the audit event it must have produced (null: none). */
async function mutate(method: string, path: string, body: unknown, status: number, event: ((json: any) => Record<string, unknown>) | null) {
  const res = await s.call(method, path, body === undefined ? {} : { body });
  expect(res.status, res.text).toBe(status);
  if (event) expected.push({ request_id: res.headers.get('x-request-id'), ...event(res.json) });
  return res.json;
}

const ev = (type: string, vault_id: string | null, secret_id: string | null, details: Record<string, unknown>, outcome = 'success', reason: string | null = null) => ({
  type,
  vault_id,
  secret_id,
  details,
  outcome,
  reason,
});

beforeAll(async () => {
  s = await startTestServer();
  const boot = await allEvents(s);
  orgId = boot[0].org_id;
  keyId = boot[1].target_id;
  values.push(canary('a'), canary('b'), canary('c'));

  const v = await mutate('POST', '/vaults', { name: 'ops' }, 201, (j) => ev('vault.created', j.id, null, { name: 'ops' }));
  await mutate('PATCH', `/vaults/${v.id}`, { name: 'ops2' }, 200, () => ev('vault.updated', v.id, null, { changed: ['name'] }));
  await mutate('PATCH', `/vaults/${v.id}`, {}, 200, null);
  const created = (j: any) => ev('secret.created', v.id, j.id, { env_key: j.env_key, version: 1, allowed_domains: j.allowed_domains, revealable: j.revealable, type: j.type });
  const sec = await mutate('POST', `/vaults/${v.id}/secrets`, { env_key: 'K', value: values[0], allowed_domains: ['a.example.com'], revealable: true }, 201, created);
  await mutate('PATCH', `/secrets/${sec.id}`, { value: values[1] }, 200, () => ev('secret.updated', v.id, sec.id, { env_key: 'K', version: 2, changed: ['value'] }));
  await mutate('PATCH', `/secrets/${sec.id}`, { value: values[1] }, 200, null);
  await mutate('POST', `/secrets/${sec.id}/reveal`, undefined, 200, () => ev('secret.revealed', v.id, sec.id, { env_key: 'K', version: 2 }));
  const hidden = await mutate('POST', `/vaults/${v.id}/secrets`, { env_key: 'H', value: values[2] }, 201, created);
  await mutate('POST', `/secrets/${hidden.id}/reveal`, undefined, 403, () => ev('secret.revealed', v.id, hidden.id, {}, 'denied', 'secret is not revealable'));
  await mutate('DELETE', `/secrets/${hidden.id}`, undefined, 204, () => ev('secret.deleted', v.id, hidden.id, { env_key: 'H', version: 1 }));
  // Deleting a vault records each secret that goes with it, then the vault.
  await mutate('DELETE', `/vaults/${v.id}`, undefined, 204, () => ev('secret.deleted', v.id, sec.id, { env_key: 'K' }, 'success', 'vault deleted'));
  expected.push({ request_id: expected[expected.length - 1]!.request_id, ...ev('vault.deleted', v.id, null, { name: 'ops2', secrets_deleted: 1 }) });
  // Failed writes leave no trace.
  await mutate('POST', '/vaults', { name: '' }, 400, null);
  await mutate('PATCH', `/secrets/${sec.id}`, { value: 'x' }, 404, null);
});
afterAll(async () => {
  await s.close();
});

describe('GET /audit', () => {
  it('holds exactly one event per effective mutation, with every documented field', async () => {
    const events = (await allEvents(s)).slice(2);
    expect(events.length).toBe(expected.length);
    let prev = (await allEvents(s))[1].hash;
    for (const [i, e] of events.entries()) {
      expect(Object.keys(e)).toEqual(auditKeyOrder);
      expect(e.id).toMatch(idOf('evt'));
      expect(e.time).toMatch(isoMs);
      expect(e.hash).toMatch(hex64);
      const want: any = expected[i];
      expect(e).toEqual({
        id: e.id,
        seq: i + 3,
        type: want.type,
        time: e.time,
        org_id: orgId,
        actor: keyId,
        vault_id: want.vault_id,
        secret_id: want.secret_id,
        agent_id: null,
        target_id: null,
        request_id: want.request_id,
        source_ip: '127.0.0.1',
        outcome: want.outcome,
        reason: want.reason,
        details: want.details,
        prev_hash: prev,
        hash: e.hash,
      });
      expect(e.request_id).toMatch(idOf('req'));
      prev = e.hash;
    }
    // One request per event, except the vault deletion that also records its secret.
    expect(new Set(events.map((e) => e.request_id)).size).toBe(events.length - 1);
  });

  it('never contains a value', async () => {
    const text = JSON.stringify(await allEvents(s));
    for (const v of values) expect(text).not.toContain(v);
  });

  it('filters by type, a type prefix, actor, secret_id and after', async () => {
    const all = await allEvents(s);
    const q = async (query: string) => {
      const res = await s.call('GET', `/audit?${query}`);
      expect(res.status, res.text).toBe(200);
      return res.json;
    };
    expect(await q('type=secret.revealed')).toEqual(all.filter((e) => e.type === 'secret.revealed'));
    expect(await q('type=secret.*')).toEqual(all.filter((e) => e.type.startsWith('secret.')));
    expect(await q(`actor=${keyId}`)).toEqual(all.slice(2));
    expect(await q('actor=admin')).toEqual(all.slice(0, 2));
    const secretId = all.find((e) => e.type === 'secret.deleted').secret_id;
    expect(await q(`secret_id=${secretId}`)).toEqual(all.filter((e) => e.secret_id === secretId));
    expect(await q('after=5')).toEqual(all.slice(5));
    expect(await q(`after=${all.length}`)).toEqual([]);
    expect(await q(`type=secret.updated&secret_id=${secretId}`)).toEqual([]);
    expect(await q('type=nope.nothing')).toEqual([]);
  });

  it('links to the next page with the filters kept', async () => {
    const res = await s.call('GET', '/audit?type=secret.*&limit=2');
    expect(res.status).toBe(200);
    expect(res.headers.get('link')).toBe(`</api/public/v1/audit?type=secret.*&limit=2&after=${res.json[1].seq}>; rel="next"`);
  });

  it('refuses bad filters', async () => {
    expectJson(await s.call('GET', '/audit?after=x'), 400, invalid('after must be of type integer'));
    expectJson(await s.call('GET', `/audit?type=${'t'.repeat(101)}`), 400, invalid('type is invalid'));
  });
});

describe('GET /audit/verify', () => {
  it('answers ok with the event count and the head', async () => {
    const all = await allEvents(s);
    const last = all[all.length - 1];
    const res = await s.call('GET', '/audit/verify');
    expectJson(res, 200, { ok: true, events: all.length, head: last.hash, head_seq: last.seq });
    expect(res.json.head).toMatch(hex64);
  });

  it('accepts any hash of the chain as expected_head', async () => {
    const all = await allEvents(s);
    for (const e of [all[0], all[4], all[all.length - 1]]) {
      expectJson(await s.call('GET', `/audit/verify?expected_head=${e.hash}`), 200, { ok: true, events: all.length, head: all[all.length - 1].hash, head_seq: all.length });
    }
  });

  it('reports ok:false for a head that is not in the chain', async () => {
    const all = await allEvents(s);
    const res = await s.call('GET', `/audit/verify?expected_head=${randomBytes(32).toString('hex')}`);
    expectJson(res, 200, {
      ok: false,
      events: all.length,
      head: all[all.length - 1].hash,
      head_seq: all.length,
      broken_at: all.length + 1,
      reason: 'expected head not found: chain truncated or replaced',
    });
  });

  it('refuses an expected_head that is not 64 hex characters', async () => {
    expectJson(await s.call('GET', '/audit/verify?expected_head=abc'), 400, invalid('expected_head is invalid'));
  });
});
