// WebSocket through the proxy, with the real `ws` library on both ends: the upgrade's headers, text
// frame injection (the `websocket` surface), 1008 blocks, echo scrubbing, limits and hostile peers.
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type net from 'node:net';
import type tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createFrameDecoder, encodeFrame, Opcode } from '../../src/proxy/websocket-frames.js';
import { webSocketAccept } from '../../src/proxy/websocket.js';
import { eventsOf } from '../agents/helpers.js';
import { sleep } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { agentWith, goodNames, makePki, send, tunnel, type AgentFx, type Pki } from './helpers.js';

const HEADER_VALUE = 'hdr-only-Secret/+=9';
const WS_VALUE = 'ws-S3cret:é€/+=x"7';
const BOTH_VALUE = 'both-surfaces-Val_42';
const IDLE_MS = 2500;
const MAX_HELD = 64 * 1024;

/** One upgrade as the upstream saw it: head, every message, and every decrypted byte of its connection. */
interface UpConn {
  path: string;
  rawHeaders: string[];
  messages: { text: string; binary: boolean }[];
  /** The same messages as bytes. */
  data: Buffer[];
  pongs: string[];
  raw: Buffer[];
  closed: Promise<void>;
}

let pki: Pki;
let s: TestServer;
let fx: AgentFx;
let upPort = 0;
let upServer: https.Server;
const conns: UpConn[] = [];

/** Raw-socket answers for the hostile upstream cases. */
function head101(req: IncomingMessage, extra = ''): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${webSocketAccept(String(req.headers['sec-websocket-key']))}\r\n${extra}\r\n`;
}
const specials = new Map<string, (req: IncomingMessage, socket: net.Socket) => void>([
  ['/401', (_req, socket) => {
    const body = `bad token ${WS_VALUE}`;
    socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }],
  ['/garbage', (req, socket) => socket.write(`${head101(req)}this is not a frame at all`)],
  ['/reset-mid', (req, socket) => {
    socket.write(Buffer.concat([Buffer.from(head101(req), 'latin1'), Buffer.from([0x82, 100]), Buffer.from('12345')]));
    setTimeout(() => socket.destroy(), 50);
  }],
  ['/reset', (_req, socket) => socket.destroy()],
  ['/ext', (req, socket) => socket.write(head101(req, 'Sec-WebSocket-Extensions: permessage-deflate\r\n'))],
  ['/bad-accept', (req, socket) => socket.write(head101(req).replace(/Accept: [^\r]+/, `Accept: ${webSocketAccept('AAAAAAAAAAAAAAAAAAAAAA==')}`))],
]);

/** What each path's WebSocket does once accepted. */
const behaviours = new Map<string, (ws: WebSocket) => void>([
  ['/echo', (ws) => ws.on('message', (data: Buffer, binary) => ws.send(data, { binary }))],
  ['/silent', () => undefined],
  ['/leak', (ws) => {
    ws.send(`value=${WS_VALUE}`);
    ws.send(Buffer.from(`bin:${WS_VALUE}`));
    ws.send(`frag1 ${WS_VALUE.slice(0, 6)}`, { fin: false });
    ws.send(`${WS_VALUE.slice(6)} end`, { fin: true });
    ws.ping(Buffer.from(`ping ${WS_VALUE}`));
    ws.on('message', () => ws.close(4000, `bye ${WS_VALUE}`));
  }],
  ['/big', (ws) => ws.on('message', () => ws.send(`${'x'.repeat(MAX_HELD - 3)}${WS_VALUE}${'y'.repeat(2 * MAX_HELD)}`))],
]);

async function startWsUpstream(): Promise<void> {
  upServer = https.createServer({ key: pki.good.keyPem, cert: pki.good.certPem }, (_req, res) => res.end('ok'));
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: true });
  upServer.on('secureConnection', (sock: tls.TLSSocket) => {
    const raw: Buffer[] = [];
    (sock as unknown as { vgRaw: Buffer[] }).vgRaw = raw;
    sock.on('data', (d: Buffer) => raw.push(Buffer.from(d)));
  });
  upServer.on('upgrade', (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    const conn: UpConn = { path, rawHeaders: req.rawHeaders, messages: [], data: [], pongs: [], raw: (socket as unknown as { vgRaw: Buffer[] }).vgRaw, closed: new Promise((r) => socket.once('close', () => r())) };
    conns.push(conn);
    socket.on('error', () => undefined);
    const special = specials.get(path);
    if (special) {
      // Read (and record) what comes, and end with the peer: an HTTPS server's sockets stay half-open otherwise.
      socket.once('end', () => socket.end()).resume();
      return special(req, socket);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data: Buffer, binary) => {
        conn.messages.push({ text: data.toString('utf8'), binary });
        conn.data.push(data);
      });
      ws.on('pong', (data: Buffer) => conn.pongs.push(data.toString('utf8')));
      ws.on('error', () => undefined);
      behaviours.get(path)?.(ws);
    });
  });
  await new Promise<void>((r) => upServer.listen(0, '127.0.0.1', r));
  upPort = (upServer.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  pki = await makePki();
  await startWsUpstream();
  s = await startTestServer({
    env: {
      // The upstream's certificate covers goodNames only: wrongname.test fails verification.
      VAULTGATE_PROXY_CONNECT_TO: [...goodNames, 'wrongname.test'].map((n) => `${n}:443=127.0.0.1:${upPort}`).join(','),
      VAULTGATE_UPSTREAM_CA_FILE: pki.caFile,
      VAULTGATE_PROXY_ALLOW_PRIVATE: '1',
      VAULTGATE_PROXY_IDLE_TIMEOUT_MS: String(IDLE_MS),
      VAULTGATE_PROXY_MAX_BUFFERED_BODY: String(MAX_HELD),
    },
  });
  fx = await agentWith(s, [
    { key: 'K', value: HEADER_VALUE, allowed_domains: ['api.stripe.com'] },
    { key: 'STRIPE', value: WS_VALUE, allowed_domains: ['api.stripe.com'], inject_in: ['websocket'] },
    { key: 'EVERY', value: BOTH_VALUE, allowed_domains: ['api.stripe.com'], inject_in: ['header', 'websocket'] },
  ]);
});
afterAll(async () => {
  await s.close();
  upServer.closeAllConnections();
  await new Promise((r) => upServer.close(r));
});
beforeEach(() => {
  conns.length = 0;
});

interface OpenOpts { authority?: string; host?: string; headers?: Record<string, string>; deflate?: boolean; agent?: AgentFx; protocols?: string[] }

/** A `ws` client through CONNECT + TLS to the proxy's minted leaf. */
async function client(path: string, o: OpenOpts = {}): Promise<WebSocket> {
  const authority = o.authority ?? 'api.stripe.com:443';
  const sock = await tunnel(s, o.agent ?? fx, authority);
  return new WebSocket(`wss://${o.host ?? authority.replace(/:443$/, '')}${path}`, o.protocols ?? [], { createConnection: () => sock, headers: o.headers, perMessageDeflate: o.deflate ?? false });
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

