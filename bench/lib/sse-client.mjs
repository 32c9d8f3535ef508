// The sse scenario's client: a long-lived child (pinned to the load CPU by the parent), driven over
// IPC. Each stream is its own connection (direct TLS, or CONNECT + TLS through a proxy) carrying
// one GET of an event stream; every event's delay is its arrival time here minus the send time the
// upstream stamped into it, both read from process.hrtime (the machine's monotonic clock).
//
// Target spec: { proxy: {host, port, auth} | null, host, port (direct only), servername, ca, path, headers }
//   { cmd: 'streams', spec, concurrency, events }  `concurrency` streams at once -> { streams: [...] }
//   { cmd: 'once', spec }                          one request -> { status, body }
// Every reply: { id, result } or { id, error }.
import http from 'node:http';
import { serveCommands } from './ipc-child.mjs';
import { openTls } from './proxy-connect.mjs';

const nowNs = () => process.hrtime.bigint();
const ms = (ns) => Number(ns) / 1e6;

/** One GET over a fresh connection; `onHead(at, sent)` and `onData(chunk, at)` see the arrival time of each piece. */
async function get(spec, { onHead = () => {}, onData = () => {} } = {}) {
  const t0 = nowNs();
  const sock = await openTls(spec);
  const connected = nowNs();
  let sent = 0n;
  return new Promise((resolve, reject) => {
    const headers = { host: spec.servername, ...spec.headers };
    const req = http.request({ createConnection: () => sock, method: 'GET', path: spec.path, headers, setHost: false }, (res) => {
      onHead(nowNs(), sent);
      res.on('data', (d) => onData(d, nowNs()));
      res.on('end', () => {
        sock.destroy();
        resolve({ status: res.statusCode, connect_ms: ms(connected - t0) });
      });
      res.on('error', reject);
    });
    req.on('error', (err) => {
      sock.destroy();
      reject(err);
    });
    sent = nowNs();
    req.end();
  });
}

/**
 * One event stream. TTFB: from the request leaving on the open connection to the response head.
 * An event counts when its blank line arrives; events must come in order, every one of them.
 */
async function stream(spec, events) {
  let ttfb = null;
  let pending = '';
  const delays = [];
  let next = 0;
  let outOfOrder = 0;
  const onData = (d, at) => {
    pending += d.toString('utf8');
    let end;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const frame = pending.slice(0, end);
      pending = pending.slice(end + 2);
      const ev = JSON.parse(frame.replace(/^data: /, ''));
      if (ev.i !== next++) outOfOrder++;
      delays.push(ms(at - BigInt(ev.sent_ns)));
    }
  };
  const r = await get(spec, { onHead: (at, sent) => (ttfb = ms(at - sent)), onData });
  return { status: r.status, connect_ms: r.connect_ms, ttfb_ms: ttfb, events: delays.length, complete: delays.length === events && outOfOrder === 0 && pending === '', delays_ms: delays };
}

async function streams({ spec, concurrency, events }) {
  const settled = await Promise.allSettled(Array.from({ length: concurrency }, () => stream(spec, events)));
  return {
    streams: settled.filter((s) => s.status === 'fulfilled').map((s) => s.value),
    errors: settled.filter((s) => s.status === 'rejected').map((s) => String(s.reason?.code ?? s.reason?.message ?? s.reason).slice(0, 200)),
  };
}

async function once(spec) {
  const parts = [];
  const r = await get(spec, { onData: (d) => parts.push(d) });
  return { status: r.status, body: Buffer.concat(parts).toString('utf8') };
}

serveCommands({ streams, once: (msg) => once(msg.spec) });
