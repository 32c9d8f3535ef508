// Seeded, reproducible hostile inputs for the fuzz stage: random bytes, valid request prefixes with
// random tails, random header lines, CONNECT authorities, chunked framings and (in a tunnel) TLS records.
import { allEndings, type Ending } from './hostile-wire.js';

/** mulberry32: a tiny PRNG whose whole state is the 32-bit seed, so a failing run replays exactly. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzTarget {
  port: 'proxy' | 'api';
  /** Valid credentials, so that some inputs reach the authenticated code paths. */
  proxyAuth: string;
  adminKey: string;
  /** A real ClientHello, mutated by the TLS-record inputs. */
  hello: Buffer;
}

export interface FuzzCase {
  index: number;
  kind: string;
  /** Sent inside a tunnel: after a valid CONNECT answered 200 (proxy only). */
  tunnel: boolean;
  bytes: Buffer;
  /** Only bytes[0, cut) are sent, in `pieces` writes. */
  cut: number;
  pieces: number;
  ending: Ending;
  /** With a reset: first wait (up to 1 s) for the server's first reply byte, as the reported crash did. */
  onReply: boolean;
}

type Rng = ReturnType<typeof tools>;

function tools(next: () => number) {
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)] as T;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const alphabet = ['a', 'Z', '0', '-', '_', '.', ':', '/', ' ', '\t', '%', '"', '{', '\x00', '\x7f', '\xff', 'é', '\r', '\n', '\r\n'];
  const junk = (max: number) => Array.from({ length: int(max) }, () => pick(alphabet)).join('');
  return { next, int, pick, bytes, junk, chance: (p: number) => next() < p };
}

const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE', 'PRI', 'GéT', ''];
const versions = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1 x', 'http/1.1', ''];
const eols = ['\r\n', '\r\n', '\r\n', '\n', '\r', ''];
const apiPaths = ['/healthz', '/api/public/v1/vaults', '/api/public/v1/agents', '/api/public/v1/audit', '/api/public/v1/audit/stream', '/api/agent/v1/environment', '/v1/vault/secrets', '/', '*', '/%00', '/..%2f..%2fetc/passwd'];
// With valid credentials only names the upstream map knows, or literals: no resolver in the loop.
const proxyTargets = ['http://api.stripe.com/', 'http://api.stripe.com:80/x?y=1', 'api.stripe.com:443', 'https://api.stripe.com/', 'http://127.0.0.1:1/', 'http://[::1]/', 'http://evil.com/', '/', '*'];
const authorities = ['api.stripe.com:443', 'api.stripe.com', '[::1]:443', '[::1', ':443', 'api.stripe.com:0', 'api.stripe.com:65536', 'api.stripe.com:99999999999', 'api.stripe.com:-1', 'bücher.example:443', 'api.stripe.com:443 extra', '127.0.0.1:443', '0:0', 'vgph_0000000000000000000000000000000000000000:443', ''];

function headerLine(r: Rng, t: FuzzTarget): string {
  const name = r.pick(['Host', 'Content-Length', 'Transfer-Encoding', 'Proxy-Authorization', 'Authorization', 'Connection', 'Upgrade', 'Expect', 'Content-Type', 'Last-Event-ID', 'X-' + r.junk(20), r.junk(10)]);
  const values: Record<string, string[]> = {
    Host: ['api.stripe.com', 'api.stripe.com:443', '127.0.0.1', '', r.junk(40)],
    'Content-Length': ['0', '-1', '1e3', '99999999999999999999', '10, 10', 'abc', String(r.int(100_000))],
    'Transfer-Encoding': ['chunked', 'gzip, chunked', 'chunked, identity', '\tchunked', 'xchunked'],
    'Proxy-Authorization': [t.proxyAuth, 'Basic', 'Basic !!!', basic('agt_x:wrong'), 'Bearer x', `Basic ${'A'.repeat(2000)}`],
    Authorization: [`Bearer ${t.adminKey}`, 'Bearer wrong', 'Basic', ''],
    Connection: ['close', 'keep-alive', 'Upgrade', 'TE, close'],
    Upgrade: ['websocket', 'h2c', r.junk(10)],
    Expect: ['100-continue', r.junk(10)],
    'Content-Type': ['application/json', 'text/event-stream', 'application/json; charset=ütf-8', r.junk(20)],
  };
  const value = r.chance(0.2) ? r.junk(300) : r.pick(values[name] ?? [r.junk(60)]);
  const fold = r.chance(0.05) ? `\r\n ${r.junk(20)}` : '';
  return `${name}:${r.chance(0.9) ? ' ' : ''}${value}${fold}${r.pick(eols)}`;
}

function requestLine(r: Rng, t: FuzzTarget): string {
  const target = r.chance(0.1) ? r.junk(80) : r.pick(t.port === 'api' ? apiPaths : proxyTargets);
  return `${r.pick(methods)} ${target} ${r.pick(versions)}${r.pick(eols)}`;
}

