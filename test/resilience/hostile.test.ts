// SPEC §9 black-box: a separate server process takes resets, half-closes, stalls, slowloris and a
// seeded fuzzer on both ports, and after every stage is the same process, still serving both.
import http2 from 'node:http2';
import type net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { fuzzCases, type FuzzCase } from './hostile-fuzz.js';
import { basic, h2Host, healthz, limits, proxiedGet, rssKb, startHostile, type Hostile } from './hostile-server.js';
import { allEndings, clientHello, closeWithin, dial, finish, pool, readHead, release, send, watch, type Ending } from './hostile-wire.js';

const reps = 20;
const width = 10;
const timeout = 120_000;
const fuzzCount = 300;
const seed = Number(process.env.VAULTGATE_FUZZ_SEED || 0x5eed);
if (!Number.isSafeInteger(seed)) throw new Error('VAULTGATE_FUZZ_SEED must be an integer');

let h: Hostile;
let hello: Buffer;
let firstPid = 0;
/** Sockets of the current stage left stalled; released after the first health check. */
const held: net.Socket[] = [];
/** Answers a stage saw that the spec does not allow; asserted after the health checks. */
const oddities: string[] = [];

beforeAll(async () => {
  [h, hello] = await Promise.all([startHostile(), clientHello('api.stripe.com')]);
  firstPid = h.child.pid;
}, 60_000);
afterAll(async () => {
  release(held);
  await h?.close();
});
// A crash fails its own test; the next one gets a fresh process, so that every stage reports.
beforeEach(async () => {
  release(held);
  oddities.length = 0;
  await h.ensureUp();
});

/** (a) not exited, (b) same live pid, (c) a proxied HTTPS request answers 200, (d) /healthz answers 200. */
async function expectServing(pid: number, label: string): Promise<void> {
  const [proxied, health] = await Promise.all([proxiedGet(h).catch((e: Error) => ({ status: 0, body: e.message })), healthz(h.apiPort)]);
  const why = `${label}: exit ${JSON.stringify(h.child.exit)}\n--- child stderr ---\n${h.child.stderr.slice(-4000)}`;
  expect(h.child.exit, why).toBeNull();
  expect(h.child.pid, why).toBe(pid);
  expect(() => process.kill(pid, 0), why).not.toThrow();
  expect(proxied, why).toEqual({ status: 200, body: 'ok' });
  expect(health, why).toBe(200);
  expect(h.child.stderr, why).not.toMatch(/uncaught|unhandled|ERR_UNHANDLED_ERROR/i);
}

/** `attempt` `reps` times per ending, `width` at a time; then the checks with stalls open, and again after releasing them. */
async function stage(label: string, endings: Ending[], attempt: (how: Ending, i: number) => Promise<void>, times = reps): Promise<void> {
  const pid = h.child.pid;
  const jobs = endings.flatMap((how) => Array.from({ length: times }, (_, i) => [how, i] as const));
  await pool(jobs.length, width, (j) => attempt(...jobs[j]!));
  await expectServing(pid, held.length > 0 ? `${label} (stalled sockets open)` : label);
  release(held);
  await expectServing(pid, label);
  expect(oddities, label).toEqual([]);
}

const connectHead = (authority: string, auth?: string) => `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`;
const valid = () => h.agent.basic;

/** Sends `bytes` on a fresh connection, then ends it `how`. */
async function cutAt(port: number, bytes: string | Buffer, how: Ending): Promise<void> {
  const sock = await dial(port);
  await send(sock, bytes);
  await finish(how, sock, held);
}

/** Sends a head to the proxy, waits for the reply head (noting one that is not `status`), then ends `how`. */
async function afterReply(head: string, status: number, how: Ending): Promise<void> {
  const sock = await dial(h.proxyPort);
  const w = watch(sock);
  await send(sock, head);
  const got = await readHead(w, 5000);
  if (!got.startsWith(`HTTP/1.1 ${status}`)) oddities.push(`wanted ${status}, got ${JSON.stringify(got.slice(0, 80))}`);
  await finish(how, sock, held);
}

