// Injection: the value goes in only on allowed hosts and only in allowed surfaces; upstream bytes are checked exactly.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentWith, blocked, header, send, startWorld, type AgentFx, type World } from './helpers.js';

let w: World;
let fx: AgentFx;
const V = {
  STRIPE: 'sk_live_STRIPEVALUE_0123456789abcdef',
  WILD: 'wild-value/with+odd:chars=',
  PORT: 'port-8443-value',
  EVERY: 'every surface/value+1 &=?',
  IDN: 'idn-value-123',
  CRLF: 'bad\r\nX-Injected: 1',
};
beforeAll(async () => {
  w = await startWorld({ extraConnect: ['api.x.com:8443', 'api.stripe.com:8443'] });
  fx = await agentWith(w.s, [
    { key: 'STRIPE', value: V.STRIPE, allowed_domains: ['api.stripe.com'] },
    { key: 'WILD', value: V.WILD, allowed_domains: ['*.stripe.com'] },
    { key: 'PORT', value: V.PORT, allowed_domains: ['api.x.com:8443'] },
    { key: 'EVERY', value: V.EVERY, allowed_domains: ['api.stripe.com'], inject_in: ['header', 'path', 'query', 'body'] },
    { key: 'IDN', value: V.IDN, allowed_domains: ['xn--bcher-kva.example'] },
    { key: 'CRLF', value: V.CRLF, allowed_domains: ['api.stripe.com'], inject_in: ['header', 'body'] },
  ]);
});
afterAll(() => w.close());
beforeEach(() => w.up.reset());

const only = () => {
  expect(w.up.requests).toHaveLength(1);
  return w.up.requests[0]!;
};

describe('headers', () => {
  it('Bearer placeholder on the allowed host: upstream gets exactly the value, other headers untouched, no proxy credentials', async () => {
    const r = await send(w.s, fx, { path: '/v1/charges', headers: [['Authorization', `Bearer ${fx.ph.STRIPE}`], ['X-Other', 'keep me'], ['Accept', '*/*'], ['Connection', 'X-Drop'], ['X-Drop', fx.ph.STRIPE], ['TE', 'trailers']] });
    expect(r.status, r.text).toBe(200);
    const got = only();
    expect(got.sni).toBe('api.stripe.com');
    expect(got.url).toBe('/v1/charges');
    expect(header(got, 'authorization')).toBe(`Bearer ${V.STRIPE}`);
    expect(header(got, 'x-other')).toBe('keep me');
    expect(header(got, 'host')).toBe('api.stripe.com');
    expect(got.rawHeaders.join('\n')).not.toMatch(/proxy-authorization|vgat_|vgph_|x-drop|^te$/im);
  });

  it('Basic credentials: base64(user:placeholder) is decoded, substituted and re-encoded; padding style kept', async () => {
    const creds = Buffer.from(`${fx.ph.STRIPE}:`).toString('base64');
    await send(w.s, fx, { headers: { Authorization: `Basic ${creds}` } });
    expect(header(only(), 'authorization')).toBe(`Basic ${Buffer.from(`${V.STRIPE}:`).toString('base64')}`);
    w.up.reset();
    const unpadded = Buffer.from(`user:${fx.ph.STRIPE}`).toString('base64').replace(/=+$/, '');
    await send(w.s, fx, { headers: { Authorization: `basic ${unpadded}` } });
    expect(header(only(), 'authorization')).toBe(`basic ${Buffer.from(`user:${V.STRIPE}`).toString('base64').replace(/=+$/, '')}`);
  });

  it('any header, several placeholders in one value, several headers', async () => {
    await send(w.s, fx, { headers: [['X-Api-Key', fx.ph.STRIPE], ['X-Two', `a=${fx.ph.STRIPE};b=${fx.ph.WILD}`]] });
    const got = only();
    expect(header(got, 'x-api-key')).toBe(V.STRIPE);
    expect(header(got, 'x-two')).toBe(`a=${V.STRIPE};b=${V.WILD}`);
  });

  it('wildcard entry: any depth below, case and one trailing dot in Host normalize to the same host', async () => {
    for (const host of ['files.stripe.com', 'a.b.stripe.com', 'api.stripe.com']) {
      w.up.reset();
      const r = await send(w.s, fx, { authority: `${host}:443`, headers: { 'X-K': fx.ph.WILD } });
      expect(r.status, `${host}: ${r.text}`).toBe(200);
      expect(header(only(), 'x-k')).toBe(V.WILD);
      expect(only().sni).toBe(host);
    }
    w.up.reset();
    const r = await send(w.s, fx, { authority: 'API.Stripe.COM.:443', servername: 'api.stripe.com', headers: { Host: 'Api.Stripe.Com.', Authorization: `Bearer ${fx.ph.STRIPE}` } });
    expect(r.status, r.text).toBe(200);
    expect(header(only(), 'host')).toBe('api.stripe.com');
    expect(header(only(), 'authorization')).toBe(`Bearer ${V.STRIPE}`);
  });

  it('exact entry does not match a subdomain', async () => {
    const r = await send(w.s, fx, { authority: 'files.stripe.com:443', headers: { Authorization: `Bearer ${fx.ph.STRIPE}` } });
    expect(r.status).toBe(403);
    expect(r.json).toEqual(blocked('destination not allowed for this secret'));
    expect(w.up.requests).toHaveLength(0);
  });

  it('port entries: api.x.com:8443 injects on 8443 only; a 443-only entry never injects on 8443', async () => {
    const r = await send(w.s, fx, { authority: 'api.x.com:8443', headers: { Authorization: `Bearer ${fx.ph.PORT}` } });
    expect(r.status, r.text).toBe(200);
    expect(header(only(), 'authorization')).toBe(`Bearer ${V.PORT}`);
    expect(header(only(), 'host')).toBe('api.x.com:8443');
    w.up.reset();
    expect((await send(w.s, fx, { authority: 'api.x.com:443', headers: { Authorization: `Bearer ${fx.ph.PORT}` } })).status).toBe(403);
    expect((await send(w.s, fx, { authority: 'api.stripe.com:8443', headers: { Authorization: `Bearer ${fx.ph.STRIPE}` } })).status).toBe(403);
    expect(w.up.requests).toHaveLength(0);
  });

  it('IDN: the punycode entry injects on the punycode host', async () => {
    const r = await send(w.s, fx, { authority: 'xn--bcher-kva.example:443', headers: { 'X-K': fx.ph.IDN } });
    expect(r.status, r.text).toBe(200);
    expect(header(only(), 'x-k')).toBe(V.IDN);
  });

  it('a value with CR/LF never goes into a header (even Basic-encoded), but may go into the body', async () => {
    for (const h of [fx.ph.CRLF, `Basic ${Buffer.from(`u:${fx.ph.CRLF}`).toString('base64')}`]) {
      const r = await send(w.s, fx, { headers: { Authorization: h } });
      expect(r.status).toBe(403);
      expect(r.json).toEqual(blocked('value not allowed in a header'));
    }
    expect(w.up.requests).toHaveLength(0);
    const r = await send(w.s, fx, { method: 'POST', body: `k=${fx.ph.CRLF}` });
    expect(r.status, r.text).toBe(200);
    expect(only().body.toString()).toBe(`k=${V.CRLF}`);
  });
});

