// Hostile-traffic suite: a Vaultgate child process (so that a crash is observable), its recording
// upstream with slow and self-resetting routes, one deployed agent, and the health probes.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { requireBuiltCli } from '../helpers/kit.js';
import { cliPath, newAdminKey, tempDir } from '../helpers/server.js';
import { connectTo, makePki, startUpstream, type Pki, type Upstream } from '../proxy/helpers.js';
import { apiClient, type Call } from './helpers.js';
import { dial, readHead, watch } from './hostile-wire.js';

/** The limits under test, small so that timeouts fire within the suite's budget. */
export const limits = { headersTimeoutMs: 1500, requestTimeoutMs: 4000, handshakeTimeoutMs: 1500, idleTimeoutMs: 4000 };

const limitsEnv = {
  VAULTGATE_HEADERS_TIMEOUT_MS: String(limits.headersTimeoutMs),
  VAULTGATE_REQUEST_TIMEOUT_MS: String(limits.requestTimeoutMs),
  VAULTGATE_PROXY_HANDSHAKE_TIMEOUT_MS: String(limits.handshakeTimeoutMs),
  VAULTGATE_PROXY_IDLE_TIMEOUT_MS: String(limits.idleTimeoutMs),
  // The per-address failed-auth throttle (429) would otherwise answer most of the suite's 407s.
  VAULTGATE_AUTH_FAILURES_PER_MINUTE: '1000000',
  VAULTGATE_LOG_LEVEL: 'warn',
};

/** One run of the server process; `exit` is set the moment it ends. */
export interface Child {
  proc: ChildProcess;
  pid: number;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  stdout: string;
  stderr: string;
}

export interface Agent {
  id: string;
  token: string;
  /** `Proxy-Authorization` value with the agent's real credentials. */
  basic: string;
  /** The proxy's CA, from the agent runtime API. */
  ca: string;
}

export interface Hostile {
  apiPort: number;
  proxyPort: number;
  adminKey: string;
  call: Call;
  up: Upstream;
  agent: Agent;
  child: Child;
  /** Children that died during the run (each replaced by a fresh one on the same store). */
  dead: Child[];
  /** Starts a new child on the same store and ports if the current one has died. */
  ensureUp(): Promise<void>;
  close(): Promise<void>;
}

export const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

/** Two distinct free loopback ports (released just before the child binds them). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((r) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => r(s)); })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function spawnChild(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, [cliPath, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const child: Child = { proc, pid: proc.pid ?? -1, exit: null, stdout: '', stderr: '' };
  proc.stdout?.on('data', (d) => (child.stdout += String(d)));
  proc.stderr?.on('data', (d) => (child.stderr += String(d)));
  proc.on('exit', (code, signal) => (child.exit = { code, signal }));
  return child;
}

/** Polls until /healthz answers 200 and the proxy accepts connections (at log level warn nothing announces readiness). */
async function waitReady(child: Child, apiPort: number, proxyPort: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exit) throw new Error(`server exited (${JSON.stringify(child.exit)}) at start:\n${child.stdout}\n${child.stderr}`);
    if ((await healthz(apiPort, 500)) === 200) {
      const sock = await dial(proxyPort);
      const up = !sock.destroyed;
      sock.destroy();
      if (up) return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server not ready after ${timeoutMs} ms:\n${child.stdout}\n${child.stderr}`);
}

/** GET /healthz; the status, or 0 when it fails or takes longer than `ms`. */
export async function healthz(apiPort: number, ms = 5000): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${apiPort}/healthz`, { signal: AbortSignal.timeout(ms) });
    await res.text();
    return res.status;
  } catch {
    return 0;
  }
}

/** CONNECT + TLS to `host` as the agent; rejects unless the proxy answers 200. */
async function tunnelTo(h: Hostile, host: string, ms: number): Promise<{ raw: net.Socket; sock: tls.TLSSocket }> {
  const raw = await dial(h.proxyPort);
  raw.write(`CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\nProxy-Authorization: ${h.agent.basic}\r\n\r\n`);
  const head = await readHead(watch(raw), ms);
  if (!head.startsWith('HTTP/1.1 200')) {
    raw.destroy();
    throw new Error(`CONNECT answered ${JSON.stringify(head.slice(0, 200))}`);
  }
  const sock = tls.connect({ socket: raw, ca: h.agent.ca, servername: host, ALPNProtocols: ['http/1.1'] });
  sock.on('error', () => undefined);
  return { raw, sock };
}

/**
 * One proxied request within `ms`: GET / on api.stripe.com by default, or an upload of `upload`
 * bytes generated piece by piece (the client holds at most one piece).
 */