/** CONNECT api.stripe.com:443 with the agent's credentials, then TLS to the minted leaf; null (noted) if either fails. */
async function openTunnel(): Promise<{ raw: net.Socket; sec: tls.TLSSocket } | null> {
  const raw = await dial(h.proxyPort);
  const w = watch(raw);
  await send(raw, connectHead('api.stripe.com:443', valid()));
  const head = await readHead(w, 5000);
  if (!head.startsWith('HTTP/1.1 200')) return oddities.push(`tunnel: ${JSON.stringify(head.slice(0, 80))}`), raw.destroy(), null;
  const sec = tls.connect({ socket: raw, ca: h.agent.ca, servername: 'api.stripe.com', ALPNProtocols: ['http/1.1'] });
  sec.on('error', () => undefined);
  sec.resume();
  const ok = await new Promise<boolean>((r) => { sec.once('secureConnect', () => r(true)).once('close', () => r(false)); setTimeout(() => r(false), 5000); });
  if (!ok) return oddities.push('tunnel: TLS handshake failed'), raw.destroy(), null;
  return { raw, sec };
}

/** Opens a tunnel, sends `bytes` inside it, then ends it `how`. */
async function inTunnel(bytes: string, how: Ending): Promise<void> {
  const t = await openTunnel();
  if (!t) return;
  await send(t.sec, bytes);
  await finish(how, t.raw, held, t.sec);
}

it('the reported crash: CONNECT evil.test:443 with a wrong Proxy-Authorization, reset when the 407 arrives', () =>
  stage('evil.test reset on 407', ['reset'], () => afterReply(connectHead('evil.test:443', basic('agt_x:wrong')), 407, 'reset')), timeout);

it('50 resets after a 407 (no credentials and wrong ones) leave the server answering', () =>
  stage('50 resets after 407', ['reset'], (_how, i) => afterReply(connectHead('api.stripe.com:443', i % 2 ? basic('agt_x:wrong') : undefined), 407, 'reset'), 50), timeout);

it('proxy: mid request line', () => stage('proxy mid request line', allEndings, (how) => cutAt(h.proxyPort, 'CONN', how)), timeout);

it('proxy: mid CONNECT headers', () =>
  stage('proxy mid CONNECT headers', allEndings, (how) => cutAt(h.proxyPort, 'CONNECT api.stripe.com:443 HTTP/1.1\r\nHost: api.stripe.com:443\r\nProxy-Authoriz', how)), timeout);

it('proxy: right after the 407, without credentials', () =>
  stage('after 407, no credentials', ['reset', 'end'], (how) => afterReply(connectHead('api.stripe.com:443'), 407, how)), timeout);

it('proxy: right after the 407, with agt_x:wrong', () =>
  stage('after 407, wrong credentials', ['reset', 'end'], (how) => afterReply(connectHead('api.stripe.com:443', basic('agt_x:wrong')), 407, how)), timeout);

it('proxy: during authentication (valid-looking wrong token, gone before any reply)', () =>
  stage('during authentication', ['reset', 'end'], (how) => cutAt(h.proxyPort, connectHead('api.stripe.com:443', basic(`${h.agent.id}:vgat_${'x'.repeat(40)}`)), how)), timeout);

it('proxy: right after 200 Connection Established', () =>
  stage('after 200', allEndings, (how) => afterReply(connectHead('api.stripe.com:443', valid()), 200, how)), timeout);

it('proxy: mid TLS handshake (partial ClientHello, garbage after 16 03 01)', () =>
  stage('mid TLS handshake', allEndings, async (how, i) => {
    const sock = await dial(h.proxyPort);
    const w = watch(sock);
    await send(sock, connectHead('api.stripe.com:443', valid()));
    if (!(await readHead(w, 5000)).startsWith('HTTP/1.1 200')) oddities.push('CONNECT not answered 200');
    // Even i: a real ClientHello cut at 50 bytes; odd i: a record header then garbage (short, or shorter than it claims).
    const garbage = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, i % 4 === 1 ? 0x0a : 0xff]), Buffer.alloc(40, 0xa5)]);
    await send(sock, i % 2 === 0 ? hello.subarray(0, 50) : garbage);
    await finish(how, sock, held);
  }), timeout);

