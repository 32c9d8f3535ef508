// Destinations: a placeholder in a CONNECT authority, an absolute URL or a Host is refused before any
// DNS lookup or dial (and never recorded); an IPv6 literal destination gets a bracketed Host upstream.
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/server.js';
import { eventsOf } from '../agents/helpers.js';
import { agentWith, blocked, connect, connectTo, header, makePki, raw, send, sendPlain, startUpstream, type AgentFx, type World } from './helpers.js';

/** A placeholder-shaped name the proxy is told to dial at `sensor`: any dial of it is counted. */
const FAKE = 'vgph_Ab3dEfGh1jKlMn0pQrStUvWxYz0123456789AbCd';
const reason = 'placeholder in the destination';
let w: World;
let fx: AgentFx;
let sensor: net.Server;
let dials = 0;
const lookups: string[] = [];
const originalLookup = dns.lookup;

beforeAll(async () => {
  sensor = net.createServer((sock) => {
    dials++;
    sock.destroy();
  });
  await new Promise<void>((r) => sensor.listen(0, '127.0.0.1', r));
  const sensorPort = (sensor.address() as net.AddressInfo).port;
  const pki = await makePki();
  const up = await startUpstream(pki);
  const extra = [
    `${FAKE.toLowerCase()}.evil.test:443=127.0.0.1:${sensorPort}`, `${FAKE.toLowerCase()}.evil.test:80=127.0.0.1:${sensorPort}`,
    `[2001:db8::1]:443=127.0.0.1:${up.port}`, `[2001:db8::1]:8443=127.0.0.1:${up.port}`, `[::1]:8080=127.0.0.1:${up.httpPort}`, `[::1]:80=127.0.0.1:${up.httpPort}`,
  ];
  const env = { VAULTGATE_PROXY_CONNECT_TO: [connectTo(up), ...extra].join(','), VAULTGATE_UPSTREAM_CA_FILE: pki.caFile, VAULTGATE_PROXY_ALLOW_PRIVATE: '1' };
  const s = await startTestServer({ env });
  w = { s, up, pki, close: async () => { await s.close(); await up.close(); } };
  fx = await agentWith(w.s, [{ key: 'K', value: 'destination-value-Dd41', allowed_domains: ['api.stripe.com'] }]);
  // Every name the proxy resolves, through the ESM bindings of node:dns too.
  dns.lookup = ((host: string, ...rest: unknown[]) => {
    lookups.push(host);
    return (originalLookup as (...a: unknown[]) => unknown)(host, ...rest);
  }) as typeof dns.lookup;
  syncBuiltinESMExports();
});
afterAll(async () => {
  dns.lookup = originalLookup;
  syncBuiltinESMExports();
  await w.close();
  await new Promise((r) => sensor.close(r));
});
beforeEach(() => {
  w.up.reset();
  dials = 0;
  lookups.length = 0;
});

/** Nothing left the proxy, and the refusal is audited without the placeholder. */
async function refusedAndAudited(host: string) {
  expect([dials, lookups.filter((h) => /vgph_/i.test(h)), w.up.connections, w.up.requests]).toEqual([0, [], [], []]);
  const last = (await eventsOf(w.s, 'proxy.blocked')).at(-1);
  expect([last.agent_id, last.reason, last.outcome, last.details.host]).toEqual([fx.id, reason, 'denied', host]);
  expect(JSON.stringify(last)).not.toMatch(/vgph_[0-9a-z]/i);
  expect(w.s.logs.join('')).not.toMatch(/vgph_[0-9a-z]/i);
}

