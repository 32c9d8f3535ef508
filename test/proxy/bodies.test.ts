// Request bodies in bounded memory (SPEC §9): streamed unless a value may go into the body at that
// destination, held whole up to VAULTGATE_PROXY_MAX_BUFFERED_BODY otherwise; placeholders still found.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventsOf } from '../agents/helpers.js';
import { agentWith, allUpstreamBytes, blocked, header, readAll, send, startWorld, tunnel, type AgentFx, type World } from './helpers.js';

const maxBuffered = 1024 * 1024;
let w: World;
/** Its secret goes into headers only: bodies to api.stripe.com stream. */
let streaming: AgentFx;
/** Its secret may go into the body at api.stripe.com: bodies there are held whole. */
let holding: AgentFx;

beforeAll(async () => {
  w = await startWorld({ env: { VAULTGATE_PROXY_MAX_BUFFERED_BODY: String(maxBuffered) } });
  streaming = await agentWith(w.s, [{ key: 'STRIPE', value: 'sk_live_header_only_value', allowed_domains: ['api.stripe.com'] }]);
  holding = await agentWith(w.s, [{ key: 'B', value: 'body-value-0123456789', allowed_domains: ['api.stripe.com'], inject_in: ['header', 'body'] }]);
});
afterAll(() => w.close());
beforeEach(() => w.up.reset());

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Deterministic bytes with no `vgph_` in them. */
const filler = (n: number, seed = 7) => Buffer.from(Array.from({ length: n }, (_, i) => 97 + ((i * seed + (i >> 10)) % 26)));

describe('bodies that no value may enter stream through', () => {
  it('a 20 MiB upload (over the buffered limit) arrives whole, with its Content-Length', async () => {
    const body = filler(20 * 1024 * 1024);
    const r = await send(w.s, streaming, { method: 'POST', path: '/upload', headers: { 'content-length': String(body.length) }, body });
    expect(r.status, r.text).toBe(200);
    const got = w.up.requests[0]!;
    expect(header(got, 'content-length')).toBe(String(body.length));
    expect(got.body.length).toBe(body.length);
    expect(sha(got.body)).toBe(sha(body));
  });

  it('a chunked upload of many pieces arrives byte for byte', async () => {
    const pieces = Array.from({ length: 40 }, (_, i) => filler(16 * 1024 + i, i + 3));
    const r = await send(w.s, streaming, { method: 'PUT', path: '/chunked', body: pieces });
    expect(r.status, r.text).toBe(200);
    expect(sha(w.up.requests[0]!.body)).toBe(sha(Buffer.concat(pieces)));
  });

  it('a placeholder past the look-ahead, split across writes, blocks: the upstream request never completes and never sees it', async () => {
    const ph = streaming.ph.STRIPE;
    const before = filler(300 * 1024);
    const pieces = [before, Buffer.from(`{"k":"${ph.slice(0, 9)}`), Buffer.from(`${ph.slice(9)}"}`), filler(1024)];
    const r = await send(w.s, streaming, { method: 'POST', path: '/late', body: pieces });
    expect(r.status).toBe(403);
    expect(r.json).toEqual(blocked('secret may not be sent in the body'));
    expect(w.up.requests).toHaveLength(0);
    expect(allUpstreamBytes(w.up)).not.toContain(ph);
    expect(allUpstreamBytes(w.up)).not.toContain(ph.slice(0, 9));
    const last = (await eventsOf(w.s, 'proxy.blocked')).at(-1);
    expect(last).toMatchObject({ agent_id: streaming.id, reason: 'secret may not be sent in the body', details: { host: 'api.stripe.com' } });
  });

  it('a placeholder within the look-ahead blocks with nothing sent upstream at all', async () => {
    const r = await send(w.s, streaming, { method: 'POST', path: '/early-marker', body: [filler(10_000), Buffer.from(streaming.ph.STRIPE)] });
    expect(r.status).toBe(403);
    expect(allUpstreamBytes(w.up)).not.toContain('/early-marker');
  });
});

describe('bodies a value may enter are held whole, up to the limit', () => {
  it('a body under the limit gets the value', async () => {
    const body = Buffer.concat([filler(512 * 1024), Buffer.from(`&key=${holding.ph.B}`)]);
    const r = await send(w.s, holding, { method: 'POST', path: '/form', headers: { 'content-length': String(body.length) }, body });
    expect(r.status, r.text).toBe(200);
    const got = w.up.requests[0]!;
    expect(got.body.subarray(-26).toString()).toBe('&key=body-value-0123456789');
    expect(header(got, 'content-length')).toBe(String(got.body.length));
  });

  const tooLarge = JSON.stringify({ error: `request blocked: request body too large for inspection (limit ${maxBuffered} bytes)`, code: 'body_too_large' });

  it('a declared Content-Length over the limit is refused with 413 before the body is read', async () => {
    const sock = await tunnel(w.s, holding, 'api.stripe.com:443');
    sock.write(`POST /big-declared HTTP/1.1\r\nHost: api.stripe.com\r\nContent-Length: ${maxBuffered + 1}\r\n\r\n`);
    const out = await readAll(sock);
    sock.destroy();
    expect(out.startsWith('HTTP/1.1 413 ')).toBe(true);
    expect(out).toMatch(/\r\nconnection: close\r\n/i);
    expect(out.endsWith(tooLarge)).toBe(true);
    expect(allUpstreamBytes(w.up)).not.toContain('/big-declared');
  });

  it('a chunked body that grows past the limit is refused with 413, nothing sent upstream', async () => {
    const sock = await tunnel(w.s, holding, 'api.stripe.com:443');
    sock.write('POST /big-chunked HTTP/1.1\r\nHost: api.stripe.com\r\nTransfer-Encoding: chunked\r\n\r\n');
    const piece = filler(64 * 1024);
    for (let sent = 0; sent <= maxBuffered; sent += piece.length) sock.write(`${piece.length.toString(16)}\r\n${piece.toString('latin1')}\r\n`);
    const out = await readAll(sock);
    sock.destroy();
    expect(out.startsWith('HTTP/1.1 413 ')).toBe(true);
    expect(out.endsWith(tooLarge)).toBe(true);
    expect(allUpstreamBytes(w.up)).not.toContain('/big-chunked');
  });
});
