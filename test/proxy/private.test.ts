// Without VAULTGATE_PROXY_ALLOW_PRIVATE: loopback, private, link-local and metadata destinations are refused
// (after the connect-to mapping and after DNS), with or without placeholders, and nothing is sent.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ok } from '../agents/helpers.js';
import { agentWith, readAll, send, sendPlain, startWorld, tunnel, type AgentFx, type World } from './helpers.js';

let w: World;
let fx: AgentFx;
const VALUE = 'private-dest-value-Pp09';
const forbidden = { error: 'destination address not allowed', code: 'destination_forbidden' };
beforeAll(async () => {
  w = await startWorld({ allowPrivate: false });
  fx = await agentWith(w.s, [{ key: 'K', value: VALUE, allowed_domains: ['api.stripe.com'] }]);
});
afterAll(() => w.close());
beforeEach(() => w.up.reset());

const nothing = () => {
  expect(w.up.requests).toHaveLength(0);
  expect(w.up.connections).toHaveLength(0);
};

describe('private destinations are refused', () => {
  it('an allowed host mapped to 127.0.0.1: 403 destination_forbidden, the value is not sent and no injection is audited', async () => {
    const before = (await ok(w.s.call('GET', '/audit?type=proxy.injected'), 200)).length;
    for (const headers of [{ Authorization: `Bearer ${fx.ph.K}` }, { 'X-Plain': '1' }] as Record<string, string>[]) {
      const r = await send(w.s, fx, { headers });
      expect(r.status, r.text).toBe(403);
      expect(r.json).toEqual(forbidden);
    }
    nothing();
    expect((await ok(w.s.call('GET', '/audit?type=proxy.injected'), 200)).length).toBe(before);
    const blocked = (await ok(w.s.call('GET', '/audit?type=proxy.blocked'), 200)).at(-1);
    expect([blocked.agent_id, blocked.reason, blocked.details.host]).toEqual([fx.id, 'destination address not allowed', 'api.stripe.com']);
  });

  it('IP literals and names resolving to loopback, private, link-local or metadata addresses', async () => {
    const port = w.up.port;
    const targets = [
      `127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `2130706433:${port}`, `127.1:${port}`, `0x7f.1:${port}`, `0.0.0.0:${port}`,
      `[::ffff:127.0.0.1]:${port}`, `[::ffff:7f00:1]:${port}`, '10.0.0.1:443', '192.168.1.1:443', '172.16.0.1:443', '169.254.169.254:443', '100.100.100.200:443', '[fd00::1]:443', '[fe80::1]:443',
    ];
    for (const authority of targets) {
      const r = await send(w.s, fx, { authority, headers: { Host: authority.replace(/:443$/, ''), 'X-Probe': authority } });
      expect([authority, r.status, r.json], r.text).toEqual([authority, 403, forbidden]);
    }
    nothing();
  });

  it('a name resolving to a forbidden address: one 403 with Connection: close, nothing pipelined behind it answered', async () => {
    const sock = await tunnel(w.s, fx, `localhost:${w.up.port}`);
    sock.write(`GET /a HTTP/1.1\r\nHost: localhost:${w.up.port}\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost:${w.up.port}\r\n\r\n`);
    const out = await readAll(sock, 1500);
    sock.destroy();
    expect([...out.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]), out).toEqual(['403']);
    expect(out).toMatch(/\r\nconnection: close\r\n/i);
    nothing();
  });

  it('plain http to loopback or the metadata address', async () => {
    for (const url of [`http://127.0.0.1:${w.up.httpPort}/x`, `http://localhost:${w.up.httpPort}/x`, 'http://169.254.169.254/latest/meta-data/', `http://[::1]:${w.up.httpPort}/`]) {
      const r = await sendPlain(w.s, fx.auth, url);
      expect([url, r.status, r.json]).toEqual([url, 403, forbidden]);
    }
    expect(w.up.requests).toHaveLength(0);
  });
});
