// The kill switch (SPEC §2): a stopped agent's environment, vault.read and proxy requests are refused from its next request on, audited.
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentWith, header, send, sendPlain, startWorld, tunnel, type AgentFx, type World } from '../proxy/helpers.js';
import { agentCall, createAgent, deploy, eventsOf, expectJson, mintToken, ok, readSecret } from './helpers.js';

const stopped = { error: 'agent is stopped', code: 'agent_stopped' };
const OPEN = 'open-value-kill-switch';
const STRIPE = 'sk_live_KILLSWITCH_0123456789';

let w: World;
let fx: AgentFx;
beforeAll(async () => {
  w = await startWorld();
  fx = await agentWith(w.s, [
    { key: 'K', value: OPEN },
    { key: 'STRIPE', value: STRIPE, allowed_domains: ['api.stripe.com'] },
  ]);
});
afterAll(() => w.close());
beforeEach(() => w.up.reset());

const stop = (id: string) => ok(w.s.call('POST', `/agents/${id}/stop`), 200);
const bearer = () => ({ headers: { Authorization: `Bearer ${fx.ph.STRIPE}` } });

/** One request on an open tunnel, keeping the tunnel (the proxy re-reads status per request). */
function onTunnel(sock: TLSSocket, extra = ''): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      const len = Number(/content-length: (\d+)/i.exec(buf)?.[1] ?? -1);
      const whole = len >= 0 ? buf.length >= end + 4 + len : buf.endsWith('0\r\n\r\n');
      if (end >= 0 && whole) {
        sock.off('data', onData);
        resolve(buf);
      }
    };
    sock.on('data', onData);
    sock.write(`GET /v1/charges HTTP/1.1\r\nHost: api.stripe.com\r\nAuthorization: Bearer ${fx.ph.STRIPE}\r\n${extra}\r\n`);
  });
}

describe('the kill switch', () => {
  it('a new agent is stopped: no environment and no vault.read until it is deployed', async () => {
    const a = await createAgent(w.s, { name: 'fresh', vault_ids: [fx.vaultId] });
    expect(a.status).toBe('stopped');
    const { token } = await mintToken(w.s, a.id);
    expectJson(await agentCall(w.s, token, '/environment'), 403, stopped);
    expectJson(await readSecret(w.s, token, 'K'), 403, stopped);
    await deploy(w.s, a.id);
    expect((await agentCall(w.s, token, '/environment')).json.env.K).toBe(OPEN);
    expectJson(await readSecret(w.s, token, 'K'), 200, { value: OPEN });
  });

  it('stop refuses environment, vault.read and every proxy request from the next request on, each audited; deploy restores all', async () => {
    // Deployed: all three work, and a tunnel opened now stays open across the stop.
    expect((await agentCall(w.s, fx.token, '/environment')).json.env.K).toBe(OPEN);
    expectJson(await readSecret(w.s, fx.token, 'K'), 200, { value: OPEN });
    const open = await tunnel(w.s, fx, 'api.stripe.com:443');
    expect(await onTunnel(open)).toMatch(/^HTTP\/1\.1 200 /);
    expect(header(w.up.requests[0]!, 'authorization')).toBe(`Bearer ${STRIPE}`);
    w.up.reset();
    const deniedBefore = (await eventsOf(w.s, 'vault.denied')).length;
    const blockedBefore = (await eventsOf(w.s, 'proxy.blocked')).length;

    await stop(fx.id);
    expectJson(await agentCall(w.s, fx.token, '/environment'), 403, stopped);
    expectJson(await readSecret(w.s, fx.token, 'K'), 403, stopped);
    // A placeholder, no placeholder at all, plain http, and the tunnel opened before the stop.
    const injected = await send(w.s, fx, { path: '/v1/charges', ...bearer() });
    expect([injected.status, injected.json]).toEqual([403, stopped]);
    const bare = await send(w.s, fx, { path: '/public' });
    expect([bare.status, bare.json]).toEqual([403, stopped]);
    const plain = await sendPlain(w.s, fx.auth, 'http://api.stripe.com/public');
    expect([plain.status, plain.json]).toEqual([403, stopped]);
    const later = await onTunnel(open);
    expect(later).toMatch(/^HTTP\/1\.1 403 /);
    expect(later.slice(later.indexOf('\r\n\r\n') + 4)).toBe(JSON.stringify(stopped));
    open.destroy();
    expect(w.up.requests).toEqual([]);

    const denied = (await eventsOf(w.s, 'vault.denied')).slice(deniedBefore);
    expect(denied.map((e) => [e.agent_id, e.outcome, e.reason, e.secret_id, e.details])).toEqual([
      [fx.id, 'denied', 'agent_stopped', null, { delivery: 'environment' }],
      [fx.id, 'denied', 'agent_stopped', null, { delivery: 'vault.read', name: 'K' }],
    ]);
    const blocked = (await eventsOf(w.s, 'proxy.blocked')).slice(blockedBefore);
    expect(blocked.map((e) => [e.agent_id, e.outcome, e.reason, e.details.host])).toEqual(
      ['api.stripe.com', 'api.stripe.com', 'api.stripe.com:80', 'api.stripe.com'].map((host) => [fx.id, 'denied', 'agent is stopped', host]),
    );
    expect(await eventsOf(w.s, 'proxy.injected')).toHaveLength(1);

    await deploy(w.s, fx.id);
    expect((await agentCall(w.s, fx.token, '/environment')).json.env.K).toBe(OPEN);
    expectJson(await readSecret(w.s, fx.token, 'K'), 200, { value: OPEN });
    const again = await send(w.s, fx, { path: '/v1/charges', ...bearer() });
    expect(again.status, again.text).toBe(200);
    expect(header(w.up.requests[0]!, 'authorization')).toBe(`Bearer ${STRIPE}`);
  });
});
