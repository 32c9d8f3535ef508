// The soak scenario's hostile traffic, one kind per function: each opens its own connection(s)
// to 127.0.0.1, misbehaves once and returns an outcome string; `expect` lists the outcomes that
// mean the server refused or survived the way SPEC §9 asks.
import { randomBytes, randomInt } from 'node:crypto';
import { Readable } from 'node:stream';
import { Client } from 'undici';
import { connectTunnel, connector, openTls } from './proxy-connect.mjs';
import { sleep } from './proc.mjs';
import { dial, readHead, rst, writeRepeated } from './soak-wire.mjs';

const pick = (xs) => xs[randomInt(xs.length)];
const basic = (auth) => `Basic ${Buffer.from(auth).toString('base64')}`;
const PAD = `X-Pad: ${'a'.repeat(64 * 1024)}\r\n`;

/** CONNECT spec for `servername` through the proxy with the agent's valid credentials. */
export function tunnelSpec(s, servername) {
  return { proxy: { host: '127.0.0.1', port: s.proxyPort, auth: s.proxyAuth }, servername, ca: s.proxyCa };
}

function connectHead(s, host, auth) {
  return `CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}`;
}

async function resetAfter407(s) {
  const sock = await dial(s.proxyPort);
  sock.write(`${connectHead(s, s.host, null)}\r\n`);
  const outcome = await readHead(sock);
  rst(sock);
  return outcome;
}

async function resetMidConnect(s) {
  const sock = await dial(s.proxyPort);
  const head = `${connectHead(s, s.host, basic(s.proxyAuth))}\r\n`;
  sock.write(head.slice(0, randomInt(1, head.length - 2)));
  await sleep(randomInt(0, 30));
  rst(sock);
  return 'reset_sent';
}

async function resetAfter200(s) {
  const raw = await connectTunnel(tunnelSpec(s, s.host));
  rst(raw);
  return '200';
}

/** After the 200: part of a ClientHello, or all of it and the server's first flight, then RST. */
async function resetMidTls(s, ctx) {
  const raw = await connectTunnel(tunnelSpec(s, s.host));
  raw.on('error', () => {});
  if (randomInt(2) === 0) {
    raw.write(ctx.hello.subarray(0, randomInt(1, ctx.hello.length)));
    await sleep(randomInt(0, 20));
    rst(raw);
    return 'partial_hello';
  }
  const first = new Promise((r) => {
    raw.once('data', () => r('after_server_hello'));
    setTimeout(() => r('no_server_hello'), 5000);
  });
  raw.resume();
  raw.write(ctx.hello);
  const outcome = await first;
  rst(raw);
  return outcome;
}

async function resetMidTunnelHead(s) {
  const sock = await openTls(tunnelSpec(s, s.host));
  sock.on('error', () => {});
  const head = `GET /v1/soak/partial HTTP/1.1\r\nHost: ${s.host}\r\nAccept: application/json\r\nUser-Agent: soak\r\n\r\n`;
  sock.write(head.slice(0, randomInt(1, head.length - 2)));
  await sleep(randomInt(0, 30));
  rst(sock.rawSocket);
  return 'reset_sent';
}

/** A POST inside a tunnel (no placeholder) whose body stops part-way: within or past the 64 KiB look-ahead. */
async function resetMidTunnelBody(s) {
  const host = pick([s.host, s.other]);
  const sock = await openTls(tunnelSpec(s, host));
  sock.on('error', () => {});
  sock.write(`POST /v1/soak/upload HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/octet-stream\r\nContent-Length: 262144\r\n\r\n`);
  await writeRepeated(sock, Buffer.alloc(16 * 1024, 0x61), randomInt(1, 160 * 1024));
  await sleep(randomInt(5, 50));
  rst(sock.rawSocket);
  return 'reset_sent';
}

async function resetMidApiBody(s) {
  const sock = await dial(s.apiPort);
  sock.write(`POST /api/public/v1/vaults HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${s.adminKey}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"name":"soak-hostile-${'x'.repeat(randomInt(0, 4000))}`);
  await sleep(randomInt(0, 30));
  rst(sock);
  return 'reset_sent';
}

/** CONNECT or an absolute-form request with a wrong token or garbage credentials: 407. */
async function badProxyAuth(s) {
  const agentId = s.proxyAuth.split(':')[0];
  const auth = pick([basic(`${agentId}:vgat_wrong${randomBytes(16).toString('hex')}`), basic('nobody:nothing'), 'Basic !!!', 'Bearer x']);
  const sock = await dial(s.proxyPort);
  if (randomInt(2) === 0) sock.write(`${connectHead(s, s.host, auth)}\r\n`);
  else sock.write(`GET http://${s.other}/v1/plain HTTP/1.1\r\nHost: ${s.other}\r\nProxy-Authorization: ${auth}\r\nConnection: close\r\n\r\n`);
  const outcome = await readHead(sock);
  sock.destroy();
  return outcome;
}

