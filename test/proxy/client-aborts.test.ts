// A client that leaves mid-body is the client's business: no error-level line on the API, no
// "upstream error" on the proxy (anyone could fill the log that way), and both keep serving.
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { agentWith, send, startWorld, tunnel, type AgentFx, type World } from './helpers.js';

let w: World;
let fx: AgentFx;
beforeAll(async () => {
  w = await startWorld();
  fx = await agentWith(w.s, [{ key: 'STRIPE', value: 'sk_live_abort_value', allowed_domains: ['api.stripe.com'] }]);
});
afterAll(() => w.close());

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const levelAtLeast = (level: number) => w.s.logs.filter((l) => (JSON.parse(l) as { level: number }).level >= level);

it('API: a JSON body reset halfway is not logged as an internal error', async () => {
  const before = w.s.logs.length;
  const sock = net.connect(Number(new URL(w.s.url).port), '127.0.0.1');
  sock.on('error', () => undefined);
  await new Promise((r) => sock.once('connect', r));
  sock.write(`POST /api/public/v1/vaults HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${w.s.apiKey}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"name":"${'n'.repeat(90)}`);
  await until(() => w.s.logs.slice(before).some((l) => l.includes('"msg":"incoming request"')), 2000, 'the request to arrive');
  sock.resetAndDestroy();
  // Nothing is logged for it once fixed (the reply has nowhere to go), so give the handler a moment.
  await new Promise((r) => setTimeout(r, 500));
  expect(levelAtLeast(50).filter((l) => w.s.logs.indexOf(l) >= before)).toEqual([]);
  expect((await w.s.call('GET', '/vaults')).status).toBe(200);
});

it('proxy: an agent that resets a streamed upload is not an upstream error', async () => {
  const before = w.s.logs.length;
  const sock = await tunnel(w.s, fx, 'files.stripe.com:443');
  sock.on('error', () => undefined);
  sock.write('POST /abandoned HTTP/1.1\r\nHost: files.stripe.com\r\nContent-Length: 1048576\r\n\r\n');
  sock.write(Buffer.alloc(256 * 1024, 0x61));
  // Past the 64 KiB look-ahead the body streams: wait until the upstream has some of it.
  await until(() => Buffer.concat(w.up.received).includes('/abandoned'), 3000, 'the upstream to see the request');
  (sock as unknown as { _parent?: net.Socket })._parent?.resetAndDestroy();
  sock.destroy();
  // The proxy aborts its upstream request at once; give its error handler a moment to have run.
  await new Promise((r) => setTimeout(r, 300));
  expect(w.s.logs.slice(before).filter((l) => l.includes('upstream error'))).toEqual([]);
  expect(levelAtLeast(50).filter((l) => w.s.logs.indexOf(l) >= before)).toEqual([]);
  expect((await send(w.s, fx, { path: '/after' })).status).toBe(200);
});