async function open(path: string, o: OpenOpts = {}): Promise<WebSocket> {
  const ws = await client(path, o);
  await opened(ws);
  return ws;
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
}

function nextMessage(ws: WebSocket): Promise<{ text: string; binary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data: Buffer, binary) => resolve({ text: data.toString('utf8'), binary })));
}

function nextBytes(ws: WebSocket): Promise<Buffer> {
  return new Promise((resolve) => ws.once('message', (data: Buffer) => resolve(data)));
}

/** The upgrade head and the unmasked payload of every frame the upstream received on a connection. */
function upstreamSaw(conn: UpConn): string {
  const bytes = Buffer.concat(conn.raw);
  const end = bytes.indexOf('\r\n\r\n');
  const decoder = createFrameDecoder({ masked: true });
  const payload = decoder.push(bytes.subarray(end + 4)).flatMap((e) => (e.kind === 'payload' ? [e.data] : []));
  return bytes.subarray(0, end).toString('latin1') + Buffer.concat(payload).toString('latin1');
}

const header = (conn: UpConn, name: string) => {
  const i = conn.rawHeaders.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === name);
  return i < 0 ? undefined : conn.rawHeaders[i + 1];
};
const latin1 = (v: string) => Buffer.from(v, 'utf8').toString('latin1');