async function badApiKey(s) {
  const [path, key] = pick([
    ['/api/public/v1/vaults', `vg_wrong_${randomBytes(16).toString('hex')}`],
    ['/api/public/v1/secrets/' + s.secretId, 'x'],
    ['/api/agent/v1/environment', `vgat_wrong${randomBytes(16).toString('hex')}`],
  ]);
  const sock = await dial(s.apiPort);
  sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nConnection: close\r\n\r\n`);
  const outcome = await readHead(sock);
  sock.destroy();
  return outcome;
}

/** A 64 KiB header line to the API, to the proxy (CONNECT) or inside a tunnel: refused (431) or cut. */
async function oversizedHead(s) {
  const where = pick(['api', 'proxy', 'tunnel']);
  let sock;
  if (where === 'api') {
    sock = await dial(s.apiPort);
    sock.write(`GET /api/public/v1/vaults HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${s.adminKey}\r\n${PAD}\r\n`);
  } else if (where === 'proxy') {
    sock = await dial(s.proxyPort);
    sock.write(`${connectHead(s, s.host, basic(s.proxyAuth))}${PAD}\r\n`);
  } else {
    sock = await openTls(tunnelSpec(s, s.host));
    sock.on('error', () => {});
    sock.write(`GET /v1/soak/big-head HTTP/1.1\r\nHost: ${s.host}\r\n${PAD}\r\n`);
  }
  const outcome = await readHead(sock);
  sock.destroy();
  return `${where}:${outcome}`;
}

/**
 * A 2 MiB JSON body to the API with a valid key: 413, and nothing created. The first 256 KiB go
 * at once, the rest only if no answer came within 200 ms (a Node client writing on into a socket
 * the server has closed gets EPIPE/ECONNRESET before it reads the 413 that is already there).
 */
async function oversizedApiBody(s) {
  const sock = await dial(s.apiPort);
  const size = 2 * 1024 * 1024;
  sock.write(`POST /api/public/v1/vaults HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${s.adminKey}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
  const head = readHead(sock, 10_000);
  const body = Buffer.alloc(size, 0x20);
  body.write('{"name":"soak-oversized","pad":"');
  body.write('"}', size - 2);
  const first = 256 * 1024;
  sock.write(body.subarray(0, first));
  const early = await Promise.race([head, sleep(200).then(() => null)]);
  if (early === null) await Promise.race([writeRepeated(sock, body.subarray(first), size - first), head]);
  const outcome = await head;
  sock.destroy();
  return outcome;
}

/** The placeholder sent to a host outside allowed_domains: 403, and the upstream never sees it. */
async function placeholderToDisallowedHost(s) {
  const sock = await openTls(tunnelSpec(s, s.other));
  sock.on('error', () => {});
  sock.write(`GET /v1/soak/steal HTTP/1.1\r\nHost: ${s.other}\r\nAuthorization: Bearer ${s.placeholder}\r\n\r\n`);
  const outcome = await readHead(sock);
  sock.destroy();
  return outcome;
}

/** 30 MiB through a tunnel to a host where no value can go into the body: it streams (200). */
async function bigUpload(s, ctx) {
  const client = new Client(`https://${s.other}`, { connect: connector(tunnelSpec(s, s.other)), pipelining: 1, bodyTimeout: 60_000, headersTimeout: 60_000 });
  const chunk = Buffer.alloc(64 * 1024, 0x62);
  const n = Math.ceil(s.uploadBytes / chunk.length);
  const body = Readable.from((function* () {
    for (let i = 0; i < n; i++) yield chunk;
  })());
  try {
    const t0 = performance.now();
    const res = await client.request({ path: '/v1/soak/upload', method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': String(n * chunk.length) }, body });
    await res.body.text();
    ctx.uploads.push({ status: res.statusCode, bytes: n * chunk.length, ms: Math.round(performance.now() - t0) });
    return String(res.statusCode);
  } finally {
    await client.destroy().catch(() => {});
  }
}

const PAUSE = 250;
/** name → { fn, expect, everyMs }: every kind runs in its own loop, one attempt at a time. */
export const hostileKinds = {
  reset_after_407: { fn: resetAfter407, expect: ['407'], what: 'CONNECT without credentials, RST after the 407' },
  reset_mid_connect: { fn: resetMidConnect, expect: ['reset_sent'], what: 'RST part-way through a CONNECT head' },
  reset_after_200: { fn: resetAfter200, expect: ['200'], what: 'RST right after 200 Connection Established' },
  reset_mid_tls: { fn: resetMidTls, expect: ['partial_hello', 'after_server_hello'], what: 'RST mid TLS handshake (part of the ClientHello, or after the server\'s first flight)' },
  reset_mid_tunnel_head: { fn: resetMidTunnelHead, expect: ['reset_sent'], what: 'RST part-way through a request head inside a tunnel' },
  reset_mid_tunnel_body: { fn: resetMidTunnelBody, expect: ['reset_sent'], what: 'RST part-way through a 256 KiB request body inside a tunnel (allowed or other host)' },
  reset_mid_api_body: { fn: resetMidApiBody, expect: ['reset_sent'], what: 'RST part-way through a POST /vaults body (valid key)' },
  bad_proxy_auth: { fn: badProxyAuth, expect: ['407'], what: 'wrong or garbage Proxy-Authorization (CONNECT or absolute-form)' },
  bad_api_key: { fn: badApiKey, expect: ['401'], what: 'wrong API key / agent token' },
  oversized_head: { fn: oversizedHead, expect: ['api:431', 'proxy:431', 'tunnel:431', 'api:reset_by_server', 'proxy:reset_by_server', 'tunnel:reset_by_server', 'api:closed', 'proxy:closed', 'tunnel:closed'], what: '64 KiB header line to the API, the proxy, inside a tunnel' },
  oversized_api_body: { fn: oversizedApiBody, expect: ['413'], what: '2 MiB JSON body to POST /vaults (valid key)', everyMs: 1000 },
  placeholder_to_disallowed_host: { fn: placeholderToDisallowedHost, expect: ['403'], what: 'placeholder sent to a host outside allowed_domains' },
  big_upload: { fn: bigUpload, expect: ['200'], what: '30 MiB upload through a tunnel to a host no value may enter (streams)', everyMs: 15_000 },
};
export const HOSTILE_PAUSE_MS = PAUSE;
