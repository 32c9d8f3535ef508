// The h2 scenario's load client: one HTTP/2 session with S streams kept in flight, or C keep-alive HTTP/1.1 connections with one request each, directly or through a proxy's CONNECT.
// A long-lived child (pinned to the load CPU by the parent), driven over IPC; 127.0.0.1 only.
//
// Target spec: { protocol: 'h2' | 'h1', proxy: {host, port, auth} | null, host, port (direct only),
//                servername, ca, path, headers, inflight }
//   `inflight` is S (streams on the one session) for h2 and C (connections) for h1.
//   { cmd: 'prepare', spec }   opens the session (h2) or the C connections (h1), one request per slot
//   { cmd: 'go', duration, max_requests }  `inflight` loops of back-to-back requests until the
//                              deadline or the request budget, whichever comes first
//   { cmd: 'close' }           closes the session / connections
//   { cmd: 'once', spec }      one request on a fresh session / connection -> { status, body, alpn }
// Every reply: { id, result } or { id, error }.
import http2 from 'node:http2';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { Client, Pool } from 'undici';
import { serveCommands } from './ipc-child.mjs';
import { LatencyTally } from './latency-tally.mjs';
import { connectTunnel, connector } from './proxy-connect.mjs';

// A request that has not finished this long after it started is cancelled and counted as a
// timeout, so a stalled stream can never hold a run (or the whole bench) open.
const REQUEST_TIMEOUT_MS = 10_000;
// After the deadline the loops start nothing new; whatever is still in flight gets this long.
const DRAIN_LIMIT_MS = 15_000;
const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants;

// One SecureContext per CA: building one per connection costs milliseconds of client CPU.
const contexts = new Map();
function contextFor(ca) {
  let ctx = contexts.get(ca);
  if (!ctx) contexts.set(ca, (ctx = tls.createSecureContext({ ca })));
  return ctx;
}

// ---- HTTP/2 ----

/** A TLS socket offering h2 first, direct or inside a CONNECT tunnel; resolves once the handshake is done. */
async function tlsOfferingH2(spec) {
  let raw;
  if (spec.proxy) raw = await connectTunnel(spec);
  else {
    raw = net.connect(spec.port, spec.host);
    raw.setNoDelay(true);
  }
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ socket: raw, servername: spec.servername, secureContext: contextFor(spec.ca), ALPNProtocols: ['h2', 'http/1.1'] });
    sock.once('error', (err) => {
      raw.destroy();
      reject(err);
    });
    sock.once('secureConnect', () => resolve(sock));
  });
}

/** An HTTP/2 session over a fresh connection; refuses a connection whose ALPN is not h2. */
async function openSession(spec) {
  const sock = await tlsOfferingH2(spec);
  if (sock.alpnProtocol !== 'h2') {
    const alpn = sock.alpnProtocol;
    sock.destroy();
    throw Object.assign(new Error(`ALPN chose ${alpn || 'nothing'}, not h2`), { code: 'ENOT_H2', alpn });
  }
  const session = http2.connect(`https://${spec.servername}`, { createConnection: () => sock, settings: { enablePush: false } });
  session.on('error', () => {});
  return { session, alpn: sock.alpnProtocol };
}

/**
 * One GET on the session. Resolves (never rejects) when the stream is closed:
 * { status, bytes, err, endAt }. `onStart(stream)` lets the watchdog see it.
 */
function h2Get(session, headers, onStart) {
  return new Promise((resolve) => {
    let status = 0;
    let bytes = 0;
    let err = null;
    let endAt = 0;
    let req;
    try {
      req = session.request({ ...headers }, { endStream: true });
    } catch (e) {
      return resolve({ status: 0, bytes: 0, err: e, endAt: performance.now() });
    }
    onStart?.(req);
    req.on('response', (h) => (status = Number(h[':status'] ?? 0)));
    req.on('data', (d) => (bytes += d.length));
    req.on('end', () => (endAt = performance.now()));
    req.on('error', (e) => (err = e));
    req.on('close', () => {
      if (!err && req.rstCode !== undefined && req.rstCode !== NGHTTP2_NO_ERROR) err = Object.assign(new Error(`stream reset ${req.rstCode}`), { code: `RST_${req.rstCode}` });
      resolve({ status, bytes, err, endAt: endAt || performance.now() });
    });
  });
}

// ---- the prepared target ----

let target = null; // { spec, kind: 'h2', session, alpn, opened } | { spec, kind: 'h1', pool, counter }

function h2Headers(spec) {
  return { ':method': 'GET', ':path': spec.path, ':scheme': 'https', ':authority': spec.servername, ...spec.headers };
}