describe('a placeholder in the destination is refused before any lookup or dial', () => {
  it('control: the DNS spy and the dial sensor see an ordinary destination', async () => {
    await send(w.s, fx, { authority: 'no-such-host.invalid:443' });
    expect(lookups).toContain('no-such-host.invalid');
    const c = new net.Socket().connect((sensor.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((r) => c.once('close', r).once('error', r));
    expect(dials).toBe(1);
  });

  const authorities = () => [
    [`${FAKE}.evil.test:443`, 'vgph_….evil.test'], [`${fx.ph.K}.evil.test:443`, 'vgph_….evil.test'], [`${fx.ph.K.toUpperCase()}.evil.test:8443`, 'vgph_….evil.test:8443'],
    [`x.${FAKE}.y.evil.test:443`, 'vgph_….y.evil.test'], ['vgph_.evil.test:443', 'vgph_….evil.test'], [`${FAKE}:443`, 'vgph_…'],
  ];
  it('CONNECT: 403 proxy_blocked with Connection: close, audited with the placeholder cut out', async () => {
    for (const [authority, host] of authorities()) {
      const c = await connect(w.s, authority!, fx.auth);
      c.socket.destroy();
      expect([authority, c.status, JSON.parse(c.body)]).toEqual([authority, 403, blocked(reason)]);
      expect(c.head).toMatch(/\r\nConnection: close(\r\n|$)/i);
      await refusedAndAudited(host!);
    }
  });

  it('absolute-form http:// on the proxy port: the same', async () => {
    for (const [url, host] of [[`http://${FAKE}.evil.test/x`, 'vgph_….evil.test:80'], [`http://${fx.ph.K}.evil.test:8080/`, 'vgph_….evil.test:8080']]) {
      const r = await sendPlain(w.s, fx.auth, url!);
      expect([r.status, r.json, r.headers.connection]).toEqual([403, blocked(reason), 'close']);
      await refusedAndAudited(host!);
    }
  });

  it('inside a tunnel: a Host or an absolute-form target naming one (not a mere Host mismatch)', async () => {
    const requests = [
      `GET / HTTP/1.1\r\nHost: ${FAKE}.evil.test\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: ${fx.ph.K.toLowerCase()}.api.stripe.com\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: api.stripe.com\r\nHost: ${FAKE}.evil.test\r\n\r\n`,
      `GET https://${FAKE}.evil.test/x HTTP/1.1\r\nHost: api.stripe.com\r\n\r\n`,
      `GET https://${FAKE}.evil.test/x HTTP/1.1\r\nHost: evil.com\r\n\r\n`,
    ];
    for (const request of requests) {
      const out = await raw(w.s, fx, 'api.stripe.com:443', request, 800);
      expect(out, request).toMatch(/^HTTP\/1\.1 403 /);
      expect(out).toMatch(/\r\nconnection: close\r\n/i);
      expect(out.slice(out.indexOf('\r\n\r\n') + 4)).toBe(JSON.stringify(blocked(reason)));
      await refusedAndAudited('api.stripe.com');
    }
  });

  it('a placeholder in the path of an absolute-form target is not a destination (it is substituted as usual)', async () => {
    const out = await raw(w.s, fx, 'api.stripe.com:443', `GET https://api.stripe.com/v1/${fx.ph.K} HTTP/1.1\r\nHost: api.stripe.com\r\nConnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 403 /);
    expect(out).toContain(JSON.stringify(blocked('secret may not be sent in the path')));
  });
});

describe('an IPv6 literal destination gets a bracketed Host upstream', () => {
  for (const [authority, expected] of [['[2001:db8::1]:443', '[2001:db8::1]'], ['[2001:DB8::1]:8443', '[2001:db8::1]:8443']]) {
    it(`CONNECT ${authority} → Host: ${expected}`, async () => {
      const r = await send(w.s, fx, { authority, path: '/v6', headers: { Host: expected! } });
      expect(r.status, r.text).toBe(200);
      expect(w.up.requests.map((q) => [q.url, header(q, 'host')])).toEqual([['/v6', expected]]);
    });
  }

  for (const [url, expected] of [['http://[::1]:8080/v6', '[::1]:8080'], ['http://[::1]/v6', '[::1]']]) {
    it(`absolute ${url} → Host: ${expected}`, async () => {
      const r = await sendPlain(w.s, fx.auth, url!);
      expect(r.status, r.text).toBe(200);
      expect(w.up.requests.map((q) => [q.url, header(q, 'host')])).toEqual([['/v6', expected]]);
    });
  }
});