/** The proxy kept serving: an ordinary request through it still works. */
async function stillServing(): Promise<void> {
  const res = await send(s, fx, { path: '/after' });
  expect([res.status, res.text]).toEqual([200, 'ok']);
}

async function lastBlocked(): Promise<any> {
  return (await eventsOf(s, 'proxy.blocked')).at(-1);
}

describe('the upgrade request', () => {
  it('a header placeholder is replaced byte-exact; Upgrade and Connection are restored; the injection is audited', async () => {
    const ws = await open('/echo?x=1', { headers: { Authorization: `Bearer ${fx.ph.K}`, 'X-Both': fx.ph.EVERY } });
    expect(conns).toHaveLength(1);
    const conn = conns[0]!;
    expect([header(conn, 'authorization'), header(conn, 'x-both'), header(conn, 'upgrade'), header(conn, 'connection'), header(conn, 'host')]).toEqual([
      `Bearer ${HEADER_VALUE}`, BOTH_VALUE, 'websocket', 'Upgrade', 'api.stripe.com',
    ]);
    expect(conn.rawHeaders.join('\n')).not.toContain('vgph_');
    const injected = (await eventsOf(s, 'proxy.injected')).slice(-2);
    expect(injected.map((e) => [e.secret_id, e.details.surfaces, e.details.host]).sort()).toEqual([
      [fx.ids.EVERY, ['header'], 'api.stripe.com'],
      [fx.ids.K, ['header'], 'api.stripe.com'],
    ].sort());
    ws.close();
  });

  it('a placeholder as the subprotocol: the upstream gets the value, its echo in the 101 becomes the placeholder again', async () => {
    const ws = await open('/echo', { protocols: [fx.ph.EVERY] });
    expect(header(conns[0]!, 'sec-websocket-protocol')).toBe(BOTH_VALUE);
    // ws checks that the server chose one of the offered subprotocols: it sees its own placeholder.
    expect(ws.protocol).toBe(fx.ph.EVERY);
    ws.close();
  });

  it('a placeholder the header surface does not allow: 403, audited, nothing dialled', async () => {
    const ws = await client('/echo', { headers: { Authorization: `Bearer ${fx.ph.STRIPE}` } });
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(403);
    expect(conns).toHaveLength(0);
    expect(await lastBlocked()).toMatchObject({ secret_id: fx.ids.STRIPE, reason: 'secret may not be sent in the header' });
  });

  it('permessage-deflate offered by the agent is not passed on, so nothing is compressed', async () => {
    const ws = await open('/echo', { deflate: true });
    expect(ws.extensions).toBe('');
    expect(header(conns[0]!, 'sec-websocket-extensions')).toBeUndefined();
    ws.send('a'.repeat(200));
    expect(await nextMessage(ws)).toEqual({ text: 'a'.repeat(200), binary: false });
    ws.close();
  });

  it('a Host naming another host than the tunnel: refused before any dial', async () => {
    const ws = await client('/echo', { host: 'evil.com' });
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(403);
    expect(conns).toHaveLength(0);
  });

  it('the upstream answers 401 instead of 101: the agent gets the 401, its body scrubbed', async () => {
    const ws = await client('/401');
    const got = await new Promise<{ status: number; body: string }>((resolve) =>
      ws.once('unexpected-response', (_req, res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d)).on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
      }),
    );
    expect(got).toEqual({ status: 401, body: `bad token ${fx.ph.STRIPE}` });
    await stillServing();
  });

  it('an upstream whose certificate does not verify: 502 upstream_tls_failed', async () => {
    const ws = await client('/echo', { authority: 'wrongname.test:443' });
    const got = await new Promise<{ status: number; body: string }>((resolve) =>
      ws.once('unexpected-response', (_req, res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d)).on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
      }),
    );
    expect(got).toEqual({ status: 502, body: JSON.stringify({ error: 'upstream certificate verification failed', code: 'upstream_tls_failed' }) });
    expect(conns).toHaveLength(0);
  });

  const badAnswers: [string, string][] = [['/ext', 'a 101 with an extension it was never offered'], ['/bad-accept', 'a 101 with a Sec-WebSocket-Accept for another key'], ['/reset', 'a reset instead of an answer']];
  for (const [path, why] of badAnswers) {
    it(`the upstream sends ${why}: 502 to the agent`, async () => {
      const ws = await client(path);
      const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
      expect(status).toBe(502);
      await stillServing();
    });
  }
});