it('proxy: inside the tunnel, mid request head', () => stage('tunnel mid head', allEndings, (how) => inTunnel('GET / HTTP/1.1\r\nHost: api.stri', how)), timeout);

it('proxy: inside the tunnel, mid request body (1000 of 100000 bytes)', () =>
  stage('tunnel mid body', allEndings, (how) => inTunnel(`POST / HTTP/1.1\r\nHost: api.stripe.com\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n${'a'.repeat(1000)}`, how)), timeout);

it('proxy: while the upstream streams its answer', () =>
  stage('during a slow answer', allEndings, async (how) => {
    const t = await openTunnel();
    if (!t) return;
    const w = watch(t.sec);
    await send(t.sec, 'GET /slow HTTP/1.1\r\nHost: api.stripe.com\r\n\r\n');
    if (!(await w.until((s) => s.includes('tick'), 5000))) oddities.push(`no first chunk: ${JSON.stringify(w.text().slice(0, 80))}`);
    await finish(how, t.raw, held, t.sec);
  }), timeout);

it('proxy: the upstream resets its own socket mid-response; the client gets a clean close', () =>
  stage('upstream reset', ['end'], async () => {
    const t = await openTunnel();
    if (!t) return;
    const w = watch(t.sec);
    await send(t.sec, 'GET /upreset HTTP/1.1\r\nHost: api.stripe.com\r\n\r\n');
    if (!(await closeWithin(t.raw, 5000))) oddities.push(`client not closed 5 s after the upstream reset: ${JSON.stringify(w.text().slice(0, 80))}`);
  }), timeout);

/** A tunnel to the HTTP/2 upstream whose TLS chose h2 (noted if it did not). */
async function openH2Tunnel(): Promise<{ raw: net.Socket; sec: tls.TLSSocket } | null> {
  const raw = await dial(h.proxyPort);
  const w = watch(raw);
  await send(raw, connectHead(`${h2Host}:443`, valid()));
  if (!(await readHead(w, 5000)).startsWith('HTTP/1.1 200')) return oddities.push('h2 tunnel: CONNECT refused'), raw.destroy(), null;
  const sec = tls.connect({ socket: raw, ca: h.agent.ca, servername: h2Host, ALPNProtocols: ['h2'] });
  sec.on('error', () => undefined);
  const ok = await new Promise<boolean>((r) => { sec.once('secureConnect', () => r(true)).once('close', () => r(false)); setTimeout(() => r(false), 5000); });
  if (!ok || sec.alpnProtocol !== 'h2') return oddities.push(`h2 tunnel: ALPN ${String(sec.alpnProtocol)}`), raw.destroy(), null;
  return { raw, sec };
}

/** An HTTP/2 client session on such a tunnel. */
async function openH2Session(): Promise<{ raw: net.Socket; sec: tls.TLSSocket; session: http2.ClientHttp2Session } | null> {
  const t = await openH2Tunnel();
  if (!t) return null;
  const session = http2.connect(`https://${h2Host}`, { createConnection: () => t.sec });
  session.on('error', () => undefined);
  return { ...t, session };
}

const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** An empty SETTINGS frame, then the first 5 bytes of a HEADERS frame that claims 200 bytes. */
const h2Start = Buffer.concat([preface, Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]), Buffer.from([0, 0, 200, 1, 4])]);
const h2Headers = (path: string) => ({ ':method': 'POST', ':path': path, ':scheme': 'https', ':authority': h2Host, authorization: 'Bearer x' });