function chunkedBody(r: Rng): string {
  const sizes = ['0', '1', 'a', 'ffffffffffffffff', '-1', '0x10', '5;ext=1', ' 5', '5 ', '', r.junk(8)];
  const parts = Array.from({ length: r.int(6) }, () => `${r.pick(sizes)}${r.pick(eols)}${r.junk(40)}${r.pick(eols)}`);
  return parts.join('') + (r.chance(0.5) ? `0\r\n${r.chance(0.3) ? `${r.junk(20)}: x\r\n` : ''}\r\n` : '');
}

function tlsRecords(r: Rng, t: FuzzTarget): Buffer {
  const records = Array.from({ length: 1 + r.int(4) }, () => {
    const payload = r.chance(0.4) ? Buffer.concat([t.hello.subarray(5, 5 + r.int(t.hello.length)), r.bytes(r.int(64))]) : r.bytes(r.int(600));
    const length = r.chance(0.7) ? payload.length : r.int(65536);
    return Buffer.concat([Buffer.from([r.pick([20, 21, 22, 23, r.int(256)]), 3, r.int(5), length >> 8, length & 0xff]), payload]);
  });
  return Buffer.concat(r.chance(0.3) ? [t.hello.subarray(0, r.int(t.hello.length)), ...records] : records);
}

/** One input: [kind, tunnel, bytes]. */
function generate(r: Rng, t: FuzzTarget): [string, boolean, Buffer] {
  const kinds = t.port === 'proxy' ? ['bytes', 'prefix', 'headers', 'connect', 'chunked', 'tls'] : ['bytes', 'prefix', 'headers', 'connect', 'chunked'];
  const kind = r.pick(kinds);
  const text = (s: string) => Buffer.from(s, 'latin1');
  const headers = (n: number) => Array.from({ length: n }, () => headerLine(r, t)).join('');
  switch (kind) {
    case 'bytes':
      return [kind, false, r.bytes(1 + r.int(2048))];
    case 'prefix': {
      const prefixes = t.port === 'proxy'
        ? ['CONNECT api.stripe.com:443 HTTP/1.1\r\n', `CONNECT api.stripe.com:443 HTTP/1.1\r\nProxy-Authorization: ${t.proxyAuth}\r\n`, 'GET http://api.stripe.com/ HTTP/1.1\r\nHost: api.stripe.com\r\n', `POST http://api.stripe.com/ HTTP/1.1\r\nHost: api.stripe.com\r\nProxy-Authorization: ${t.proxyAuth}\r\nContent-Length: 40\r\n\r\n`]
        : ['GET /healthz HTTP/1.1\r\n', `POST /api/public/v1/vaults HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminKey}\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n`, `GET /api/public/v1/audit/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminKey}\r\n`, 'GET /api/public/v1/vaults HTTP/1.1\r\nHost: x\r\n'];
      return [kind, false, Buffer.concat([text(r.pick(prefixes)), r.chance(0.5) ? r.bytes(r.int(512)) : text(r.junk(300))])];
    }
    case 'headers':
      return [kind, false, text(`${requestLine(r, t)}${headers(r.int(20))}${r.pick(eols)}${r.chance(0.5) ? r.junk(200) : ''}`)];
    case 'connect': {
      const authority = r.chance(0.3) ? r.junk(r.chance(0.1) ? 5000 : 60) : r.pick(authorities);
      const auth = r.pick(['', `Proxy-Authorization: ${t.proxyAuth}\r\n`, `Proxy-Authorization: ${basic('agt_x:wrong')}\r\n`]);
      // Mostly well-formed, so that the authority and the credentials are what gets tested.
      const version = r.chance(0.8) ? 'HTTP/1.1' : r.pick(versions);
      return [kind, false, text(`CONNECT ${authority} ${version}\r\nHost: ${authority}\r\n${auth}${r.chance(0.5) ? '' : headers(r.int(4))}\r\n${r.chance(0.3) ? r.junk(100) : ''}`)];
    }
    case 'chunked': {
      const head = t.port === 'proxy'
        ? `POST http://api.stripe.com/ HTTP/1.1\r\nHost: api.stripe.com\r\nProxy-Authorization: ${t.proxyAuth}\r\n`
        : `POST /api/public/v1/vaults HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminKey}\r\nContent-Type: application/json\r\n`;
      return [kind, false, text(`${head}Transfer-Encoding: chunked\r\n${r.chance(0.2) ? headers(2) : ''}\r\n${chunkedBody(r)}`)];
    }
    default:
      return [kind, true, tlsRecords(r, t)];
  }
}

/** `count` cases from `seed`: the same seed gives the same bytes, cut points and endings. */
export function fuzzCases(seed: number, count: number, t: FuzzTarget): FuzzCase[] {
  const r = tools(mulberry32(seed));
  return Array.from({ length: count }, (_, index) => {
    const [kind, tunnel, bytes] = generate(r, t);
    const cut = r.chance(0.3) ? bytes.length : r.int(bytes.length + 1);
    return { index, kind, tunnel, bytes, cut, pieces: 1 + r.int(3), ending: r.pick(allEndings), onReply: r.chance(0.5) };
  });
}