describe('frames from the agent', () => {
  it('a text frame with a websocket-surface placeholder: the upstream receives the value exactly, the echo comes back scrubbed', async () => {
    const ws = await open('/echo');
    const text = `{"auth":"${fx.ph.STRIPE}","again":"${fx.ph.EVERY}"}`;
    ws.send(text);
    expect(await nextMessage(ws)).toEqual({ text, binary: false });
    expect(conns[0]!.messages).toEqual([{ text: `{"auth":"${WS_VALUE}","again":"${BOTH_VALUE}"}`, binary: false }]);
    const injected = (await eventsOf(s, 'proxy.injected')).slice(-2);
    expect(injected.map((e) => [e.secret_id, e.details.surfaces]).sort()).toEqual([[fx.ids.EVERY, ['websocket']], [fx.ids.STRIPE, ['websocket']]].sort());
    ws.close();
  });

  it('frames without placeholders pass exactly, text and a binary frame larger than the held limit', async () => {
    const ws = await open('/echo');
    const big = Buffer.from(Array.from({ length: 3 * MAX_HELD }, (_, i) => (i * 7) & 0xff));
    ws.send('plain text é€ vgph_short');
    expect(await nextMessage(ws)).toEqual({ text: 'plain text é€ vgph_short', binary: false });
    ws.send(big);
    expect((await nextBytes(ws)).equals(big)).toBe(true);
    expect(conns[0]!.messages.map((m) => m.binary)).toEqual([false, true]);
    expect(conns[0]!.data[0]!.toString('utf8')).toBe('plain text é€ vgph_short');
    expect(conns[0]!.data[1]!.equals(big)).toBe(true);
    ws.close();
  });

  it('a text frame with a header-only secret: 1008, proxy.blocked, the upstream never sees it', async () => {
    const ws = await open('/echo');
    const done = closed(ws);
    ws.send(`token ${fx.ph.K}`);
    expect(await done).toEqual({ code: 1008, reason: 'request blocked: secret may not be sent in the websocket' });
    await conns[0]!.closed;
    expect(conns[0]!.messages).toEqual([]);
    expect(upstreamSaw(conns[0]!)).not.toContain(HEADER_VALUE);
    expect(upstreamSaw(conns[0]!)).not.toContain('vgph_');
    expect(await lastBlocked()).toMatchObject({ secret_id: fx.ids.K, reason: 'secret may not be sent in the websocket', details: { host: 'api.stripe.com' } });
  });

  const outsideText = 'placeholder in a WebSocket frame other than an unfragmented text frame';
  const cases: [string, (ws: WebSocket) => void][] = [
    ['a binary frame', (ws) => ws.send(Buffer.from(`bin ${fx.ph.STRIPE}`))],
    ['a text message in fragments (the placeholder split across them)', (ws) => {
      ws.send(`start ${fx.ph.STRIPE.slice(0, 20)}`, { fin: false });
      ws.send(`${fx.ph.STRIPE.slice(20)} end`, { fin: true });
    }],
    ['a text message in fragments (the placeholder whole in the first)', (ws) => {
      ws.send(`start ${fx.ph.STRIPE} `, { fin: false });
      ws.send('end', { fin: true });
    }],
    ['a ping', (ws) => ws.ping(Buffer.from(fx.ph.STRIPE))],
    ['a close reason', (ws) => ws.close(4000, fx.ph.STRIPE)],
  ];
  for (const [name, act] of cases) {
    it(`${name} with a placeholder: 1008, proxy.blocked, nothing of it upstream`, async () => {
      const ws = await open('/echo');
      const done = closed(ws);
      act(ws);
      expect(await done).toEqual({ code: 1008, reason: `request blocked: ${outsideText}` });
      await conns[0]!.closed;
      expect(conns[0]!.messages).toEqual([]);
      expect(upstreamSaw(conns[0]!)).not.toContain(latin1(WS_VALUE));
      expect(upstreamSaw(conns[0]!)).not.toContain(fx.ph.STRIPE.slice(0, 20));
      expect(await lastBlocked()).toMatchObject({ secret_id: fx.ids.STRIPE, reason: outsideText });
      await stillServing();
    });
  }

  it('an unfragmented text frame over the held limit: 1009, nothing of it upstream', async () => {
    const ws = await open('/echo');
    const done = closed(ws);
    ws.send(`${fx.ph.STRIPE} ${'y'.repeat(MAX_HELD)}`);
    expect(await done).toEqual({ code: 1009, reason: 'message too big for inspection' });
    expect(conns[0]!.messages).toEqual([]);
    expect(upstreamSaw(conns[0]!)).not.toContain('yyyy');
  });

  it('another host: the placeholder blocks, the host gets no value', async () => {
    const ws = await open('/echo', { authority: 'evil.com:443' });
    const done = closed(ws);
    ws.send(`steal ${fx.ph.STRIPE}`);
    expect(await done).toEqual({ code: 1008, reason: 'request blocked: destination not allowed for this secret' });
    await conns[0]!.closed;
    expect(upstreamSaw(conns[0]!)).not.toContain(latin1(WS_VALUE));
    expect(upstreamSaw(conns[0]!)).not.toContain('vgph_');
    expect(await lastBlocked()).toMatchObject({ secret_id: fx.ids.STRIPE, reason: 'destination not allowed for this secret', details: { host: 'evil.com' } });
  });
});