export async function proxiedGet(h: Hostile, ms = 5000, o: { host?: string; upload?: number } = {}): Promise<{ status: number; body: string }> {
  const host = o.host ?? 'api.stripe.com';
  let raw: net.Socket | null = null;
  let timer: NodeJS.Timeout | undefined;
  const attempt = (async () => {
    const t = await tunnelTo(h, host, ms);
    raw = t.raw;
    return new Promise<{ status: number; body: string }>((resolve, reject) => {
      const headers = { host, connection: 'close', ...(o.upload === undefined ? {} : { 'content-length': String(o.upload) }) };
      const req = http.request({ createConnection: () => t.sock, method: o.upload === undefined ? 'GET' : 'POST', path: '/', headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      void writeFiller(req, o.upload ?? 0).then(() => req.end(), reject);
    });
  })();
  try {
    return await Promise.race([attempt, new Promise<never>((_, j) => (timer = setTimeout(() => j(new Error(`no proxied answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
    (raw as net.Socket | null)?.destroy();
  }
}

/** Writes `bytes` of filler in 64 KiB pieces, honouring backpressure. */
async function writeFiller(req: http.ClientRequest, bytes: number): Promise<void> {
  const piece = Buffer.alloc(64 * 1024, 0x61);
  for (let left = bytes; left > 0; left -= piece.length) {
    if (!req.write(left >= piece.length ? piece : piece.subarray(0, left))) await new Promise((r) => req.once('drain', r));
  }
}

/** Resident set size of a process in kB (Linux). */
export function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m?.[1]) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** Upstream routes the stages need: a slow streamed answer, and one that resets its own socket mid-body. */
function addRoutes(up: Upstream): void {
  up.routes.set('/slow', (_rec, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let n = 0;
    const timer = setInterval(() => {
      if (res.destroyed || ++n > 40) return void (clearInterval(timer), res.end());
      res.write(`tick ${n}\n`);
    }, 50);
    res.once('close', () => clearInterval(timer));
  });
  up.routes.set('/upreset', (_rec, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10000' });
    res.write('x'.repeat(1000), () => {
      // The TCP socket under the TLS one: a real RST, not a close_notify.
      const sock = res.socket as (net.Socket & { _parent?: net.Socket }) | null;
      if (sock?._parent && !sock._parent.destroyed) sock._parent.resetAndDestroy();
      else sock?.destroy();
    });
  });
}

/** The host name the HTTP/2 upstream plays (every other name is the HTTP/1.1 recorder). */
export const h2Host = 'api.x.com';

/** An HTTP/2-only upstream: `ok` by default, `/slow` streams ticks, `/reset` resets its stream mid-answer. */
async function startH2Upstream(pki: Pki): Promise<{ port: number; close(): Promise<void> }> {
  const server = http2.createSecureServer({ key: pki.good.keyPem, cert: pki.good.certPem });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => (sessions.add(session), session.once('close', () => sessions.delete(session))));
  server.on('sessionError', () => undefined);
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    stream.resume();
    const path = String(headers[':path']);
    if (path === '/reset') {
      stream.respond({ ':status': 200 });
      return void stream.write('x'.repeat(1000), () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    }
    if (path !== '/slow') return void (stream.respond({ ':status': 200 }), stream.end('ok'));
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    let n = 0;
    const timer = setInterval(() => {
      if (stream.destroyed || ++n > 40) return void (clearInterval(timer), stream.destroyed || stream.end());
      stream.write(`tick ${n}\n`);
    }, 50);
    stream.once('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => new Promise<void>((r) => (server.close(() => r()), sessions.forEach((session) => session.destroy()))) };
}

/** Vault with a secret for api.stripe.com (header, body), an agent on it, deployed, with a token. */
async function makeAgent(call: Call, apiPort: number): Promise<Agent> {
  const must = async (p: ReturnType<Call>, status: number) => {
    const r = await p;
    if (r.status !== status) throw new Error(`fixture: ${r.status} ${r.text}`);
    return r.json;
  };
  const vault = await must(call('POST', '/vaults', { body: { name: 'hostile' } }), 201);
  await must(call('POST', `/vaults/${vault.id}/secrets`, { body: { env_key: 'STRIPE_KEY', value: 'sk_live_hostile_0123456789', allowed_domains: ['api.stripe.com', h2Host], inject_in: ['header', 'body'] } }), 201);
  const agent = await must(call('POST', '/agents', { body: { name: 'hostile-agent', vault_ids: [vault.id] } }), 201);
  await must(call('POST', `/agents/${agent.id}/deploy`), 200);
  const token = await must(call('POST', `/agents/${agent.id}/tokens`), 201);
  const env = await must(call('GET', `http://127.0.0.1:${apiPort}/api/agent/v1/environment`, { key: token.token }), 200);
  return { id: agent.id, token: token.token, basic: basic(`${agent.id}:${token.token}`), ca: env.ca_certificate };
}

export async function startHostile(): Promise<Hostile> {
  requireBuiltCli();
  const pki = await makePki();
  const up = await startUpstream(pki);
  const upH2 = await startH2Upstream(pki);
  addRoutes(up);
  const dataDir = tempDir('vg-hostile-');
  const adminKey = newAdminKey();
  const [apiPort, proxyPort] = (await freePorts(2)) as [number, number];
  const env = {
    VAULTGATE_DATA_DIR: dataDir,
    VAULTGATE_API_ADDR: `127.0.0.1:${apiPort}`,
    VAULTGATE_PROXY_ADDR: `127.0.0.1:${proxyPort}`,
    VAULTGATE_ADMIN_KEY: adminKey,
    VAULTGATE_PROXY_CONNECT_TO: `${connectTo(up)},${h2Host}:443=127.0.0.1:${upH2.port}`,
    VAULTGATE_UPSTREAM_CA_FILE: pki.caFile,
    VAULTGATE_PROXY_ALLOW_PRIVATE: '1',
    ...limitsEnv,
  };
  const child = spawnChild(env);
  await waitReady(child, apiPort, proxyPort);
  const call = apiClient(`http://127.0.0.1:${apiPort}`, adminKey);
  const h: Hostile = {
    apiPort, proxyPort, adminKey, call, up, child, dead: [],
    agent: await makeAgent(call, apiPort),
    async ensureUp() {
      if (!h.child.exit) return;
      h.dead.push(h.child);
      h.child = spawnChild(env);
      await waitReady(h.child, apiPort, proxyPort);
    },
    async close() {
      if (!h.child.exit) {
        const gone = new Promise((r) => h.child.proc.once('exit', r));
        h.child.proc.kill('SIGKILL');
        await gone;
      }
      await up.close();
      await upH2.close();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(pki.dir, { recursive: true, force: true });
    },
  };
  return h;
}