describe('path, query and body', () => {
  it('inject_in path/query/body: injected, percent-encoded in the URL, raw in the body', async () => {
    const enc = encodeURIComponent(V.EVERY).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const r = await send(w.s, fx, { method: 'POST', path: `/v1/${fx.ph.EVERY}/x?key=${fx.ph.EVERY}&other=%2F`, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ k: fx.ph.EVERY }) });
    expect(r.status, r.text).toBe(200);
    const got = only();
    expect(got.url).toBe(`/v1/${enc}/x?key=${enc}&other=%2F`);
    expect(got.body.toString()).toBe(JSON.stringify({ k: V.EVERY }));
    expect(header(got, 'content-length')).toBe(String(got.body.length));
  });

  it('percent-encoded placeholders in the query are found (fully or partly encoded)', async () => {
    const full = [...fx.ph.EVERY].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    const part = fx.ph.EVERY.replace('_', '%5F');
    await send(w.s, fx, { path: `/q?a=${full}&b=${part}` });
    const enc = encodeURIComponent(V.EVERY);
    expect(only().url).toBe(`/q?a=${enc}&b=${enc}`);
  });

  it('a header-only secret in path, query or body blocks the whole request', async () => {
    for (const o of [{ path: `/v1/${fx.ph.STRIPE}` }, { path: `/v1?k=${fx.ph.STRIPE}` }, { method: 'POST', body: `k=${fx.ph.STRIPE}` }]) {
      const r = await send(w.s, fx, { ...o, headers: { 'X-Ok': fx.ph.STRIPE } });
      expect(r.status).toBe(403);
      expect(r.json.error).toMatch(/^request blocked: secret may not be sent in the (path|query|body)$/);
    }
    expect(w.up.requests).toHaveLength(0);
  });

  it('a placeholder split across many tiny body writes (chunked) is injected exactly', async () => {
    const body = `{"a":"${fx.ph.EVERY}","b":"x${fx.ph.EVERY}-y"}`;
    const pieces = body.match(/.{1,3}/gs)!;
    const r = await send(w.s, fx, { method: 'PUT', body: pieces });
    expect(r.status, r.text).toBe(200);
    expect(only().body.toString()).toBe(`{"a":"${V.EVERY}","b":"x${V.EVERY}-y"}`);
    expect(header(only(), 'transfer-encoding')).toBeUndefined();
  });

  it('a placeholder in the last byte of a large body still blocks the whole request', async () => {
    const r = await send(w.s, fx, { method: 'POST', body: [Buffer.alloc(256 * 1024, 'a'), fx.ph.STRIPE] });
    expect(r.status).toBe(403);
    expect(w.up.requests).toHaveLength(0);
  });

  it('a compressed request body from an agent holding placeholders is refused, even to an allowed host', async () => {
    for (const ce of ['gzip', 'deflate', 'br', 'identity, gzip']) {
      const r = await send(w.s, fx, { method: 'POST', headers: { 'Content-Encoding': ce }, body: gzipSync(`k=${fx.ph.EVERY}`) });
      expect(r.status, ce).toBe(403);
      expect(r.json).toEqual(blocked('compressed request bodies cannot be inspected'));
    }
    expect(w.up.requests).toHaveLength(0);
  });

  it('a placeholder glued to more base62 characters is refused as malformed', async () => {
    const r = await send(w.s, fx, { headers: { Authorization: `Bearer ${fx.ph.STRIPE}X` } });
    expect(r.status).toBe(403);
    expect(r.json).toEqual(blocked('malformed placeholder'));
    expect(w.up.requests).toHaveLength(0);
  });
});