describe('frames from the upstream', () => {
  it('echoed values are scrubbed from text, binary, fragmented messages, pings and the close reason', async () => {
    const ws = await client('/leak');
    const messages: { text: string; binary: boolean }[] = [];
    const pings: string[] = [];
    ws.on('message', (data: Buffer, binary) => messages.push({ text: data.toString('utf8'), binary }));
    ws.on('ping', (data: Buffer) => {
      pings.push(data.toString('utf8'));
      ws.send('done');
    });
    const done = closed(ws);
    await opened(ws);
    expect(await done).toEqual({ code: 4000, reason: `bye ${fx.ph.STRIPE}` });
    expect(messages).toEqual([
      { text: `value=${fx.ph.STRIPE}`, binary: false },
      { text: `bin:${fx.ph.STRIPE}`, binary: true },
      { text: `frag1 ${fx.ph.STRIPE} end`, binary: false },
    ]);
    expect(pings).toEqual([`ping ${fx.ph.STRIPE}`]);
    // The agent's automatic pong carried the placeholder; the upstream got its own payload back.
    expect(conns[0]!.pongs).toEqual([`ping ${WS_VALUE}`]);
  });

  it('a pong the agent makes up with a placeholder is blocked like any control frame', async () => {
    const ws = await open('/echo');
    const done = closed(ws);
    ws.pong(Buffer.from(`ping ${fx.ph.STRIPE}`));
    expect((await done).code).toBe(1008);
    expect(conns[0]!.pongs).toEqual([]);
  });

  it('from a host no value may reach, frames pass as they came', async () => {
    const ws = await client('/leak', { authority: 'evil.com:443' });
    const messages: string[] = [];
    ws.on('message', (data: Buffer) => messages.push(data.toString('utf8')));
    ws.on('ping', () => ws.send('done'));
    const done = closed(ws);
    await opened(ws);
    expect(await done).toEqual({ code: 4000, reason: `bye ${WS_VALUE}` });
    expect(messages).toEqual([`value=${WS_VALUE}`, `bin:${WS_VALUE}`, `frag1 ${WS_VALUE} end`]);
  });

  it('a scrubbed message larger than the held limit goes on in fragments and arrives whole', async () => {
    const ws = await open('/big');
    ws.send('go');
    expect((await nextMessage(ws)).text).toBe(`${'x'.repeat(MAX_HELD - 3)}${fx.ph.STRIPE}${'y'.repeat(2 * MAX_HELD)}`);
    ws.close();
  });
});

