// Rate limits (SPEC §10) through the real proxy: per (secret, agent), counted only on requests that
// carry the secret; beyond the limit 429 `rate_limited` with Retry-After, audited as `proxy.blocked`
// / `rate_limited`, and nothing sent. Runs on SQLite and, in the postgres project, on PostgreSQL
// (where the count is one row per secret and agent): nothing here assumes either backend.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ok } from '../agents/helpers.js';
import { leaks, sleep } from '../helpers/kit.js';
import { testBackend } from '../helpers/server.js';
import { agentWith, header, send, startWorld, type AgentFx, type World } from './helpers.js';

const VALUE = 'sk_live_RATE_limited_5d8e0c1b2a';
const OTHER = 'sk_live_RATE_unlimited_9a8b7c6d';
const perMinute3 = { requests: 3, per: 'minute' };

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(() => w.close());
beforeEach(() => w.up.reset());

/**
 * Windows are fixed and aligned to the minute: a test that needs its requests in one window starts
 * at least `seconds` before the window ends (waiting for the next one otherwise).
 */
async function roomInWindow(seconds = 10): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < seconds * 1000) await sleep(left + 250);
}

interface Fx extends AgentFx { ph: AgentFx['ph'] & { LIMITED: string; OTHER: string } }
/** A fresh agent (own vault, own counter) holding LIMITED (3 a minute) and OTHER (no limit), both for api.stripe.com. */
async function limitedAgent(): Promise<Fx> {
  const fx = await agentWith(w.s, [
    { key: 'LIMITED', value: VALUE, allowed_domains: ['api.stripe.com'], rate_limit: perMinute3 },
    { key: 'OTHER', value: OTHER, allowed_domains: ['api.stripe.com'] },
  ]);
  return fx as Fx;
}

const withLimited = (fx: Fx, path: string) => send(w.s, fx, { path, headers: { Authorization: `Bearer ${fx.ph.LIMITED}` } });

interface AuditEvent { agent_id: string; secret_id: string | null; reason: string; details: Record<string, unknown> }
const eventsOf = async (type: string, agentId: string) => ((await ok(w.s.call('GET', `/audit?type=${type}&limit=1000`), 200)) as AuditEvent[]).filter((e) => e.agent_id === agentId);

