// HTTP/2 through the proxy: h2 is offered by ALPN only when the upstream speaks it; streams are
// checked, substituted, blocked, scrubbed and audited as HTTP/1.1 requests are; trailers are relayed.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http2, { type IncomingHttpHeaders } from 'node:http2';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/server.js';
import { eventsOf } from '../agents/helpers.js';
import { agentWith, connect, connectTo, makePki, proxyAddr, startUpstream, type AgentFx, type Pki, type Upstream } from './helpers.js';
import type { TestServer } from '../helpers/server.js';

/** One request as the HTTP/2 upstream saw it. */
interface H2Seen { headers: IncomingHttpHeaders; body: Buffer; alpn: string | false }

interface H2Upstream {
  port: number;
  seen: H2Seen[];
  /** What to answer, by path; the default echoes nothing and says `h2 ok`. */
  routes: Map<string, (seen: H2Seen, stream: http2.ServerHttp2Stream) => void>;
  close(): Promise<void>;
}

async function startH2Upstream(pki: Pki): Promise<H2Upstream> {
  const up: H2Upstream = { port: 0, seen: [], routes: new Map(), close: async () => {} };
  const server = http2.createSecureServer({ key: pki.good.keyPem, cert: pki.good.certPem, allowHTTP1: false });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.on('end', () => {
      const seen: H2Seen = { headers, body: Buffer.concat(parts), alpn: (stream.session?.socket as tls.TLSSocket | undefined)?.alpnProtocol ?? false };
      up.seen.push(seen);
      const route = up.routes.get(String(headers[':path']).split('?')[0]!);
      if (route) return route(seen, stream);
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.end('h2 ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  up.port = (server.address() as net.AddressInfo).port;
  up.close = () => new Promise<void>((r) => server.close(() => r()));
  return up;
}

const VALUE = 'sk_h2_value_Q9x+/=';
const OTHER = 'other-value-for-echo-7';
let pki: Pki;
let h1: Upstream;
let h2: H2Upstream;
let s: TestServer;
let fx: AgentFx;
let caFile: string;

beforeAll(async () => {
  pki = await makePki();
  h1 = await startUpstream(pki);
  h2 = await startH2Upstream(pki);
  // api.x.com and files.stripe.com speak HTTP/2; every other name is the HTTP/1.1-only recorder.
  const env = {
    VAULTGATE_PROXY_CONNECT_TO: `${connectTo(h1)},api.x.com:443=127.0.0.1:${h2.port},files.stripe.com:443=127.0.0.1:${h2.port}`,
    VAULTGATE_UPSTREAM_CA_FILE: pki.caFile,
    VAULTGATE_PROXY_ALLOW_PRIVATE: '1',
  };
  s = await startTestServer({ env });
  fx = await agentWith(s, [
    { key: 'K', value: VALUE, allowed_domains: ['api.x.com', 'api.stripe.com'] },
    { key: 'R', value: OTHER, allowed_domains: ['files.stripe.com'] },
    { key: 'B', value: 'body-value-Bq7', allowed_domains: ['api.x.com'], inject_in: ['header', 'body'] },
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'vg-h2-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, fx.ca);
});
afterAll(async () => {
  await s.close();
  await h1.close();
  await h2.close();
});
beforeEach(() => {
  h1.reset();
  h2.seen.length = 0;
  h2.routes.clear();
});

/** An HTTP/2 session through a CONNECT tunnel (the client offers h2 and http/1.1). */
async function h2Session(authority: string, servername = authority.replace(/:\d+$/, '')): Promise<{ session: http2.ClientHttp2Session; alpn: string | false }> {
  const c = await connect(s, authority, fx.auth);
  if (c.status !== 200) throw new Error(`CONNECT → ${c.status}`);
  const socket = tls.connect({ socket: c.socket, ca: fx.ca, servername, ALPNProtocols: ['h2', 'http/1.1'] });
  await new Promise<void>((r, j) => socket.once('secureConnect', r).once('error', j));
  const alpn = socket.alpnProtocol ?? false;
  const session = http2.connect(`https://${authority}`, { createConnection: () => socket });
  session.on('error', () => undefined);
  return { session, alpn };
}

interface H2Answer { status: number; headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders; body: string; reset: number | null }

function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string | Buffer): Promise<H2Answer> {
  return new Promise((resolve) => {
    const req = session.request(headers, { endStream: body === undefined });
    let answer: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const parts: Buffer[] = [];
    req.on('response', (h) => (answer = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('error', () => undefined);
    req.on('close', () => resolve({ status: Number(answer[':status'] ?? 0), headers: answer, trailers, body: Buffer.concat(parts).toString(), reset: req.rstCode === http2.constants.NGHTTP2_NO_ERROR ? null : req.rstCode }));
    if (body !== undefined) req.end(body);
  });
}

const get = (path: string, extra: http2.OutgoingHttpHeaders = {}, authority = 'api.x.com') => ({ ':method': 'GET', ':path': path, ':scheme': 'https', ':authority': authority, ...extra });

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { host, port } = proxyAddr(s);
  const env = { PATH: process.env.PATH ?? '', HOME: tmpdir() };
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--proxy', `http://${host}:${port}`, '--proxy-user', fx.auth, '--cacert', caFile, ...args], { env }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('HEAD over h2 where responses are scrubbed', () => {
  it('the answer ends with its headers and keeps its Content-Length', async () => {
    h2.routes.set('/head', (_seen, stream) => stream.respond({ ':status': 200, 'content-length': '4321' }, { endStream: true }));
    const { session } = await h2Session('api.x.com:443');
    const r = await h2Request(session, { ...get('/head', { authorization: `Bearer ${fx.ph.K}` }), ':method': 'HEAD' });
    session.close();
    expect([r.status, r.headers['content-length'], r.body, r.reset]).toEqual([200, '4321', '', null]);
    expect(h2.seen[0]!.headers[':method']).toBe('HEAD');
  });
});

describe('ALPN: h2 only where the upstream speaks it', () => {
  it('an h2 upstream gets h2 offered and the request arrives over h2, the value substituted byte for byte', async () => {
    const { session, alpn } = await h2Session('api.x.com:443');
    const r = await h2Request(session, get('/v1/h2', { authorization: `Bearer ${fx.ph.K}` }));
    session.close();
    expect([alpn, r.status, r.body]).toEqual(['h2', 200, 'h2 ok']);
    expect(h2.seen).toHaveLength(1);
    expect(h2.seen[0]!.alpn).toBe('h2');
    expect(h2.seen[0]!.headers.authorization).toBe(`Bearer ${VALUE}`);
    expect(h2.seen[0]!.headers[':authority']).toBe('api.x.com');
    const injected = (await eventsOf(s, 'proxy.injected')).at(-1);
    expect([injected.secret_id, injected.details.host, injected.details.surfaces]).toEqual([fx.ids.K, 'api.x.com', ['header']]);
  });

  it('an HTTP/1.1-only upstream: the client is offered http/1.1 and is served over it', async () => {
    const { alpn } = await h2Session('api.stripe.com:443').then(async (x) => (x.session.destroy(), x)).catch(() => ({ alpn: 'failed' as const }));
    // http2.connect on an http/1.1 socket cannot work: what matters is what the proxy chose.
    expect(alpn).toBe('http/1.1');
    const r = await curl(['--http2', '-w', '\n%{http_version}', '-H', `Authorization: Bearer ${fx.ph.K}`, 'https://api.stripe.com/v1/over-h1']);
    expect([r.code, r.stdout]).toEqual([0, 'ok\n1.1']);
    expect(h1.requests.map((q) => [q.url, q.headers.authorization])).toEqual([['/v1/over-h1', `Bearer ${VALUE}`]]);
  });

  it('curl --http2 speaks h2 end to end to an h2 upstream', async () => {
    const r = await curl(['--http2', '-w', '\n%{http_version}', '-H', `Authorization: Bearer ${fx.ph.K}`, 'https://api.x.com/v1/curl']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'h2 ok\n2', '']);
    expect(h2.seen.map((x) => [x.headers[':path'], x.headers.authorization])).toEqual([['/v1/curl', `Bearer ${VALUE}`]]);
  });

  it('curl --http2 with a body: the body arrives whole; a placeholder in it (header-only secret) is blocked', async () => {
    const ok = await curl(['--http2', '-X', 'POST', '--data-binary', 'a=1&b=2', 'https://api.x.com/v1/body']);
    expect([ok.code, ok.stdout]).toEqual([0, 'h2 ok']);
    expect(h2.seen.map((x) => x.body.toString())).toEqual(['a=1&b=2']);
    const bad = await curl(['--http2', '-X', 'POST', '--data-binary', `a=${fx.ph.K}`, 'https://api.x.com/v1/body']);
    expect(JSON.parse(bad.stdout)).toEqual({ error: 'request blocked: secret may not be sent in the body', code: 'proxy_blocked' });
    expect(h2.seen).toHaveLength(1);
  });
});

describe('HTTP/2 streams obey the same rules', () => {
  it(':authority must name the CONNECT destination; Host must agree with it', async () => {
    const { session } = await h2Session('api.x.com:443');
    const other = await h2Request(session, get('/x', { authorization: `Bearer ${fx.ph.K}` }, 'evil.com'));
    const disagree = await h2Request(session, get('/x', { host: 'evil.com' }));
    const scheme = await h2Request(session, { ...get('/x'), ':scheme': 'http' });
    const fine = await h2Request(session, get('/fine'));
    session.close();
    expect([other.status, JSON.parse(other.body).error]).toEqual([403, 'request blocked: Host does not match the CONNECT destination']);
    expect([disagree.status, JSON.parse(disagree.body).error]).toEqual([403, 'request blocked: Host does not match the CONNECT destination']);
    expect([scheme.status, JSON.parse(scheme.body).error]).toEqual([403, 'request blocked: request target names another scheme']);
    // A refused stream leaves the session's other streams working.
    expect([fine.status, fine.body]).toEqual([200, 'h2 ok']);
    expect(h2.seen.map((x) => x.headers[':path'])).toEqual(['/fine']);
  });

  it('a placeholder for another host is blocked and audited; nothing reaches the upstream', async () => {
    const { session } = await h2Session('files.stripe.com:443');
    const r = await h2Request(session, get('/v1/x', { authorization: `Bearer ${fx.ph.K}` }, 'files.stripe.com'));
    session.close();
    expect([r.status, JSON.parse(r.body)]).toEqual([403, { error: 'request blocked: destination not allowed for this secret', code: 'proxy_blocked' }]);
    expect(h2.seen).toHaveLength(0);
    const last = (await eventsOf(s, 'proxy.blocked')).at(-1);
    expect([last.secret_id, last.reason, last.details.host]).toEqual([fx.ids.K, 'destination not allowed for this secret', 'files.stripe.com']);
  });

  it('a placeholder in :authority is refused before anything is dialled', async () => {
    const { session } = await h2Session('api.x.com:443');
    const r = await h2Request(session, get('/x', {}, `${fx.ph.K}.api.x.com`));
    session.close();
    expect([r.status, JSON.parse(r.body).error]).toEqual([403, 'request blocked: placeholder in the destination']);
    expect(h2.seen).toHaveLength(0);
  });

  it('Basic credentials in HTTP/2 headers are substituted', async () => {
    const { session } = await h2Session('api.x.com:443');
    const basic = Buffer.from(`x-access-token:${fx.ph.K}`).toString('base64');
    await h2Request(session, get('/basic', { authorization: `Basic ${basic}` }));
    session.close();
    expect(h2.seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`x-access-token:${VALUE}`).toString('base64')}`);
  });

  it('many concurrent streams on one session each get their value', async () => {
    const { session } = await h2Session('api.x.com:443');
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => h2Request(session, get(`/many/${i}`, { authorization: `Bearer ${fx.ph.K}` }))));
    session.close();
    expect(answers.every((a) => a.status === 200 && a.body === 'h2 ok')).toBe(true);
    expect(h2.seen).toHaveLength(40);
    expect(new Set(h2.seen.map((x) => x.headers.authorization))).toEqual(new Set([`Bearer ${VALUE}`]));
  });

  it('echoes are scrubbed in headers, body and trailers; trailers are relayed', async () => {
    h2.routes.set('/echo', (_seen, stream) => {
      stream.respond({ ':status': 200, 'x-echo': `k=${VALUE}`, 'content-type': 'text/plain' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-trailer': `t=${VALUE}`, 'x-plain': 'kept' }));
      stream.write(`first ${VALUE} `);
      stream.end(`second ${Buffer.from(VALUE).toString('base64')}`);
    });
    const { session } = await h2Session('api.x.com:443');
    const r = await h2Request(session, get('/echo'));
    session.close();
    const ph = fx.ph.K;
    expect(r.headers['x-echo']).toBe(`k=${ph}`.toLowerCase() === r.headers['x-echo'] ? `k=${ph}`.toLowerCase() : `k=${ph}`);
    expect(r.body).toBe(`first ${ph} second ${ph}`);
    expect(r.trailers['x-trailer']).toBe(`t=${ph}`);
    expect(r.trailers['x-plain']).toBe('kept');
    expect(JSON.stringify([r.headers, r.trailers]) + r.body).not.toContain(VALUE);
  });

  it('a gRPC message never takes a value, even from a secret allowed in bodies: the stream is refused', async () => {
    const { session } = await h2Session('api.x.com:443');
    const message = Buffer.from(JSON.stringify({ token: fx.ph.B }));
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
    const r = await h2Request(session, { ...get('/vg.Test/Echo'), ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' }, framed);
    const plain = await h2Request(session, { ...get('/v1/form'), ':method': 'POST', 'content-type': 'application/x-www-form-urlencoded' }, `t=${fx.ph.B}`);
    session.close();
    expect([r.status, JSON.parse(r.body).error]).toEqual([403, 'request blocked: placeholder in a gRPC message']);
    expect(h2.seen.map((x) => x.body.toString())).toEqual(['t=body-value-Bq7']);
    expect(plain.status).toBe(200);
    const blocked = (await eventsOf(s, 'proxy.blocked')).find((e) => e.reason === 'placeholder in a gRPC message');
    expect([blocked.secret_id, blocked.details.host]).toEqual([fx.ids.B, 'api.x.com']);
  });

  it('a trailers-only answer stays one header block (gRPC errors travel so)', async () => {
    h2.routes.set('/trailers-only', (_seen, stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'no' }, { endStream: true }));
    const { session } = await h2Session('api.x.com:443');
    const ended = await new Promise<boolean>((resolve) => {
      const req = session.request(get('/trailers-only'));
      req.on('response', (_h, flags) => resolve((flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0));
      req.resume();
    });
    session.close();
    expect(ended).toBe(true);
  });

  it('a reset upstream stream gives the agent a 502 on that stream only, and the proxy keeps serving', async () => {
    h2.routes.set('/reset', (_seen, stream) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    const { session } = await h2Session('api.x.com:443');
    const bad = await h2Request(session, get('/reset'));
    const good = await h2Request(session, get('/after'));
    session.close();
    expect(bad.status).toBe(502);
    expect([good.status, good.body]).toEqual([200, 'h2 ok']);
  });

  it('garbage after the h2 preface closes that tunnel only', async () => {
    const c = await connect(s, 'api.x.com:443', fx.auth);
    const socket = tls.connect({ socket: c.socket, ca: fx.ca, servername: 'api.x.com', ALPNProtocols: ['h2'] });
    await new Promise<void>((r, j) => socket.once('secureConnect', r).once('error', j));
    socket.on('error', () => undefined);
    // Read what the proxy answers (its SETTINGS, then GOAWAY), so the end of the stream is seen.
    socket.resume();
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.alloc(64, 0xff)]));
    await new Promise<void>((r) => socket.once('close', () => r()));
    const { session } = await h2Session('api.x.com:443');
    const r = await h2Request(session, get('/still'));
    session.close();
    expect(r.status).toBe(200);
  });
});

describe('Python httpx with http2=True', () => {
  it('reaches the h2 upstream over h2 with the value', async () => {
    const { host, port } = proxyAddr(s);
    const py = [
      'import httpx, os',
      `c = httpx.Client(http2=True, proxies="http://${fx.auth}@${host}:${port}", verify=os.environ["CA"])`,
      `r = c.get("https://api.x.com/v1/httpx", headers={"Authorization": "Bearer " + os.environ["K"]})`,
      'print(r.http_version, r.status_code, r.text)',
    ].join('\n');
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('/usr/bin/python3', ['-c', py], { env: { PATH: process.env.PATH ?? '', CA: caFile, K: fx.ph.K } }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
    });
    expect([out.code, out.stdout.trim()], out.stderr).toEqual([0, 'HTTP/2 200 h2 ok']);
    expect(h2.seen.map((x) => x.headers.authorization)).toEqual([`Bearer ${VALUE}`]);
  });
});