describe('the agent changes while the WebSocket is open', () => {
  it('a rotation applies to the next frame; a stop blocks the one after', async () => {
    const own = await agentWith(s, [{ key: 'STRIPE', value: 'first-value-1', allowed_domains: ['api.stripe.com'], inject_in: ['websocket'] }]);
    const ws = await open('/echo', { agent: own });
    ws.send(own.ph.STRIPE);
    await nextMessage(ws);
    expect((await s.call('PATCH', `/secrets/${own.ids.STRIPE}`, { body: { value: 'second-value-2' } })).status).toBe(200);
    ws.send(own.ph.STRIPE);
    await nextMessage(ws);
    expect(conns[0]!.messages.map((m) => m.text)).toEqual(['first-value-1', 'second-value-2']);
    expect((await s.call('POST', `/agents/${own.id}/stop`)).status).toBe(200);
    const done = closed(ws);
    ws.send(own.ph.STRIPE);
    expect(await done).toEqual({ code: 1008, reason: 'request blocked: agent is stopped' });
    expect(conns[0]!.messages).toHaveLength(2);
    expect(await lastBlocked()).toMatchObject({ agent_id: own.id, reason: 'agent is stopped' });
  });

  it('a token revoked while the WebSocket is open: its next placeholder closes it with 1008', async () => {
    const own = await agentWith(s, [{ key: 'STRIPE', value: 'token-bound-1', allowed_domains: ['api.stripe.com'], inject_in: ['websocket'] }]);
    const ws = await open('/echo', { agent: own });
    expect((await s.call('DELETE', `/agents/${own.id}/tokens/${own.tokenId}`)).status).toBe(204);
    const done = closed(ws);
    ws.send(own.ph.STRIPE);
    expect(await done).toEqual({ code: 1008, reason: 'proxy authentication required' });
    await conns[0]!.closed;
    expect(conns[0]!.messages).toEqual([]);
  });
});

describe('limits and hostile peers', () => {
  it('no byte either way for the idle limit: both sides are closed', async () => {
    const ws = await open('/silent');
    const started = Date.now();
    const done = closed(ws);
    await conns[0]!.closed;
    await done;
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 200);
  });

  /** An upgrade written by hand in a tunnel; resolves once the 101 head is read. */
  async function rawUpgrade(path: string): Promise<tls.TLSSocket> {
    const sock = await tunnel(s, fx, 'api.stripe.com:443');
    sock.write(`GET ${path} HTTP/1.1\r\nHost: api.stripe.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    let got = '';
    await new Promise<void>((resolve) => {
      const onData = (d: Buffer) => {
        got += d.toString('latin1');
        if (got.includes('\r\n\r\n')) {
          sock.off('data', onData);
          resolve();
        }
      };
      sock.on('data', onData);
    });
    expect(got.startsWith('HTTP/1.1 101 ')).toBe(true);
    return sock;
  }

  const agentSide: [string, Buffer][] = [
    ['garbage', Buffer.from('GET / HTTP/1.1\r\n\r\n')],
    ['an unmasked frame', encodeFrame({ fin: true, opcode: Opcode.text, payload: Buffer.from('hi') })],
    ['a compressed frame', encodeFrame({ fin: true, rsv: 4, opcode: Opcode.text, payload: Buffer.from('hi'), maskKey: Buffer.from('abcd') })],
    ['half a frame, then a reset', encodeFrame({ fin: true, opcode: Opcode.binary, payload: Buffer.alloc(1000), maskKey: Buffer.from('abcd') }).subarray(0, 40)],
  ];
  for (const [name, bytes] of agentSide) {
    it(`the agent sends ${name}: that connection ends, the proxy keeps serving`, async () => {
      const sock = await rawUpgrade('/echo');
      sock.write(bytes);
      await sleep(50);
      sock.destroy();
      await conns[0]!.closed;
      await stillServing();
    });
  }

  for (const path of ['/garbage', '/reset-mid']) {
    it(`the upstream sends ${path.slice(1)} after its 101: the agent's connection ends, the proxy keeps serving`, async () => {
      const ws = await client(path);
      ws.on('error', () => undefined);
      const done = closed(ws);
      await opened(ws);
      expect((await done).code).not.toBe(1000);
      await stillServing();
    });
  }

  it('the agent resets in the middle of a held text frame', async () => {
    const sock = await rawUpgrade('/echo');
    const frame = encodeFrame({ fin: true, opcode: Opcode.text, payload: Buffer.from(`x ${fx.ph.STRIPE} ${'z'.repeat(1000)}`), maskKey: Buffer.from('wxyz') });
    sock.write(frame.subarray(0, 30));
    await sleep(30);
    sock.destroy();
    await conns[0]!.closed;
    expect(conns[0]!.messages).toEqual([]);
    await stillServing();
  });
});
