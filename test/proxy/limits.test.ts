// Limits of SPEC §9 on both listeners and inside tunnels: connections per address, head size,
// slow heads, stalled handshakes and idle tunnels all end the one connection, on time.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentWith, connect, proxyAddr, readAll, send, startWorld, tunnel, type AgentFx, type World } from './helpers.js';

const limits = {
  VAULTGATE_MAX_CONNECTIONS_PER_ADDRESS: '6',
  VAULTGATE_HEADERS_TIMEOUT_MS: '1000',
  VAULTGATE_PROXY_HANDSHAKE_TIMEOUT_MS: '1000',
  VAULTGATE_PROXY_IDLE_TIMEOUT_MS: '1500',
  VAULTGATE_MAX_HEADER_BYTES: '4096',
};
let w: World;
let fx: AgentFx;
beforeAll(async () => {
  w = await startWorld({ env: limits });
  fx = await agentWith(w.s, [{ key: 'STRIPE', value: 'sk_live_limits_value', allowed_domains: ['api.stripe.com'] }]);
});
afterAll(() => w.close());

/** Resolves with the milliseconds until the server closed `socket` (or rejects after `maxMs`). */
function closedWithin(socket: net.Socket, maxMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${maxMs} ms`)), maxMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

/** From 127.0.0.2, so that the test client's own keep-alive connections (from 127.0.0.1) do not count. */
function open(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => resolve(socket));
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

const apiPort = () => Number(new URL(w.s.url).port);

describe('connections per source address', () => {
  it.each([['proxy', () => proxyAddr(w.s).port], ['api', apiPort]])('%s: past the cap a new connection is closed at once; closing one frees a place', async (_name, portOf) => {
    const port = portOf();
    const held = await Promise.all(Array.from({ length: 6 }, () => open(port)));
    const extra = await open(port);
    await closedWithin(extra, 2000);
    held.pop()!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const again = await open(port);
    const answer = new Promise<string>((resolve) => again.once('data', (d) => resolve(String(d))));
    again.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    if (port === apiPort()) expect(await answer).toMatch(/^HTTP\/1\.1 200 /);
    else expect(await answer).toMatch(/^HTTP\/1\.1 (407|400) /);
    for (const s of [...held, again]) s.destroy();
  });
});

describe('inside a tunnel', () => {
  it('a head sent one byte at a time is cut after the headers timeout', async () => {
    const sock = await tunnel(w.s, fx, 'api.stripe.com:443');
    sock.on('error', () => undefined);
    sock.write('GET / HTTP/1.1\r\nHost: api.stripe.com\r\nX-Slow: ');
    const drip = setInterval(() => sock.writable && sock.write('a'), 200);
    try {
      expect(await closedWithin(sock, 4000)).toBeLessThan(4000);
    } finally {
      clearInterval(drip);
    }
  });

  it('a head over VAULTGATE_MAX_HEADER_BYTES gets 431 and the tunnel closes', async () => {
    const sock = await tunnel(w.s, fx, 'api.stripe.com:443');
    sock.write(`GET / HTTP/1.1\r\nHost: api.stripe.com\r\nX-Big: ${'b'.repeat(8192)}\r\n\r\n`);
    expect(await readAll(sock)).toMatch(/^HTTP\/1\.1 431 /);
  });

  it('a client that never starts the TLS handshake is closed after the handshake timeout', async () => {
    const c = await connect(w.s, 'api.stripe.com:443', fx.auth);
    expect(c.status).toBe(200);
    c.socket.on('error', () => undefined);
    expect(await closedWithin(c.socket, 4000)).toBeLessThan(4000);
  });

  it('an idle tunnel is closed, and the next request opens a new one', async () => {
    const sock = await tunnel(w.s, fx, 'api.stripe.com:443');
    sock.on('error', () => undefined);
    expect(await closedWithin(sock, 5000)).toBeLessThan(5000);
    expect((await send(w.s, fx, { path: '/after-idle' })).status).toBe(200);
  });
});