it('proxy, HTTP/2: mid preface, mid HEADERS frame, and garbage frames after the preface', async () => {
  await stage('h2 mid preface', allEndings, async (how) => {
    const t = await openH2Tunnel();
    if (!t) return;
    await send(t.sec, preface.subarray(0, 10));
    await finish(how, t.raw, held, t.sec);
  });
  await stage('h2 mid HEADERS', allEndings, async (how) => {
    const t = await openH2Tunnel();
    if (!t) return;
    await send(t.sec, h2Start);
    await finish(how, t.raw, held, t.sec);
  });
  await stage('h2 garbage frames', ['reset', 'end'], async (how, i) => {
    const t = await openH2Tunnel();
    if (!t) return;
    const garbage = Buffer.alloc(64 + i * 7, (i * 37) & 0xff);
    await send(t.sec, Buffer.concat([preface, garbage]));
    await finish(how, t.raw, held, t.sec);
  });
}, timeout);

it('proxy, HTTP/2: mid request body, and while the upstream streams its answer', async () => {
  await stage('h2 mid body', allEndings, async (how) => {
    const t = await openH2Session();
    if (!t) return;
    const req = t.session.request(h2Headers('/'), { endStream: false });
    req.on('error', () => undefined);
    req.write('a'.repeat(1000));
    await new Promise((r) => setTimeout(r, 20));
    await finish(how, t.raw, held, t.sec);
  });
  await stage('h2 during a slow answer', allEndings, async (how) => {
    const t = await openH2Session();
    if (!t) return;
    const req = t.session.request({ ...h2Headers('/slow'), ':method': 'GET' });
    req.on('error', () => undefined);
    const first = await new Promise<boolean>((r) => { req.once('data', () => r(true)); req.once('close', () => r(false)); setTimeout(() => r(false), 5000); });
    if (!first) oddities.push('h2: no first chunk of /slow');
    await finish(how, t.raw, held, t.sec);
  });
}, timeout);

it('proxy, HTTP/2: streams reset at once, 100 per session (rapid reset), and upstream stream resets', () =>
  stage('h2 rapid reset', ['reset', 'end'], async (how) => {
    const t = await openH2Session();
    if (!t) return;
    for (let i = 0; i < 100 && !t.session.destroyed; i++) {
      const req = t.session.request(h2Headers('/'), { endStream: false });
      req.on('error', () => undefined);
      req.close(http2.constants.NGHTTP2_CANCEL);
    }
    const reset = t.session.destroyed ? null : t.session.request({ ...h2Headers('/reset'), ':method': 'GET' });
    reset?.on('error', () => undefined);
    reset?.resume();
    const closed = await new Promise<boolean>((r) => { if (!reset) return r(true); reset.once('close', () => r(true)); setTimeout(() => r(false), 5000); });
    if (!closed) oddities.push(`h2: a stream the upstream reset was not closed within 5 s (session destroyed: ${t.session.destroyed})`);
    await finish(how, t.raw, held, t.sec);
  }, 5), timeout);

it('proxy: plain-http absolute form, mid head and mid body', async () => {
  const head = (method: string, extra: string) => `${method} http://api.stripe.com/ HTTP/1.1\r\nHost: api.stripe.com\r\nProxy-Authorization: ${valid()}\r\n${extra}`;
  await stage('plain http mid head', allEndings, (how) => cutAt(h.proxyPort, head('GET', 'X-Half: ab'), how));
  await stage('plain http mid body', allEndings, (how) => cutAt(h.proxyPort, head('POST', `Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n${'b'.repeat(1000)}`), how));
}, timeout);

it('api: mid request line, mid headers, mid JSON body', async () => {
  const auth = `Authorization: Bearer ${h.adminKey}\r\n`;
  await stage('api mid request line', allEndings, (how) => cutAt(h.apiPort, 'GET /heal', how));
  await stage('api mid headers', allEndings, (how) => cutAt(h.apiPort, `GET /api/public/v1/vaults HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth.slice(0, 30)}`, how));
  const body = `{"name":"${'a'.repeat(91)}`;
  await stage('api mid JSON body', allEndings, (how) => cutAt(h.apiPort, `POST /api/public/v1/vaults HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n${body}`, how));
}, timeout);