describe(`rate_limit {requests: 3, per: minute} (${testBackend})`, () => {
  it('3 requests injected, the 4th → 429 rate_limited with Retry-After 1..60, audited, nothing sent', async () => {
    await roomInWindow();
    const fx = await limitedAgent();
    for (let i = 1; i <= 3; i++) {
      const r = await withLimited(fx, `/v1/n/${i}`);
      expect(r.status, r.text).toBe(200);
    }
    expect(w.up.requests.map((q) => [q.url, header(q, 'authorization')])).toEqual([1, 2, 3].map((i) => [`/v1/n/${i}`, `Bearer ${VALUE}`]));
    w.up.reset();
    const before = Date.now();
    const r = await withLimited(fx, '/v1/n/4');
    expect(r.status, r.text).toBe(429);
    expect(r.json).toEqual({ error: 'request blocked: rate limit of this secret reached', code: 'rate_limited' });
    const retryAfter = String(r.headers['retry-after']);
    expect(retryAfter).toMatch(/^[1-9][0-9]?$/);
    const seconds = Number(retryAfter);
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThanOrEqual(60);
    // Whole seconds until the minute window ends, rounded up (the server's clock read a moment after ours).
    const untilEnd = Math.max(1, Math.ceil((60_000 - (before % 60_000)) / 1000));
    expect([untilEnd - 1, untilEnd]).toContain(seconds);
    expect(w.up.requests).toHaveLength(0);
    expect(w.up.received).toHaveLength(0);

    const blocks = await eventsOf('proxy.blocked', fx.id);
    expect(blocks).toHaveLength(1);
    expect([blocks[0]!.reason, blocks[0]!.secret_id, blocks[0]!.details.host, blocks[0]!.details.detail]).toEqual(['rate_limited', fx.ids.LIMITED, 'api.stripe.com', 'rate limit of this secret reached']);
    // Only the three sent requests put an injection on record.
    expect((await eventsOf('proxy.injected', fx.id)).filter((e) => e.secret_id === fx.ids.LIMITED)).toHaveLength(3);

    // Still refused while the window lasts; the other secret of the same agent is not limited.
    expect((await withLimited(fx, '/v1/n/5')).status).toBe(429);
    const other = await send(w.s, fx, { path: '/v1/other', headers: { Authorization: `Bearer ${fx.ph.OTHER}` } });
    expect(other.status, other.text).toBe(200);
    expect(w.up.requests.map((q) => [q.url, header(q, 'authorization')])).toEqual([['/v1/other', `Bearer ${OTHER}`]]);
    // A request carrying both is refused as a whole: the unlimited value is not sent either.
    w.up.reset();
    const both = await send(w.s, fx, { path: '/v1/both', headers: [['Authorization', `Bearer ${fx.ph.LIMITED}`], ['X-Other', fx.ph.OTHER]] });
    expect(both.status).toBe(429);
    expect(w.up.received).toHaveLength(0);
  }, 60_000);

  it('another agent holding the same secret has its own count', async () => {
    await roomInWindow();
    const first = await limitedAgent();
    // A second agent attached to the same vault: same secret, another placeholder, another counter.
    const second = (await agentWith(w.s, [], [first.vaultId])) as Fx;
    expect(second.ph.LIMITED).not.toBe(first.ph.LIMITED);
    for (let i = 0; i < 3; i++) expect((await withLimited(first, '/v1/a')).status).toBe(200);
    expect((await withLimited(first, '/v1/a')).status).toBe(429);
    for (let i = 0; i < 3; i++) {
      const r = await withLimited(second, '/v1/b');
      expect(r.status, r.text).toBe(200);
    }
    expect((await withLimited(second, '/v1/b')).status).toBe(429);
    expect(w.up.requests.map((q) => [q.url, header(q, 'authorization')])).toEqual([...Array(3).fill(['/v1/a', `Bearer ${VALUE}`]), ...Array(3).fill(['/v1/b', `Bearer ${VALUE}`])]);
    expect((await eventsOf('proxy.blocked', second.id)).map((e) => [e.reason, e.secret_id])).toEqual([['rate_limited', first.ids.LIMITED]]);
  }, 60_000);

  it('requests that carry no placeholder of the secret are not counted', async () => {
    await roomInWindow();
    const fx = await limitedAgent();
    for (let i = 0; i < 5; i++) expect((await send(w.s, fx, { path: '/v1/plain', headers: { 'X-Plain': String(i) } })).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await send(w.s, fx, { path: '/v1/other', headers: { Authorization: `Bearer ${fx.ph.OTHER}` } })).status).toBe(200);
    // A request refused for another reason (the placeholder bound for a host it may not go to) takes no slot either.
    expect((await send(w.s, fx, { authority: 'evil.com:443', path: '/steal', headers: { Authorization: `Bearer ${fx.ph.LIMITED}` } })).status).toBe(403);
    for (let i = 0; i < 3; i++) {
      const r = await withLimited(fx, '/v1/limited');
      expect(r.status, r.text).toBe(200);
    }
    expect((await withLimited(fx, '/v1/limited')).status).toBe(429);
    expect(w.up.requests.filter((q) => header(q, 'authorization') === `Bearer ${VALUE}`)).toHaveLength(3);
  }, 60_000);

  it('PATCHing the limit higher lets requests through at once; null lifts it; another period counts afresh', async () => {
    await roomInWindow();
    const fx = await limitedAgent();
    for (let i = 0; i < 3; i++) expect((await withLimited(fx, '/v1/p')).status).toBe(200);
    expect((await withLimited(fx, '/v1/p')).status).toBe(429);
    const patch = (rate_limit: unknown) => ok(w.s.call('PATCH', `/vaults/${fx.vaultId}/secrets/${fx.ids.LIMITED}`, { body: { rate_limit } }), 200);
    const patched = await patch({ requests: 5, per: 'minute' });
    expect(patched.rate_limit).toEqual({ requests: 5, per: 'minute' });
    w.up.reset();
    for (let i = 0; i < 2; i++) {
      const r = await withLimited(fx, '/v1/p');
      expect(r.status, r.text).toBe(200);
    }
    expect(w.up.requests).toHaveLength(2);
    expect((await withLimited(fx, '/v1/p')).status).toBe(429);
    await patch(null);
    const r = await withLimited(fx, '/v1/p');
    expect(r.status, r.text).toBe(200);
    await patch({ requests: 1, per: 'hour' });
    // A new period starts a new counter: one request this hour, then refused with up to an hour to wait.
    expect((await withLimited(fx, '/v1/p')).status).toBe(200);
    const refused = await withLimited(fx, '/v1/p');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(3600);
  }, 60_000);

  it('a request refused by one secret\'s limit takes no slot of another secret it carries', async () => {
    await roomInWindow();
    const fx = (await agentWith(w.s, [
      { key: 'A', value: 'value-of-A-3f1e', allowed_domains: ['api.stripe.com'], rate_limit: { requests: 2, per: 'minute' } },
      { key: 'B', value: 'value-of-B-8c2d', allowed_domains: ['api.stripe.com'], rate_limit: { requests: 2, per: 'minute' } },
    ])) as AgentFx & { ph: Record<'A' | 'B', string> };
    const withA = () => send(w.s, fx, { path: '/v1/a', headers: { 'X-A': fx.ph.A } });
    for (let i = 0; i < 2; i++) expect((await send(w.s, fx, { path: '/v1/b', headers: { 'X-B': fx.ph.B } })).status).toBe(200);
    // B is spent: a request carrying A and B is refused, and sends nothing.
    w.up.reset();
    for (const order of [[['X-A', fx.ph.A], ['X-B', fx.ph.B]], [['X-B', fx.ph.B], ['X-A', fx.ph.A]]] as [string, string][][]) {
      expect((await send(w.s, fx, { path: '/v1/ab', headers: order })).status).toBe(429);
    }
    expect(w.up.requests).toHaveLength(0);
    // A's two slots are still free.
    for (let i = 0; i < 2; i++) {
      const r = await withA();
      expect(r.status, r.text).toBe(200);
    }
    expect((await withA()).status).toBe(429);
  }, 60_000);

  it('per second: the next window admits again after Retry-After', async () => {
    const fx = await limitedAgent();
    await ok(w.s.call('PATCH', `/vaults/${fx.vaultId}/secrets/${fx.ids.LIMITED}`, { body: { rate_limit: { requests: 1, per: 'second' } } }), 200);
    // Start right after a second boundary, so both requests fall in one window.
    await sleep(1000 - (Date.now() % 1000) + 20);
    expect((await withLimited(fx, '/v1/s')).status).toBe(200);
    const refused = await withLimited(fx, '/v1/s');
    expect([refused.status, refused.headers['retry-after']]).toEqual([429, '1']);
    await sleep(Number(refused.headers['retry-after']) * 1000);
    expect((await withLimited(fx, '/v1/s')).status).toBe(200);
  });

  it('no value in the server log or the audit log', async () => {
    const audit = JSON.stringify(await ok(w.s.call('GET', '/audit?limit=1000'), 200));
    for (const v of [VALUE, OTHER]) {
      expect(leaks('server log', w.s.logs.join(''), v)).toEqual([]);
      expect(leaks('audit', audit, v)).toEqual([]);
    }
  });
});
