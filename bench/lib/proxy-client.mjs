// The proxy scenario's load client: a long-lived child (pinned to the load CPU by the parent),
// driven over IPC, with per-response hrtime latencies. HTTP/1.1 over TLS via undici.
//
// Target spec: { proxy: {host, port, auth} | null, host, port (direct only), servername, ca, path, headers }
//
// Keep-alive mode (a FIXED pool of N connections, each a CONNECT tunnel when proxied, carrying
// sequential requests; undici Pool with `connections: N`, `pipelining: 1`):
//   { cmd: 'prepare', spec: {…target, connections} }  opens the N connections (one request each)
//   { cmd: 'go', duration }                           N loops of sequential requests for `duration` s
//   { cmd: 'close' }                                  closes the pool
// New-connection mode (like a CLI running curl per call: new CONNECT + TLS handshake + one request):
//   { cmd: 'newconn', spec: {…target, concurrency, duration} }
// Every reply: { id, result } or { id, error }.
import { performance } from 'node:perf_hooks';
import { Client, Pool } from 'undici';
import { connector } from './proxy-connect.mjs';

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

class Recorder {
  constructor() {
    this.lat = new Float64Array(1 << 16);
    this.ok = 0; // 2xx completed inside the window
    this.late = 0; // 2xx completed after the window (started inside it)
    this.non2xx = 0;
    this.errors = 0;
    this.status = {};
    this.errorSamples = [];
  }
  response(status, start, end, deadline) {
    this.status[status] = (this.status[status] ?? 0) + 1;
    if (status < 200 || status >= 300) return this.non2xx++;
    if (end > deadline) return this.late++;
    if (this.ok === this.lat.length) {
      const bigger = new Float64Array(this.lat.length * 2);
      bigger.set(this.lat);
      this.lat = bigger;
    }
    this.lat[this.ok++] = end - start;
  }
  error(err) {
    this.errors++;
    if (this.errorSamples.length < 5) this.errorSamples.push(String(err?.code ?? err?.message ?? err).slice(0, 200));
  }
  result(durationS, extra) {
    const sorted = this.lat.subarray(0, this.ok).sort();
    return {
      duration_s: durationS,
      ok: this.ok,
      late_ok: this.late,
      non2xx: this.non2xx,
      errors: this.errors,
      timeouts: 0,
      status_codes: this.status,
      error_samples: this.errorSamples,
      p50_ms: percentile(sorted, 50),
      p99_ms: percentile(sorted, 99),
      ...extra,
    };
  }
}

async function request(dispatcher, spec, extraHeaders) {
  const res = await dispatcher.request({ path: spec.path, method: 'GET', headers: { ...spec.headers, ...extraHeaders } });
  await res.body.text();
  return res.statusCode;
}

let pool = null;
let poolSpec = null;
let counter = null;

async function prepare(spec) {
  counter = { opened: 0 };
  poolSpec = spec;
  pool = new Pool(`https://${spec.servername}`, {
    connections: spec.connections,
    pipelining: 1,
    connect: connector(spec, counter),
    keepAliveTimeout: 120_000,
    keepAliveMaxTimeout: 120_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const statuses = await Promise.all(Array.from({ length: spec.connections }, () => request(pool, spec).catch((err) => String(err?.code ?? err))));
  return { connections_opened: counter.opened, prepare_ok: statuses.filter((s) => typeof s === 'number' && s >= 200 && s < 300).length, prepare_statuses: statuses };
}

async function go(duration) {
  const rec = new Recorder();
  const opened0 = counter.opened;
  const t0 = performance.now();
  const deadline = t0 + duration * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      try {
        const status = await request(pool, poolSpec);
        rec.response(status, start, performance.now(), deadline);
      } catch (err) {
        rec.error(err);
      }
    }
  };
  await Promise.all(Array.from({ length: poolSpec.connections }, loop));
  return rec.result(duration, { connections_opened_during_run: counter.opened - opened0, connections_total: counter.opened });
}

async function newconn(spec) {
  const rec = new Recorder();
  const count = { opened: 0 };
  const connect = connector(spec, count);
  const t0 = performance.now();
  const deadline = t0 + spec.duration * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      const client = new Client(`https://${spec.servername}`, { connect, pipelining: 1 });
      try {
        const status = await request(client, spec, { connection: 'close' });
        rec.response(status, start, performance.now(), deadline);
      } catch (err) {
        rec.error(err);
      } finally {
        client.destroy().catch(() => {});
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  return rec.result(spec.duration, { connections_opened_during_run: count.opened, connections_total: count.opened });
}

process.on('message', async (msg) => {
  if (msg?.cmd === 'exit') process.exit(0);
  try {
    let result;
    if (msg.cmd === 'prepare') result = await prepare(msg.spec);
    else if (msg.cmd === 'go') result = await go(msg.duration);
    else if (msg.cmd === 'close') {
      await pool?.destroy();
      pool = null;
      result = {};
    } else if (msg.cmd === 'newconn') result = await newconn(msg.spec);
    else throw new Error(`unknown command ${msg.cmd}`);
    process.send({ id: msg.id, result });
  } catch (err) {
    process.send({ id: msg.id, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
