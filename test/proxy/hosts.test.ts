// Host attacks (look-alikes, apex, case, dots, IDN, IP literals, ports, authority tricks) and bad upstream certificates.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentWith, allUpstreamBytes, badNames, blocked, connect, header, send, startWorld, type AgentFx, type World } from './helpers.js';

let w: World;
let fx: AgentFx;
const V = { EXACT: 'exact-value-Zq81', WILD: 'wild-value-Kp02', IDN: 'idn-value-Lm93', BAD: 'bad-cert-value-Xy77' };
beforeAll(async () => {
  w = await startWorld();
  fx = await agentWith(w.s, [
    { key: 'EXACT', value: V.EXACT, allowed_domains: ['api.stripe.com'] },
    { key: 'WILD', value: V.WILD, allowed_domains: ['*.stripe.com'] },
    { key: 'IDN', value: V.IDN, allowed_domains: ['bücher.example'] },
    { key: 'BAD', value: V.BAD, allowed_domains: Object.values(badNames) },
  ]);
});
afterAll(() => w.close());
beforeEach(() => w.up.reset());

const noLeak = () => {
  const bytes = allUpstreamBytes(w.up);
  for (const v of Object.values(V)) expect(bytes).not.toContain(v);
};

describe('look-alike, apex and foreign hosts never get a value', () => {
  const cases: [string, 'EXACT' | 'WILD' | 'IDN'][] = [
    ['stripe.com', 'WILD'], ['stripe.com', 'EXACT'], ['evilstripe.com', 'WILD'], ['evilstripe.com', 'EXACT'],
    ['api.stripe.com.evil.com', 'EXACT'], ['api.stripe.com.evil.com', 'WILD'], ['evil.com', 'EXACT'],
    ['files.stripe.com', 'EXACT'], ['xn--bcher-kva.example', 'EXACT'], ['api.stripe.com', 'IDN'],
  ];
  for (const [host, key] of cases) {
    it(`${key} placeholder to ${host} → 403, nothing sent`, async () => {
      const r = await send(w.s, fx, { authority: `${host}:443`, headers: { Authorization: `Bearer ${fx.ph[key]}` } });
      expect(r.status).toBe(403);
      expect(r.json).toEqual(blocked('destination not allowed for this secret'));
      expect(w.up.requests).toHaveLength(0);
      noLeak();
    });
  }

  it('the IDN entry was stored as punycode and injects there only', async () => {
    const r = await send(w.s, fx, { authority: 'xn--bcher-kva.example:443', headers: { 'X-K': fx.ph.IDN } });
    expect(r.status, r.text).toBe(200);
    expect(header(w.up.requests[0]!, 'x-k')).toBe(V.IDN);
  });

  it('without any placeholder the proxy is a plain forward proxy, also to hosts no secret allows', async () => {
    const r = await send(w.s, fx, { authority: 'evil.com:443', path: '/plain?q=1', headers: { Authorization: 'Bearer not-a-placeholder' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe('ok');
    expect(w.up.requests[0]!.url).toBe('/plain?q=1');
    expect(header(w.up.requests[0]!, 'authorization')).toBe('Bearer not-a-placeholder');
  });

  it('an agent holding no placeholder may send a compressed body anywhere; it is forwarded byte for byte', async () => {
    const none = await agentWith(w.s, []);
    const body = gzipSync('compressed payload');
    const r = await send(w.s, none, { authority: 'evil.com:443', method: 'POST', headers: { 'Content-Encoding': 'gzip' }, body });
    expect(r.status).toBe(200);
    expect(w.up.requests[0]!.body.equals(body)).toBe(true);
    expect(header(w.up.requests[0]!, 'content-encoding')).toBe('gzip');
  });
});

describe('IP literals and ports', () => {
  for (const authority of ['127.0.0.1:443', '2130706433:443', '0x7f000001:443', '127.1:443', '[::1]:443', '[::ffff:127.0.0.1]:443']) {
    it(`CONNECT ${authority} with a placeholder → 403, nothing sent`, async () => {
      const r = await send(w.s, fx, { authority, headers: { Host: authority.replace(/:443$/, ''), Authorization: `Bearer ${fx.ph.WILD}` } });
      expect(r.status, r.text).toBe(403);
      expect(w.up.requests).toHaveLength(0);
      noLeak();
    });
  }

  it('an IP literal without placeholders is tunnelled (private allowed in this world)', async () => {
    const r = await send(w.s, fx, { authority: '127.0.0.1:443', headers: { Host: '127.0.0.1' } });
    expect(r.status, r.text).toBe(200);
    expect(w.up.requests).toHaveLength(1);
  });

  it('a non-443 port without an entry naming it never injects', async () => {
    for (const port of [444, 8443, 80]) {
      const r = await send(w.s, fx, { authority: `api.stripe.com:${port}`, headers: { Authorization: `Bearer ${fx.ph.EXACT}` } });
      expect(r.status, `${port}`).toBe(403);
    }
    expect(w.up.requests).toHaveLength(0);
  });
});

describe('authority syntax tricks in CONNECT are refused before any TLS', () => {
  const targets = [
    'api.stripe.com', 'api.stripe.com@evil.com:443', 'evil.com@api.stripe.com:443', 'api.stripe.com%2eevil.com:443', 'api.stripe.com\\@evil.com:443',
    'api.stripe.com:443:443', 'api.stripe.com..:443', 'bücher.example:443', 'api.stripe.com/x:443', 'api.stripe.com:0', 'api.stripe.com:65536', 'api.stripe.com:+443',
    'https://api.stripe.com:443', '[::1:443', 'api\u3002stripe.com:443', '*.stripe.com:443',
  ];
  for (const t of targets) {
    it(`CONNECT ${JSON.stringify(t)} → 400`, async () => {
      const c = await connect(w.s, t, fx.auth);
      c.socket.destroy();
      expect(c.status).toBe(400);
      // Vaultgate's own refusal, or Node's parser refusing the request line before Vaultgate sees it.
      if (c.body !== '') expect(JSON.parse(c.body)).toEqual({ error: 'bad CONNECT target', code: 'proxy_bad_request' });
      expect(w.up.connections).toHaveLength(0);
    });
  }
});

describe('bad upstream certificates: 502 upstream_tls_failed and not one byte of the request sent', () => {
  for (const [kind, name] of Object.entries(badNames)) {
    it(`${kind} (${name}), with and without a placeholder`, async () => {
      for (const headers of [{ 'X-Plain': 'hello' }, { Authorization: `Bearer ${fx.ph.BAD}` }] as Record<string, string>[]) {
        const r = await send(w.s, fx, { authority: `${name}:443`, method: 'POST', path: '/secret-path', headers, body: 'request-body-bytes' });
        expect(r.status, r.text).toBe(502);
        expect(r.json).toEqual({ error: 'upstream certificate verification failed', code: 'upstream_tls_failed' });
      }
      expect(w.up.requests).toHaveLength(0);
      const bytes = allUpstreamBytes(w.up);
      expect(bytes).toBe('');
      noLeak();
    });
  }

  it('a certificate valid for the name still works (control for the cases above)', async () => {
    const r = await send(w.s, fx, { authority: 'evil.com:443', method: 'POST', body: 'x' });
    expect(r.status).toBe(200);
  });
});
