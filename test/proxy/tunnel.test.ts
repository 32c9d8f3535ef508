// CONNECT/SNI/Host disagreement, pipelining and request-smuggling framings inside an intercepted tunnel.
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/server.js';
import { agentWith, allUpstreamBytes, connect, raw, send, tlsTo, tunnel, readAll, startWorld, type AgentFx, type World } from './helpers.js';

let w: World;
let fx: AgentFx;
const VALUE = 'tunnel-secret-Qw12/+=';
beforeAll(async () => {
  w = await startWorld();
  fx = await agentWith(w.s, [{ key: 'K', value: VALUE, allowed_domains: ['api.stripe.com'], inject_in: ['header', 'body'] }]);
});
afterAll(() => w.close());
beforeEach(() => w.up.reset());

/** Lets a request the proxy might still forward arrive before asserting that none did. */
const settle = () => new Promise((r) => setTimeout(r, 100));
const statuses = (out: string) => [...out.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
const nothingSent = () => {
  expect(w.up.requests).toHaveLength(0);
  expect(allUpstreamBytes(w.up)).not.toContain(VALUE);
};
const get = (host: string, extra = '') => `GET /x HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${fx.ph.K}\r\n${extra}\r\n`;

describe('CONNECT, SNI and Host must agree', () => {
  it('SNI naming another host: the handshake is refused', async () => {
    for (const sni of ['evil.com', 'api.stripe.com.evil.com', 'stripe.com']) {
      await expect(tunnel(w.s, fx, 'api.stripe.com:443', sni)).rejects.toThrow();
    }
    nothingSent();
  });

  it('SNI with the same name in another case or with a trailing dot is accepted', async () => {
    for (const sni of ['API.Stripe.Com', 'api.stripe.com.']) {
      const sock = await tunnel(w.s, fx, 'api.stripe.com:443', sni);
      sock.write(get('api.stripe.com', 'Connection: close\r\n'));
      expect(statuses(await readAll(sock, 1000))).toEqual([200]);
    }
    expect(w.up.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${VALUE}`, `Bearer ${VALUE}`]);
  });

  for (const host of ['evil.com', 'api.stripe.com.evil.com', 'api.stripe.com:8443', 'api.stripe.com:80', 'files.stripe.com', '127.0.0.1', 'api.stripe.com@evil.com', 'api.stripe.com..']) {
    it(`Host: ${host} inside an api.stripe.com tunnel → 403, with or without a placeholder`, async () => {
      const out = await raw(w.s, fx, 'api.stripe.com:443', get(host));
      expect(statuses(out)).toEqual([403]);
      expect(out).toContain('"code":"proxy_blocked"');
      const plain = await raw(w.s, fx, 'api.stripe.com:443', `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      expect(statuses(plain)[0]).toBeGreaterThanOrEqual(400);
      nothingSent();
    });
  }

  it('absolute-form targets naming another host or scheme are refused; the same host is accepted', async () => {
    for (const target of ['https://evil.com/x', 'http://api.stripe.com/x', 'https://api.stripe.com:8443/x', 'https://api.stripe.com@evil.com/x', 'https://evil.com\\@api.stripe.com/x', '*']) {
      const out = await raw(w.s, fx, 'api.stripe.com:443', `GET ${target} HTTP/1.1\r\nHost: api.stripe.com\r\nAuthorization: Bearer ${fx.ph.K}\r\n\r\n`);
      expect(statuses(out)[0], target).toBeGreaterThanOrEqual(400);
      expect(statuses(out)[0], target).toBeLessThan(500);
    }
    nothingSent();
    const ok = await raw(w.s, fx, 'api.stripe.com:443', `GET https://API.stripe.com/v1/x?y=1 HTTP/1.1\r\nHost: api.stripe.com\r\nAuthorization: Bearer ${fx.ph.K}\r\nConnection: close\r\n\r\n`);
    expect(statuses(ok)).toEqual([200]);
    expect(w.up.requests.map((r) => [r.url, r.headers.authorization])).toEqual([['/v1/x?y=1', `Bearer ${VALUE}`]]);
  });

  it('duplicate or missing Host is refused', async () => {
    for (const hosts of ['Host: api.stripe.com\r\nHost: api.stripe.com\r\n', 'Host: api.stripe.com\r\nHost: evil.com\r\n', 'Host: evil.com\r\nHost: api.stripe.com\r\n', '']) {
      const out = await raw(w.s, fx, 'api.stripe.com:443', `GET / HTTP/1.1\r\n${hosts}Authorization: Bearer ${fx.ph.K}\r\n\r\n`);
      expect([400, 403]).toContain(statuses(out)[0]);
    }
    nothingSent();
  });

  it('pipelined requests: the one that changes Host is refused and nothing of it (or after it) is sent', async () => {
    const out = await raw(w.s, fx, 'api.stripe.com:443', get('api.stripe.com') + get('evil.com') + get('api.stripe.com'));
    expect(statuses(out)).toEqual([200, 403]);
    await settle();
    expect(w.up.requests).toHaveLength(1);
    expect(w.up.requests[0]!.headers.host).toBe('api.stripe.com');
  });

  it('keep-alive: a later request on the same tunnel naming another host is refused', async () => {
    const sock = await tunnel(w.s, fx, 'api.stripe.com:443');
    sock.write(get('api.stripe.com'));
    const first = await readAll(sock, 400);
    expect(statuses(first)).toEqual([200]);
    sock.write(`POST /x HTTP/1.1\r\nHost: evil.com\r\nContent-Length: 45\r\n\r\n${fx.ph.K}`);
    expect(statuses(await readAll(sock, 1000))).toEqual([403]);
    sock.destroy();
    expect(w.up.requests).toHaveLength(1);
    expect(allUpstreamBytes(w.up)).not.toContain('evil.com');
  });
});

describe('request smuggling framings are refused and the upstream never sees a second request', () => {
  const smuggled = () => `GET /smuggled HTTP/1.1\r\nHost: api.stripe.com\r\nAuthorization: Bearer ${fx.ph.K}\r\n\r\n`;
  const cases: [string, string][] = [
    ['CL and TE', 'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['TE and CL', 'Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n'],
    ['TE gzip, chunked', 'Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'],
    ['TE chunked, chunked', 'Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n'],
    ['two TE headers', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n'],
    ['TE xchunked', 'Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n'],
    ['TE identity', 'Transfer-Encoding: identity\r\n\r\n'],
    ['TE with space before colon', 'Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n'],
    ['differing duplicate CL', 'Content-Length: 0\r\nContent-Length: 44\r\n\r\n'],
    ['CL list', 'Content-Length: 0, 44\r\n\r\n'],
    ['CL with sign', 'Content-Length: +0\r\n\r\n'],
    ['obs-fold', 'X-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n'],
    ['obs-fold TE', 'Transfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n'],
    ['bare LF line ends', 'Content-Length: 0\n\n'],
    ['bad chunk size', 'Transfer-Encoding: chunked\r\n\r\n0x0\r\n\r\n'],
    ['upgrade', 'Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n'],
  ];
  for (const [name, rest] of cases) {
    it(name, async () => {
      const out = await raw(w.s, fx, 'api.stripe.com:443', `POST /first HTTP/1.1\r\nHost: api.stripe.com\r\n${rest}${smuggled()}`, 2000);
      const codes = statuses(out);
      expect(codes.length, out).toBeGreaterThanOrEqual(1);
      expect([400, 403]).toContain(codes[0]);
      expect(codes.slice(1)).toEqual([]);
      await settle();
      expect(w.up.requests.map((r) => r.url)).toEqual([]);
      expect(allUpstreamBytes(w.up)).not.toContain('smuggled');
    });
  }

  it('control: a plain chunked body is forwarded once with a Content-Length', async () => {
    const out = await raw(w.s, fx, 'api.stripe.com:443', `POST /c HTTP/1.1\r\nHost: api.stripe.com\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nk=v\r\n2d\r\n${fx.ph.K}\r\n0\r\n\r\n`);
    expect(statuses(out)).toEqual([200]);
    expect(w.up.requests).toHaveLength(1);
    expect(w.up.requests[0]!.body.toString()).toBe(`k=v${VALUE}`);
    expect(w.up.requests[0]!.headers['content-length']).toBe(String(3 + Buffer.byteLength(VALUE)));
    expect(w.up.requests[0]!.headers['transfer-encoding']).toBeUndefined();
  });
});

describe('upstream connections', () => {
  it('a pooled upstream connection is never reused for another destination (SNI always equals Host)', async () => {
    for (let i = 0; i < 4; i++) {
      await send(w.s, fx, { authority: 'evil.com:443', headers: { 'X-I': String(i) } });
      await send(w.s, fx, { authority: 'api.stripe.com:443', headers: { Authorization: `Bearer ${fx.ph.K}` } });
    }
    expect(w.up.requests).toHaveLength(8);
    for (const r of w.up.requests) expect(r.sni).toBe(r.headers.host);
    const evilConnections = new Set(w.up.requests.filter((r) => r.sni === 'evil.com').map((r) => r.connection));
    expect(w.up.requests.filter((r) => evilConnections.has(r.connection) && r.headers.authorization !== undefined)).toEqual([]);
  });
});

describe('tunnel lifecycle', () => {
  it('plain HTTP bytes inside a CONNECT tunnel (no TLS) are never forwarded', async () => {
    const c = await connect(w.s, 'api.stripe.com:443', fx.auth);
    // The tunnel itself was granted: what refuses the bytes is the missing TLS, not the CONNECT.
    expect(c.status).toBe(200);
    c.socket.write(`GET /x HTTP/1.1\r\nHost: api.stripe.com\r\nAuthorization: Bearer ${fx.ph.K}\r\n\r\n`);
    const out = await readAll(c.socket, 1000);
    c.socket.destroy();
    expect(out).not.toMatch(/HTTP\/1\.1 200/);
    nothingSent();
  });

  it('a client that leaves mid-handshake does not keep the tunnel open (shutdown is not held)', async () => {
    const s = await startTestServer();
    const f = await agentWith(s, []);
    for (let i = 0; i < 3; i++) {
      const c = await connect(s, 'api.stripe.com:443', f.auth);
      const t = tlsTo(c.socket, f.ca, 'api.stripe.com');
      t.once('secureConnect', () => undefined).once('error', () => undefined);
      // Abort from the client side at different points of the handshake.
      if (i === 0) c.socket.destroy();
      else if (i === 1) c.socket.end(Buffer.from('160301', 'hex'));
      else await new Promise((r) => t.once('secureConnect', r)).then(() => t.destroy());
    }
    await new Promise((r) => setTimeout(r, 200));
    const closed = await Promise.race([s.close().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
    expect(closed, 'the proxy could not shut down: a tunnel stayed open').toBe(true);
  });

  it('unauthenticated bytes before CONNECT never reach the inner server', async () => {
    const { port } = new URL(w.s.server.proxyUrl) as unknown as { port: number };
    const sock = net.connect(Number(port), '127.0.0.1');
    sock.write(`GET /x HTTP/1.1\r\nHost: api.stripe.com\r\nAuthorization: Bearer ${fx.ph.K}\r\n\r\n`);
    const out = await readAll(sock, 1000);
    sock.destroy();
    expect(statuses(out)[0]).toBe(407);
    nothingSent();
  });
});