const sseHead = () => `GET /api/public/v1/audit/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.adminKey}\r\n\r\n`;

it('api: audit SSE stream ended after its first bytes', () =>
  stage('SSE after first bytes', ['reset', 'end'], async (how) => {
    const sock = await dial(h.apiPort);
    const w = watch(sock);
    await send(sock, sseHead());
    if (!(await w.until((s) => s.includes('retry:'), 5000))) oddities.push(`SSE: ${JSON.stringify(w.text().slice(0, 80))}`);
    await finish(how, sock, held);
  }), timeout);

it('api: audit SSE streams never read while 50 events are made', async () => {
  const pid = h.child.pid;
  const socks = await Promise.all(Array.from({ length: reps }, async () => {
    const sock = await dial(h.apiPort);
    sock.pause();
    await send(sock, sseHead());
    return sock;
  }));
  const made = await pool(50, width, (i) => h.call('POST', '/vaults', { body: { name: `sse-${i}` } }).then((r) => r.status));
  expect(made.filter((s) => s !== 201)).toEqual([]);
  await expectServing(pid, 'SSE never read (open)');
  socks.forEach((s) => s.destroy());
  await expectServing(pid, 'SSE never read');
}, timeout);

it('both ports: a 40 KiB header line gets 431 or a closed connection', async () => {
  const big = `X-Big: ${'a'.repeat(40 * 1024)}\r\n\r\n`;
  const oversize = async (port: number, head: string) => {
    const sock = await dial(port);
    const w = watch(sock);
    void send(sock, head + big);
    if (!(await closeWithin(sock, 5000))) oddities.push('oversized head: still open after 5 s');
    if (w.text() !== '' && !w.text().startsWith('HTTP/1.1 431')) oddities.push(`oversized head: ${JSON.stringify(w.text().slice(0, 80))}`);
  };
  await stage('api oversized header', ['end'], () => oversize(h.apiPort, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
  await stage('proxy oversized header', ['end'], () => oversize(h.proxyPort, connectHead('api.stripe.com:443', valid()).slice(0, -2)));
}, timeout);

it(`slowloris: 50 connections a port, one header byte per 200 ms, closed within ${limits.headersTimeoutMs} ms + 3 s`, async () => {
  const pid = h.child.pid;
  const drip = async (port: number, head: string) => {
    const sock = await dial(port);
    await send(sock, head);
    let n = 0;
    const timer = setInterval(() => void (sock.destroyed || sock.write(String.fromCharCode(97 + (n++ % 26)))), 200);
    sock.once('close', () => clearInterval(timer));
    return { sock, timer, closed: new Promise<void>((r) => (sock.destroyed ? r() : sock.once('close', () => r()))) };
  };
  const started = Date.now();
  const conns = await Promise.all([
    ...Array.from({ length: 50 }, () => drip(h.apiPort, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')),
    ...Array.from({ length: 50 }, () => drip(h.proxyPort, 'CONNECT api.stripe.com:443 HTTP/1.1\r\nHost: api.stripe.com:443\r\nX-Slow: ')),
  ]);
  await expectServing(pid, 'slowloris (dripping)');
  const deadline = started + limits.headersTimeoutMs + 3000;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(conns.map((c) => c.closed)), new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
  clearTimeout(timer);
  const open = conns.filter((c) => !c.sock.destroyed).length;
  conns.forEach((c) => (clearInterval(c.timer), c.sock.destroy()));
  await expectServing(pid, 'slowloris');
  expect(open, 'slowloris connections still open at the deadline').toBe(0);
}, timeout);

/** One fuzz input on its own connection, ended by the test after at most 2 s. */
async function runCase(port: number, c: FuzzCase): Promise<void> {
  const sock = await dial(port);
  const w = watch(sock);
  if (c.tunnel) {
    await send(sock, connectHead('api.stripe.com:443', valid()));
    if (!(await readHead(w, 2000)).startsWith('HTTP/1.1 200')) return void sock.destroy();
  }
  const seen = w.text().length;
  const body = c.bytes.subarray(0, c.cut);
  const step = Math.ceil(body.length / c.pieces) || 1;
  for (let at = 0; at < body.length && !sock.destroyed; at += step) await send(sock, body.subarray(at, at + step));
  if (c.ending === 'reset') {
    if (c.onReply) await w.until((t) => t.length > seen, 1000);
    if (!sock.destroyed) sock.resetAndDestroy();
  }
  if (c.ending === 'end') sock.end();
  await closeWithin(sock, 2000);
}

const describeCase = (c: FuzzCase) => `#${c.index} ${c.kind}${c.tunnel ? ' (tunnel)' : ''} ${c.ending}${c.ending === 'reset' && c.onReply ? ' on reply' : ''} at ${c.cut}/${c.bytes.length}: ${JSON.stringify(c.bytes.subarray(0, 120).toString('latin1'))}`;

for (const portName of ['proxy', 'api'] as const) {
  it(`fuzzer, ${portName} port: ${fuzzCount} seeded inputs (seed ${seed}; VAULTGATE_FUZZ_SEED=<n> runs another)`, async () => {
    const pid = h.child.pid;
    const port = portName === 'proxy' ? h.proxyPort : h.apiPort;
    const cases = fuzzCases(seed + (portName === 'proxy' ? 0 : 1), fuzzCount, { port: portName, proxyAuth: valid(), adminKey: h.adminKey, hello });
    const inFlight = new Set<number>();
    let atExit: number[] = [];
    h.child.proc.once('exit', () => (atExit = [...inFlight]));
    const rssBefore = rssKb(pid);
    await pool(cases.length, 20, async (i) => {
      inFlight.add(i);
      await runCase(port, cases[i]!);
      inFlight.delete(i);
    });
    const suspects = atExit.map((i) => describeCase(cases[i]!)).join('\n');
    expect(h.child.exit, `the server died with these inputs in flight:\n${suspects}\n--- stderr ---\n${h.child.stderr.slice(-3000)}`).toBeNull();
    await expectServing(pid, `fuzzer ${portName}`);
    const grownMb = (rssKb(pid) - rssBefore) / 1024;
    expect(grownMb, `RSS grew by ${grownMb.toFixed(1)} MB`).toBeLessThan(150);
  }, timeout);
}

it('memory: rounds of four concurrent 15 MiB uploads stream through without holding them (the RSS peak stays within 96 MB of its start)', async () => {
  const pid = h.child.pid;
  // No value may go into a body at files.stripe.com, so these bodies stream (SPEC §9).
  const round = async () => {
    const answers = await Promise.all(Array.from({ length: 4 }, () => proxiedGet(h, 20_000, { host: 'files.stripe.com', upload: 15 * 1024 * 1024 })));
    expect(answers).toEqual(Array.from({ length: 4 }, () => ({ status: 200, body: 'ok' })));
    expect(h.up.requests.filter((r) => r.sni === 'files.stripe.com').map((r) => r.body.length)).toEqual(Array.from({ length: 4 }, () => 15 * 1024 * 1024));
    h.up.reset();
  };
  // Warm up (the leaf for files.stripe.com, the code paths) with one small upload first.
  expect(await proxiedGet(h, 5000, { host: 'files.stripe.com', upload: 1024 })).toEqual({ status: 200, body: 'ok' });
  h.up.reset();
  const before = rssKb(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKb(pid))), 20);
  try {
    for (let i = 0; i < 3; i++) await round();
  } finally {
    clearInterval(sampler);
  }
  // Held whole (as before SPEC §9's streaming), the same rounds raised the peak by about 210 MB.
  expect((peak - before) / 1024, `RSS ${before} kB before, peak ${peak} kB`).toBeLessThan(96);
  await expectServing(pid, 'uploads');
}, timeout);

it('the server never died: the process of the first test is the one still serving', () => {
  expect(h.dead.map((c) => ({ pid: c.pid, exit: c.exit, stderr: c.stderr.slice(-600) }))).toEqual([]);
  expect(h.child.pid).toBe(firstPid);
});
