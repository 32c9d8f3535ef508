// Proxy suites: an in-process test PKI, a recording HTTPS upstream that plays many host names,
// a real-TLS client through the proxy's CONNECT tunnel, and a raw-bytes tunnel for hand-written HTTP.
import { webcrypto } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import * as x509 from '@peculiar/x509';
import { startCli, type CliResult } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { agentWithToken, createSecret, createVault, envOf } from '../agents/helpers.js';

x509.cryptoProvider.set(webcrypto as never);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const day = 86_400_000;
type Keys = webcrypto.CryptoKeyPair;
export interface Issued { certPem: string; keyPem: string }
interface Ca extends Issued { cert: x509.X509Certificate; keys: Keys }

const pem = (der: ArrayBuffer, label: string) => `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
let serial = 1;
const nextSerial = () => (serial++).toString(16).padStart(8, '0').replace(/^0/, '1');

async function makeCa(name: string): Promise<Ca> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as Keys;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(), name: `CN=${name}`, notBefore: new Date(Date.now() - day), notAfter: new Date(Date.now() + 30 * day), keys, signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)],
  });
  return { cert, keys, certPem: cert.toString('pem'), keyPem: pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') };
}

async function makeLeaf(ca: Ca, names: string[], notBefore = new Date(Date.now() - day), notAfter = new Date(Date.now() + 7 * day)): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as Keys;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(), subject: `CN=${names[0]}`, issuer: ca.cert.subject, notBefore, notAfter, publicKey: keys.publicKey, signingKey: ca.keys.privateKey, signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]), new x509.SubjectAlternativeNameExtension(names.map((n) => (net.isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') };
}

/** Every name the upstream answers for with a good certificate (also the CONNECT_TO map). */
export const goodNames = ['api.stripe.com', 'files.stripe.com', 'a.b.stripe.com', 'stripe.com', 'evilstripe.com', 'api.stripe.com.evil.com', 'evil.com', 'xn--bcher-kva.example', 'api.x.com', 'api.openai.com', 'api.github.com', '127.0.0.1'];
/** Names whose certificate is bad in one way each. */
export const badNames = { expired: 'expired.test', wrongName: 'wrongname.test', unknownCa: 'unknownca.test' };

export interface Pki { dir: string; caFile: string; ca: Issued; good: Issued; byName: Map<string, Issued> }

/** `extraNames`: more names (wildcards allowed) the good leaf also carries, for an upstream of a suite's own. */
export async function makePki(extraNames: string[] = []): Promise<Pki> {
  const ca = await makeCa('vaultgate test upstream CA');
  const rogue = await makeCa('some other CA');
  const dir = mkdtempSync(join(tmpdir(), 'vg-proxy-pki-'));
  const good = await makeLeaf(ca, [...goodNames, ...extraNames]);
  const byName = new Map<string, Issued>([
    [badNames.expired, await makeLeaf(ca, [badNames.expired], new Date(Date.now() - 10 * day), new Date(Date.now() - day))],
    [badNames.wrongName, await makeLeaf(ca, ['other.example'])],
    [badNames.unknownCa, await makeLeaf(rogue, [badNames.unknownCa])],
  ]);
  const caFile = join(dir, 'upstream-ca.pem');
  writeFileSync(caFile, ca.certPem);
  return { dir, caFile, ca, good, byName };
}

/** One request as the upstream parsed it; `sni` is its TLS connection's server name, `connection` that connection's id. */
export interface Recorded { sni: string | null; method: string; url: string; rawHeaders: string[]; headers: IncomingHttpHeaders; body: Buffer; connection: number }
export type Handler = (req: Recorded, res: http.ServerResponse) => void;

export interface Upstream {
  port: number;
  /** The same recorder as plain HTTP (for absolute-form http:// through the proxy). */
  httpPort: number;
  requests: Recorded[];
  /** TLS connections opened since the last reset (id, SNI). */
  connections: { id: number; sni: string | null }[];
  /** Decrypted bytes received since the last reset, on any TLS connection (old keep-alive ones too). */
  received: Buffer[];
  /** Route by path prefix (the longest wins); the default answers 200 `ok`. */
  routes: Map<string, Handler>;
  reset(): void;
  close(): Promise<void>;
}

/** A recording HTTPS server on 127.0.0.1:0 choosing its certificate by SNI. */
export async function startUpstream(pki: Pki): Promise<Upstream> {
  const contexts = new Map([...pki.byName].map(([n, c]) => [n, tls.createSecureContext({ key: c.keyPem, cert: c.certPem })]));
  const up: Upstream = { port: 0, httpPort: 0, requests: [], connections: [], received: [], routes: new Map(), reset: () => ((up.requests.length = 0), (up.connections.length = 0), (up.received.length = 0)), close: async () => {} };
  let ids = 0;
  const server = https.createServer({ key: pki.good.keyPem, cert: pki.good.certPem, SNICallback: (name, cb) => cb(null, contexts.get(name)) });
  server.on('secureConnection', (sock: tls.TLSSocket) => {
    const id = ++ids;
    up.connections.push({ id, sni: (sock as unknown as { servername?: string | false }).servername || null });
    (sock as unknown as { vgId: number }).vgId = id;
    sock.on('data', (d: Buffer) => up.received.push(Buffer.from(d)));
  });
  const plain = http.createServer();
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const sock = req.socket as tls.TLSSocket & { servername?: string | false; vgId?: number };
      const rec: Recorded = { sni: sock.servername || null, method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, headers: req.headers, body: Buffer.concat(parts), connection: sock.vgId ?? -1 };
      up.requests.push(rec);
      const route = [...up.routes].filter(([prefix]) => rec.url.startsWith(prefix)).sort((x, y) => y[0].length - x[0].length)[0];
      if (route) route[1](rec, res);
      else res.end('ok');
    });
  };
  server.on('request', onRequest);
  plain.on('request', onRequest);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  up.port = (server.address() as net.AddressInfo).port;
  up.httpPort = (plain.address() as net.AddressInfo).port;
  const stop = (srv: http.Server) => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); });
  up.close = async () => { await Promise.all([stop(server), stop(plain)]); };
  return up;
}

/** VAULTGATE_PROXY_CONNECT_TO: every test name on 443 (TLS) and 80 (plain), plus `extra` (`host:port`, TLS). */
export function connectTo(up: Upstream, extra: string[] = []): string {
  const tlsNames = [...goodNames.map((n) => `${n}:443`), ...Object.values(badNames).map((n) => `${n}:443`), ...extra];
  return [...tlsNames.map((hp) => `${hp}=127.0.0.1:${up.port}`), ...goodNames.map((n) => `${n}:80=127.0.0.1:${up.httpPort}`)].join(',');
}

export interface World { s: TestServer; up: Upstream; pki: Pki; close(): Promise<void> }

/** One Vaultgate (API + proxy) and one upstream for a whole file. */
export async function startWorld(opts: { allowPrivate?: boolean; extraConnect?: string[]; env?: Record<string, string> } = {}): Promise<World> {
  const pki = await makePki();
  const up = await startUpstream(pki);
  const s = await startTestServer({ env: { VAULTGATE_PROXY_CONNECT_TO: connectTo(up, opts.extraConnect), VAULTGATE_UPSTREAM_CA_FILE: pki.caFile, ...(opts.allowPrivate === false ? {} : { VAULTGATE_PROXY_ALLOW_PRIVATE: '1' }), ...opts.env } });
  return { s, up, pki, close: async () => { await s.close(); await up.close(); } };
}

/** `value` is an object for the credential types other than `static` (then `type` and, for aws_sigv4, `regions` and `services`). */
export interface SecretSpec { key: string; value: string | Record<string, string>; allowed_domains?: string[]; inject_in?: string[]; rules?: unknown; rate_limit?: unknown; type?: string; regions?: string[]; services?: string[] }
/** The secret env keys the proxy suites use (typed so that `fx.ph.K` is a string under noUncheckedIndexedAccess). */
export type Key = 'K' | 'STRIPE_KEY' | 'OWN' | 'STRIPE' | 'WILD' | 'PORT' | 'EVERY' | 'IDN' | 'CRLF' | 'EXACT' | 'BAD' | 'R' | 'U' | 'B';
export interface AgentFx { id: string; token: string; tokenId: string; auth: string; env: Record<string, string>; ph: Record<Key, string>; ids: Record<string, string>; ca: string; proxyUrl: string; vaultId: string }

let fixtures = 0;
/** A vault with these secrets, an agent attached to it, a token, its environment and the proxy CA. */
export async function agentWith(s: TestServer, secrets: SecretSpec[], vaultIds: string[] = []): Promise<AgentFx> {
  fixtures += 1;
  const v = await createVault(s, `pv-${fixtures}-${Date.now()}`);
  const ids: Record<string, string> = {};
  for (const sec of secrets) {
    const { key, value, ...extra } = sec;
    ids[key] = (await createSecret(s, v.id, key, '', { ...extra, value })).id;
  }
  const a = await agentWithToken(s, { name: `pa-${fixtures}-${Date.now()}`, vault_ids: [v.id, ...vaultIds] });
  const env = await envOf(s, a.token);
  const res = await s.call('GET', `${s.url}/api/agent/v1/environment`, { key: a.token });
  return { id: a.agent.id, token: a.token, tokenId: a.tokenId, auth: `${a.agent.id}:${a.token}`, env, ph: env as Record<Key, string>, ids, ca: res.json.ca_certificate, proxyUrl: res.json.proxy_url, vaultId: v.id };
}

export function proxyAddr(s: TestServer): { host: string; port: number } {
  const u = new URL(s.server.proxyUrl);
  return { host: u.hostname, port: Number(u.port) };
}

const basic = (auth: string) => `Basic ${Buffer.from(auth).toString('base64')}`;

/** CONNECT by hand; resolves with the status, the whole head and (on failure) the body. */
export async function connect(s: TestServer, authority: string, auth: string | null, extraHeaders = ''): Promise<{ status: number; head: string; body: string; socket: net.Socket }> {
  const { host, port } = proxyAddr(s);
  const socket = net.connect(port, host);
  await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth === null ? '' : `Proxy-Authorization: ${basic(auth)}\r\n`}${extraHeaders}\r\n`);
  let buf = Buffer.alloc(0);
  await new Promise<void>((resolve) => {
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.includes('\r\n\r\n')) { socket.off('data', onData); resolve(); }
    };
    socket.on('data', onData).once('close', resolve);
  });
  const end = buf.indexOf('\r\n\r\n');
  const head = buf.subarray(0, end < 0 ? buf.length : end).toString('latin1');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  let body = end < 0 ? '' : buf.subarray(end + 4).toString('utf8');
  if (status !== 200) body += await readAll(socket, 2000);
  return { status, head, body, socket };
}

