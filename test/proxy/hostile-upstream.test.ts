// An upstream that answers with garbage, lies about framing or resets mid-response touches only
// that exchange: the agent gets a 502 or a closed connection, and the proxy goes on serving.
import type net from 'node:net';
import tls from 'node:tls';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { agentWith, connectTo, makePki, send, startUpstream, tunnel, type AgentFx, type Upstream } from './helpers.js';

/** What the raw upstream writes for each request path; then it ends the connection, cuts it (`!`) or goes silent (`~`). */
const answers: Record<string, Buffer | string> = {
  '/control-in-reason': 'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok',
  '/bad-header-char': 'HTTP/1.1 200 OK\r\nX-Bad: a\x7fb\r\nContent-Length: 2\r\n\r\nok',
  '/status-999': 'HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\nok',
  '/not-http': 'SSH-2.0-OpenSSH_9.2\r\n\r\n',
  '/short-body': 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this',
  '/bad-chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
  '/huge-head': `HTTP/1.1 200 OK\r\n${'X-Pad: ' + 'p'.repeat(1000) + '\r\n'}`.repeat(200),
  '/bad-gzip': Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 40\r\n\r\n'), Buffer.from(gzipSync('x'.repeat(100)).subarray(0, 10)), Buffer.alloc(30, 0x41)]),
  '/nothing': '',
  '/cut-mid-body!': 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial',
  '/stall-mid-body~': 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial',
};

let s: TestServer;
let up: Upstream;
let raw: tls.Server;
let fx: AgentFx;

beforeAll(async () => {
  const pki = await makePki();
  up = await startUpstream(pki);
  raw = tls.createServer({ key: pki.good.keyPem, cert: pki.good.certPem }, (sock) => {
    sock.on('error', () => undefined);
    let head = '';
    sock.on('data', (d) => {
      head += String(d);
      if (!head.includes('\r\n\r\n')) return;
      const path = /^[A-Z]+ (\S+)/.exec(head)?.[1] ?? '';
      const answer = answers[path] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n';
      sock.write(answer, () => {
        if (path.endsWith('!')) sock.destroy();
        else if (!path.endsWith('~')) sock.end();
      });
    });
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  const rawPort = (raw.address() as net.AddressInfo).port;
  s = await startTestServer({
    env: {
      VAULTGATE_PROXY_CONNECT_TO: `${connectTo(up)},api.x.com:443=127.0.0.1:${rawPort}`,
      VAULTGATE_UPSTREAM_CA_FILE: pki.caFile,
      VAULTGATE_PROXY_ALLOW_PRIVATE: '1',
      // The silent upstream must be given up well within the test's 3 s.
      VAULTGATE_PROXY_IDLE_TIMEOUT_MS: '1500',
    },
  });
  fx = await agentWith(s, [{ key: 'K', value: 'hostile-upstream-value', allowed_domains: ['api.x.com'] }]);
});
afterAll(async () => {
  await s.close();
  await up.close();
  await new Promise((r) => raw.close(r));
});

/** A whole answer the agent can trust: the proxy's 502, or the upstream's answer relayed intact. */
function isComplete(text: string, path: string, injected: boolean): boolean {
  return (
    /^HTTP\/1\.1 502 Bad Gateway\r\n[^]*\r\n\r\n\{"error":"upstream request failed","code":"upstream_failed"\}$/.test(text) ||
    /^HTTP\/1\.1 999 Odd\r\n[^]*\r\n\r\n(ok|2\r\nok\r\n0\r\n\r\n)$/.test(text) ||
    // Passed through untouched: nothing was injected, so nothing needs decoding.
    (!injected && path === '/bad-gzip' && /^HTTP\/1\.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 40\r\n[^]*\r\n\r\n[^]{40}$/.test(text))
  );
}

/** One request through a tunnel by hand: what came back, and whether it was whole or the tunnel closed. */
async function exchange(path: string, injected: boolean): Promise<{ text: string; closed: boolean; complete: boolean }> {
  const sock = await tunnel(s, fx, 'api.x.com:443');
  sock.on('error', () => undefined);
  let text = '';
  const outcome = await new Promise<{ closed: boolean; complete: boolean }>((resolve) => {
    const timer = setTimeout(() => resolve({ closed: false, complete: false }), 3000);
    sock.on('data', (d) => {
      text += d.toString('latin1');
      if (isComplete(text, path, injected)) {
        clearTimeout(timer);
        resolve({ closed: false, complete: true });
      }
    });
    sock.once('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, complete: isComplete(text, path, injected) });
    });
    sock.write(`GET ${path} HTTP/1.1\r\nHost: api.x.com\r\n${injected ? `Authorization: Bearer ${fx.ph.K}\r\n` : ''}\r\n`);
  });
  sock.destroy();
  return { text, ...outcome };
}

describe('a hostile upstream', () => {
  for (const path of Object.keys(answers)) {
    for (const injected of [false, true]) {
      it(`${path}${injected ? ' (a value injected, so the answer is scrubbed)' : ''}: a whole answer or a closed tunnel, then the proxy serves on`, async () => {
        const { text, closed, complete } = await exchange(path, injected);
        // Either the agent got a complete answer, or the tunnel was closed: never a hang.
        expect(closed || complete, JSON.stringify(text)).toBe(true);
        expect(text).not.toContain('hostile-upstream-value');
        expect((await send(s, fx, { path: '/after' })).status).toBe(200);
      });
    }
  }

  it('none of these leaves an unhandled error in the log', () => {
    expect(s.logs.join('')).not.toMatch(/uncaught|unhandled/i);
  });
});
