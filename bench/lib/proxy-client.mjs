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
import { serveCommands } from './ipc-child.mjs';
import { LatencyTally } from './latency-tally.mjs';
import { connector } from './proxy-connect.mjs';

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
  const rec = new LatencyTally();
  const opened0 = counter.opened;
  const t0 = performance.now();
  const deadline = t0 + duration * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      try {
        const status = await request(pool, poolSpec);
        rec.answer(status, start, performance.now(), deadline);
      } catch (err) {
        rec.fail(err);
      }
    }
  };
  await Promise.all(Array.from({ length: poolSpec.connections }, loop));
  return rec.result(duration, { connections_opened_during_run: counter.opened - opened0, connections_total: counter.opened });
}

async function newconn(spec) {
  const rec = new LatencyTally();
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
        rec.answer(status, start, performance.now(), deadline);
      } catch (err) {
        rec.fail(err);
      } finally {
        client.destroy().catch(() => {});
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  return rec.result(spec.duration, { connections_opened_during_run: count.opened, connections_total: count.opened });
}

serveCommands({
  prepare: (msg) => prepare(msg.spec),
  go: (msg) => go(msg.duration),
  async close() {
    await pool?.destroy();
    pool = null;
    return {};
  },
  newconn: (msg) => newconn(msg.spec),
});
