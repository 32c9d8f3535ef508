// Scrub by destination, in every form (SPEC §6): an allowed upstream that stored a value once hands
// it back later, to requests that carry no placeholder, in each form an API commonly writes it in.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { leaks } from '../helpers/kit.js';
import { agentWith, raw, send, startWorld, type AgentFx, type Sent, type World } from './helpers.js';

// Quote, backslash and slash make every JSON encoder escape it; non-ASCII makes ensure_ascii differ.
const VALUE = 'sk_live_"quoted"\\back/slash-ä-0123456789';
const ROTATED = 'sk_live_rotated_value_987654321';
/** A value that is a valid header-name token. */
const TOKEN = 'tok_live_ABCDEF0123456789';

let w: World;
let fx: AgentFx;
/** What the upstream was sent by /store, keyed by name: it plays an API that keeps what it is given. */
const kept = new Map<string, Buffer>();

const b64At = (v: Buffer, align: number, url = false) => Buffer.concat([Buffer.from('xyz'.slice(0, align) + '{"blob":'), v, Buffer.from('}')]).toString(url ? 'base64url' : 'base64');
const pyJson = (s: string) => JSON.stringify(s).replace(/[^\x00-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
/** How an upstream may write a stored value back. */
const forms: Record<string, (v: Buffer) => string> = {
  raw: (v) => v.toString(),
  upper: (v) => v.toString().toUpperCase(),
  json: (v) => JSON.stringify({ description: v.toString() }),
  'json-python': (v) => `{"description": ${pyJson(v.toString())}}`,
  'json-php': (v) => JSON.stringify({ d: v.toString() }).replace(/\//g, '\\/'),
  'json-every-char': (v) => `"${[...v.toString()].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`,
  'base64@0': (v) => b64At(v, 0),
  'base64@1': (v) => b64At(v, 1),
  'base64@2': (v) => b64At(v, 2),
  'base64url@1': (v) => b64At(v, 1, true),
  'base64-bare': (v) => v.toString('base64'),
  'base64url-bare-unpadded': (v) => v.toString('base64url'),
  hex: (v) => `sig=${v.toString('hex')}`,
  HEX: (v) => `sig=${v.toString('hex').toUpperCase()}`,
  percent: (v) => `https://api.stripe.com/cb?key=${encodeURIComponent(v.toString())}`,
  form: (v) => new URLSearchParams({ key: v.toString() }).toString(),
};

beforeAll(async () => {
  w = await startWorld();
  fx = await agentWith(w.s, [
    { key: 'K', value: VALUE, allowed_domains: ['api.stripe.com'], inject_in: ['header', 'body'] },
    { key: 'STRIPE', value: TOKEN, allowed_domains: ['api.stripe.com'], inject_in: ['header', 'body'] },
  ]);
  const r = w.up.routes;
  r.set('/store/', (q, res) => {
    kept.set(q.url.slice('/store/'.length), q.body);
    res.end('stored');
  });
  const keptOr = (name: string) => kept.get(name) ?? Buffer.from('nothing stored');
  r.set('/form/', (q, res) => {
    const [form, name] = q.url.slice('/form/'.length).split('/') as [string, string];
    res.setHeader('X-Echo', forms[form]!(keptOr(name)));
    res.end(forms[form]!(keptOr(name)));
  });
  r.set('/header-name/', (q, res) => {
    res.setHeader(`x-${keptOr(q.url.slice('/header-name/'.length)).toString()}`, '1');
    res.end('ok');
  });
  r.set('/reason/', (q, res) => {
    res.statusMessage = `Bad key ${keptOr(q.url.slice('/reason/'.length)).toString()}`.replace(/[^\x20-\x7e]/g, '?');
    res.statusCode = 402;
    res.end();
  });
  r.set('/trailer/', (q, res) => {
    res.writeHead(200, { Trailer: 'X-Sig', 'Transfer-Encoding': 'chunked' });
    res.write('body');
    res.addTrailers({ 'X-Sig': forms.json!(keptOr(q.url.slice('/trailer/'.length))) });
    res.end();
  });
  r.set('/gzip-gzip/', (q, res) => {
    res.setHeader('Content-Encoding', 'gzip, gzip');
    res.end(gzipSync(gzipSync(forms.json!(keptOr(q.url.slice('/gzip-gzip/'.length))))));
  });
});
afterAll(() => w.close());
beforeEach(() => w.up.reset());

/** The agent stores a placeholder with the upstream (which receives the value), in its own request. */
async function store(name: string, placeholder: string): Promise<void> {
  const r = await send(w.s, fx, { method: 'POST', path: `/store/${name}`, body: placeholder });
  expect(r.status, r.text).toBe(200);
}

const everything = (r: Sent) => Buffer.concat([Buffer.from(`${r.status} ${r.statusMessage}\n${r.rawHeaders.join('\n')}\n`, 'latin1'), r.body]);

describe('a value stored once and read back later, by a request that carries no placeholder', () => {
  beforeAll(async () => {
    await store('k', fx.ph.K);
    await store('t', fx.ph.STRIPE);
    expect(kept.get('k')?.toString()).toBe(VALUE);
  });

  for (const form of Object.keys(forms)) {
    it(`${form}: the agent sees no form of the value`, async () => {
      const r = await send(w.s, fx, { path: `/form/${form}/k` });
      expect(r.status).toBe(200);
      expect(w.up.requests[0]!.headers.authorization).toBeUndefined();
      expect(leaks(form, everything(r), VALUE)).toEqual([]);
      expect(everything(r).includes(VALUE)).toBe(false);
      // A server that writes the value into a header as a string sends it as latin1.
      expect(everything(r).includes(Buffer.from(VALUE, 'latin1'))).toBe(false);
      expect(r.text).toContain(fx.ph.K);
    });
  }

  it('the raw form comes back as exactly the placeholder, in body and header', async () => {
    const r = await send(w.s, fx, { path: '/form/raw/k' });
    expect(r.text).toBe(fx.ph.K);
    expect(r.headers['x-echo']).toBe(fx.ph.K);
  });

  it('a JSON echo stays valid JSON holding the placeholder', async () => {
    const r = await send(w.s, fx, { path: '/form/json/k' });
    expect(r.json).toEqual({ description: fx.ph.K });
  });

  it('a header name', async () => {
    const r = await send(w.s, fx, { path: '/header-name/t' });
    expect(r.headers[`x-${fx.ph.STRIPE.toLowerCase()}`]).toBe('1');
    expect(everything(r).includes(TOKEN)).toBe(false);
  });

  it('the reason phrase', async () => {
    const r = await send(w.s, fx, { path: '/reason/t' });
    expect([r.status, r.statusMessage]).toEqual([402, `Bad key ${fx.ph.STRIPE}`]);
  });

  it('trailers are relayed, scrubbed (here written as latin1, as Node writes trailer strings)', async () => {
    const text = await raw(w.s, fx, 'api.stripe.com:443', 'GET /trailer/k HTTP/1.1\r\nHost: api.stripe.com\r\nConnection: close\r\n\r\n');
    expect(text.endsWith(`\r\n4\r\nbody\r\n0\r\nX-Sig: {"description":"${fx.ph.K}"}\r\n\r\n`), JSON.stringify(text)).toBe(true);
  });

  it('stacked content codings are undone and the body scrubbed', async () => {
    const r = await send(w.s, fx, { path: '/gzip-gzip/k', headers: { 'Accept-Encoding': 'gzip' } });
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.json).toEqual({ description: fx.ph.K });
  });

  it('from a host no value may go to, the same echo passes untouched (nothing is looked for there)', async () => {
    const r = await send(w.s, fx, { authority: 'evil.com:443', path: '/form/raw/k' });
    expect(r.text).toBe(VALUE);
  });
});

describe('rotation', () => {
  it('after a rotation the previous value is still scrubbed (an upstream may hold it), and so is the new one', async () => {
    await store('before', fx.ph.K);
    const patched = await w.s.call('PATCH', `/secrets/${fx.ids.K}`, { body: { value: ROTATED } });
    expect(patched.status, patched.text).toBe(200);
    await store('after', fx.ph.K);
    expect(kept.get('after')?.toString()).toBe(ROTATED);
    for (const name of ['before', 'after']) {
      const r = await send(w.s, fx, { path: `/form/json-python/${name}` });
      expect(r.json).toEqual({ description: fx.ph.K });
    }
    // Restore, so that the other tests see the value they expect.
    expect((await w.s.call('PATCH', `/secrets/${fx.ids.K}`, { body: { value: VALUE } })).status).toBe(200);
  });
});
