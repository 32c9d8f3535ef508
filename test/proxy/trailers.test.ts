// Request trailers: never forwarded, and one that names a placeholder blocks the request (held,
// looked-ahead or streamed body alike).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventsOf } from '../agents/helpers.js';
import { agentWith, allUpstreamBytes, blocked, raw, startWorld, type AgentFx, type World } from './helpers.js';

let w: World;
let fx: AgentFx;
const VALUE = 'trailer-value-Tr55';
beforeAll(async () => {
  w = await startWorld();
  // Body-injectable at api.stripe.com (bodies held whole there); elsewhere bodies are looked ahead.
  fx = await agentWith(w.s, [{ key: 'K', value: VALUE, allowed_domains: ['api.stripe.com'], inject_in: ['header', 'body'] }]);
});
afterAll(() => w.close());
beforeEach(() => w.up.reset());

const settle = () => new Promise((r) => setTimeout(r, 150));
const chunked = (host: string, body: string, trailers: string) =>
  `POST /trailers HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\nConnection: close\r\n\r\n` +
  `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n${trailers}\r\n`;
const bigBody = 'b'.repeat(70_000);
const cases = () => [
  ['held', 'api.stripe.com', 'hello'],
  ['looked ahead', 'evil.com', 'hello'],
  ['streamed past the look-ahead', 'evil.com', bigBody],
] as const;

describe('a trailer naming a placeholder blocks the request', () => {
  const trailers = () => [`X-T: ${fx.ph.K}\r\n`, `X-T: Bearer vgph_${'A'.repeat(40)}\r\n`, `X-T: ${fx.ph.K.toUpperCase()}\r\n`, `X-${fx.ph.K}: 1\r\n`];
  for (const [name, host, body] of cases()) {
    it(`${name} body (${host}): 403, audited, the placeholder never reaches the upstream`, async () => {
      for (const trailer of trailers()) {
        const out = await raw(w.s, fx, `${host}:443`, chunked(host, body, trailer));
        expect(out, trailer).toMatch(/^HTTP\/1\.1 403 /);
        expect(out.slice(out.indexOf('\r\n\r\n') + 4)).toBe(JSON.stringify(blocked('placeholder in a trailer')));
        const last = (await eventsOf(w.s, 'proxy.blocked')).at(-1);
        expect([last.agent_id, last.reason, last.details.host]).toEqual([fx.id, 'placeholder in a trailer', host]);
      }
      await settle();
      // A streamed body went out in part, but its request was aborted before its framing ended.
      expect(w.up.requests).toEqual([]);
      if (body.length < 65_536) expect(allUpstreamBytes(w.up)).toBe('');
      expect(allUpstreamBytes(w.up)).not.toMatch(/vgph_|X-T/i);
    });
  }
});

describe('trailers without a placeholder are dropped (docs/proxy.md)', () => {
  for (const [name, host, body] of cases()) {
    it(`${name} body (${host}): forwarded without its trailers`, async () => {
      const out = await raw(w.s, fx, `${host}:443`, chunked(host, body, 'X-T: innocent-trailer-value\r\n'));
      expect(out).toMatch(/^HTTP\/1\.1 200 /);
      expect(w.up.requests.map((r) => [r.url, r.body.toString()])).toEqual([['/trailers', body]]);
      expect(allUpstreamBytes(w.up)).not.toContain('innocent-trailer-value');
    });
  }
});