/** Everything a socket still sends, until it closes or stays silent for `idleMs`. */
export function readAll(sock: net.Socket, idleMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let timer = setTimeout(done, idleMs);
    function done() { clearTimeout(timer); sock.off('data', onData); resolve(Buffer.concat(parts).toString('latin1')); }
    function onData(d: Buffer) { parts.push(d); clearTimeout(timer); timer = setTimeout(done, idleMs); }
    sock.on('data', onData).once('close', done).once('error', done);
  });
}

const hostOf = (authority: string) => authority.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');

/**
 * TLS over an established tunnel. An IP name sends no SNI; its leaf's chain is verified but not
 * its IP SAN (the minted SAN is wrong for `::ffff:a.b.c.d`, a reported cosmetic bug).
 */
export function tlsTo(socket: net.Socket, ca: string, name: string): tls.TLSSocket {
  const ip = net.isIP(name) !== 0;
  const sock = tls.connect({ socket, ca, ALPNProtocols: ['http/1.1'], ...(ip ? { checkServerIdentity: () => undefined } : { servername: name }) });
  sock.once('close', () => socket.destroy());
  return sock;
}

/** CONNECT, then TLS to the proxy's minted leaf; rejects when the handshake fails. */
export async function tunnel(s: TestServer, fx: { auth: string; ca: string }, authority: string, servername?: string): Promise<tls.TLSSocket> {
  const c = await connect(s, authority, fx.auth);
  if (c.status !== 200) throw new Error(`CONNECT ${authority} → ${c.status} ${c.body}`);
  const sock = tlsTo(c.socket, fx.ca, servername ?? hostOf(authority));
  await new Promise<void>((r, j) => sock.once('secureConnect', r).once('error', j));
  return sock;
}