async function prepare(spec) {
  await closeTarget();
  if (spec.protocol === 'h2') {
    const { session, alpn } = await openSession(spec);
    target = { spec, kind: 'h2', session, alpn, opened: 1, headers: h2Headers(spec) };
    // One request per stream slot, all at once: the session, the proxy's upstream session and the
    // flow-control windows are warm before the window opens.
    const answers = await Promise.all(Array.from({ length: spec.inflight }, () => h2Get(session, target.headers)));
    const ok = answers.filter((a) => !a.err && a.status >= 200 && a.status < 300).length;
    return { connections_opened: 1, prepare_ok: ok, alpn, prepare_errors: answers.filter((a) => a.err).map((a) => String(a.err.code ?? a.err.message)).slice(0, 3) };
  }
  const counter = { opened: 0 };
  const pool = new Pool(`https://${spec.servername}`, {
    connections: spec.inflight,
    pipelining: 1,
    connect: connector(spec, counter),
    keepAliveTimeout: 120_000,
    keepAliveMaxTimeout: 120_000,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  target = { spec, kind: 'h1', pool, counter };
  const answers = await Promise.all(Array.from({ length: spec.inflight }, () => h1Get(pool, spec).catch((e) => String(e?.code ?? e))));
  return { connections_opened: counter.opened, prepare_ok: answers.filter((s) => typeof s === 'number' && s >= 200 && s < 300).length, alpn: 'http/1.1' };
}

async function h1Get(dispatcher, spec) {
  const res = await dispatcher.request({ path: spec.path, method: 'GET', headers: spec.headers });
  await res.body.text();
  return res.statusCode;
}

async function closeTarget() {
  const t = target;
  target = null;
  if (!t) return;
  if (t.kind === 'h2') {
    await new Promise((resolve) => {
      if (t.session.closed || t.session.destroyed) return resolve();
      const timer = setTimeout(() => {
        t.session.destroy();
        resolve();
      }, 2000);
      t.session.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  } else await t.pool.destroy().catch(() => {});
}

/** `inflight` loops, each one request at a time, until the deadline or the request budget. */
async function go({ duration, max_requests: maxRequests = 2_000_000 }) {
  if (!target) throw new Error('go before prepare');
  const t = target;
  const tally = new LatencyTally();
  const t0 = performance.now();
  const deadline = t0 + duration * 1000;
  let started = 0;
  let sessionLost = false;
  // The watchdog (h2): cancels a stream that ran past REQUEST_TIMEOUT_MS, and past the drain
  // limit the whole session goes. For h1, undici's own header and body timeouts do the same.
  const inFlight = new Map();
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const [req, start] of inFlight) {
      if (now - start <= REQUEST_TIMEOUT_MS) continue;
      req.timedOut = true;
      req.close(NGHTTP2_CANCEL);
    }
    if (now > deadline + DRAIN_LIMIT_MS && t.kind === 'h2') t.session.destroy();
  }, 250);
  const loopH2 = async () => {
    while (performance.now() < deadline && started < maxRequests) {
      if (t.session.closed || t.session.destroyed) {
        sessionLost = true;
        return;
      }
      started++;
      const start = performance.now();
      let handle = null;
      const a = await h2Get(t.session, t.headers, (req) => {
        handle = req;
        inFlight.set(req, start);
      });
      if (handle) inFlight.delete(handle);
      if (a.err || handle?.timedOut) tally.fail(a.err ?? new Error('request timeout'), handle?.timedOut === true);
      else tally.answer(a.status, start, a.endAt, deadline);
    }
  };
  const loopH1 = async () => {
    while (performance.now() < deadline && started < maxRequests) {
      started++;
      const start = performance.now();
      try {
        const status = await h1Get(t.pool, t.spec);
        tally.answer(status, start, performance.now(), deadline);
      } catch (err) {
        tally.fail(err, /Timeout/i.test(err?.code ?? ''));
      }
    }
  };
  const opened0 = t.kind === 'h1' ? t.counter.opened : 1;
  try {
    await Promise.all(Array.from({ length: t.spec.inflight }, t.kind === 'h2' ? loopH2 : loopH1));
  } finally {
    clearInterval(watchdog);
  }
  return tally.result(duration, {
    requests_started: started,
    budget_reached: started >= maxRequests,
    session_lost: sessionLost,
    wall_s: (performance.now() - t0) / 1000,
    connections_opened_during_run: t.kind === 'h1' ? t.counter.opened - opened0 : 0,
  });
}

/** One request on a fresh session or connection (setup checks); a refused CONNECT reads as its status. */
async function once(spec) {
  if (spec.protocol === 'h2') {
    const { session, alpn } = await openSession(spec);
    try {
      const parts = [];
      const a = await new Promise((resolve) => {
        const req = session.request(h2Headers(spec), { endStream: true });
        let status = 0;
        req.on('response', (h) => (status = Number(h[':status'] ?? 0)));
        req.on('data', (d) => parts.push(d));
        req.on('error', () => {});
        req.on('close', () => resolve({ status }));
      });
      return { status: a.status, body: Buffer.concat(parts).toString('utf8'), alpn };
    } finally {
      session.close();
    }
  }
  const client = new Client(`https://${spec.servername}`, { connect: connector(spec), pipelining: 1 });
  try {
    const res = await client.request({ path: spec.path, method: 'GET', headers: spec.headers });
    return { status: res.statusCode, body: await res.body.text(), alpn: 'http/1.1' };
  } finally {
    await client.destroy().catch(() => {});
  }
}

serveCommands({
  prepare: (msg) => prepare(msg.spec),
  go,
  close: async () => (await closeTarget(), {}),
  once: (msg) => once(msg.spec),
});