/** Hand-written bytes inside a tunnel; returns what came back until close or silence. */
export async function raw(s: TestServer, fx: { auth: string; ca: string }, authority: string, bytes: string | Buffer, idleMs = 1500): Promise<string> {
  const sock = await tunnel(s, fx, authority);
  sock.write(bytes);
  const out = await readAll(sock, idleMs);
  sock.destroy();
  return out;
}

export interface SendOpts { authority?: string; servername?: string; method?: string; path?: string; headers?: Record<string, string> | [string, string][]; body?: string | Buffer | (string | Buffer)[] }
export interface Sent { status: number; statusMessage: string; headers: IncomingHttpHeaders; rawHeaders: string[]; body: Buffer; text: string; json: any }

/** One request with Node's HTTP client through a real CONNECT + TLS tunnel; a body array is written piece by piece. */
export async function send(s: TestServer, fx: { auth: string; ca: string }, o: SendOpts = {}): Promise<Sent> {
  const authority = o.authority ?? 'api.stripe.com:443';
  const c = await connect(s, authority, fx.auth);
  if (c.status !== 200) return { status: c.status, statusMessage: 'CONNECT', headers: {}, rawHeaders: [], body: Buffer.from(c.body), text: c.body, json: parse(c.body) };
  const sock = tlsTo(c.socket, fx.ca, o.servername ?? hostOf(authority));
  const headers: [string, string][] = Array.isArray(o.headers) ? o.headers : Object.entries(o.headers ?? {});
  if (!headers.some(([k]) => k.toLowerCase() === 'host')) headers.unshift(['Host', authority.replace(/:443$/, '')]);
  return new Promise<Sent>((resolve, reject) => {
    const req = http.request({ createConnection: () => sock, method: o.method ?? 'GET', path: o.path ?? '/', headers: headers.flat() as unknown as http.OutgoingHttpHeaders, setHost: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const body = Buffer.concat(parts);
        sock.destroy();
        resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers, rawHeaders: res.rawHeaders, body, text: body.toString('utf8'), json: parse(body.toString('utf8')) });
      });
    });
    req.on('error', (e) => { sock.destroy(); reject(e); });
    void (async () => {
      const pieces = o.body === undefined ? [] : Array.isArray(o.body) ? o.body : [o.body];
      for (const p of pieces) {
        await new Promise<void>((r) => req.write(p, () => r()));
        if (pieces.length > 1) await new Promise((r) => setTimeout(r, 1));
      }
      req.end();
    })();
  });
}

function parse(text: string): any {
  try { return JSON.parse(text); } catch { return undefined; }
}

/** The 403 body of a blocked request. */
export const blocked = (reason: string) => ({ error: `request blocked: ${reason}`, code: 'proxy_blocked' });

/** Header value of a recorded request (first occurrence, case-insensitive). */
export function header(rec: Recorded, name: string): string | undefined {
  for (let i = 0; i < rec.rawHeaders.length; i += 2) if (rec.rawHeaders[i]!.toLowerCase() === name.toLowerCase()) return rec.rawHeaders[i + 1];
  return undefined;
}

/** All bytes the upstream ever received, decrypted, as one latin1 string (for canary searches). */
export const allUpstreamBytes = (up: Upstream) => Buffer.concat(up.received).toString('latin1');

/** An absolute-form plain-http request to the proxy (no CONNECT); `auth` null sends no Proxy-Authorization. */
export function sendPlain(s: TestServer, auth: string | null, url: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Sent> {
  const { host, port } = proxyAddr(s);
  return new Promise<Sent>((resolve, reject) => {
    const headers = { ...(auth === null ? {} : { 'Proxy-Authorization': basic(auth) }), ...o.headers };
    const req = http.request({ host, port, method: o.method ?? 'GET', path: url, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const body = Buffer.concat(parts);
        resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers, rawHeaders: res.rawHeaders, body, text: body.toString('utf8'), json: parse(body.toString('utf8')) });
      });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

export type RunResult = Omit<CliResult, 'signal'>;

/**
 * `node dist/cli/main.js run --agent <agent> -- <command…>` from a parent environment built from
 * nothing (PATH, HOME, the vault's URL and operator key, then `env`): the CA variables this machine
 * may preset (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, …) never help the child.
 */
export async function runAs(s: TestServer, agent: string, command: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<RunResult> {
  const { code, stdout, stderr } = await startCli(['run', '--agent', agent, '--', ...command], { server: s, env: { HOME: process.env.HOME ?? '/tmp', ...opts.env }, cwd: opts.cwd }).done;
  return { code, stdout, stderr };
}
