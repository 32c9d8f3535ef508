// The soak scenario's valid traffic, each stream paced to a fixed rate: HTTPS requests with the
// placeholder through the proxy (a fixed keep-alive pool), secret metadata reads and PATCH
// rotations over the API. Every acknowledged write is recorded (version + value hash).
import { createHash, randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import { connector } from './proxy-connect.mjs';
import { sleep } from './proc.mjs';
import { tunnelSpec } from './soak-hostile.mjs';

/** The hash the scenario records for a secret value (never the value itself). */
export const valueHash = (v) => createHash('sha256').update(v).digest('hex').slice(0, 16);

class Counts {
  constructor() {
    this.ok = 0;
    this.status = {};
    this.errors = 0;
    this.error_samples = [];
    this.lat = [];
  }
  response(status, okStatus, ms) {
    this.status[status] = (this.status[status] ?? 0) + 1;
    if (status === okStatus) {
      this.ok++;
      this.lat.push(ms);
    }
  }
  error(err) {
    this.errors++;
    if (this.error_samples.length < 5) this.error_samples.push(String(err?.code ?? err?.message ?? err).slice(0, 200));
  }
  result(extra = {}) {
    const l = this.lat.sort((a, b) => a - b);
    const p = (q) => (l.length ? Math.round(l[Math.min(l.length - 1, Math.ceil(q * l.length) - 1)] * 100) / 100 : null);
    const non2xx = Object.entries(this.status).filter(([s]) => !s.startsWith('2')).reduce((a, [, n]) => a + n, 0);
    return { ok: this.ok, non_ok: non2xx, errors: this.errors, status: this.status, error_samples: this.error_samples, p50_ms: p(0.5), p99_ms: p(0.99), max_ms: p(1), ...extra };
  }
}

/** Calls `fn` `perSecond` times a second (no bursts to catch up) until `signal` aborts. */
async function paced(perSecond, signal, fn) {
  const interval = 1000 / perSecond;
  let next = performance.now();
  while (!signal.aborted) {
    await fn();
    next += interval;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    else next = performance.now();
  }
}

/** One timed request on `pool`: counts the status (or the error); returns the parsed JSON body or null. */
async function timed(pool, counts, okStatus, opts) {
  const t0 = performance.now();
  try {
    const res = await pool.request(opts);
    const text = await res.body.text();
    counts.response(res.statusCode, okStatus, performance.now() - t0);
    return res.statusCode === okStatus && text ? JSON.parse(text) : null;
  } catch (err) {
    counts.error(err);
    return null;
  }
}

async function proxied(s, signal) {
  const counter = { opened: 0 };
  const pool = new Pool(`https://${s.host}`, { connections: s.proxiedConnections, pipelining: 1, connect: connector(tunnelSpec(s, s.host), counter), keepAliveTimeout: 120_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const disconnects = {};
  pool.on('disconnect', (_origin, _targets, err) => {
    if (signal.aborted) return; // the pool's own destroy() at the end
    const why = `${err?.code ?? ''} ${err?.message ?? err}`.trim().slice(0, 80);
    disconnects[why] = (disconnects[why] ?? 0) + 1;
  });
  const counts = new Counts();
  const opts = { path: '/v1/soak/charges', method: 'GET', headers: { authorization: `Bearer ${s.placeholder}` } };
  const loop = () => paced(s.proxiedRps / s.proxiedConnections, signal, () => timed(pool, counts, 200, opts));
  await Promise.all(Array.from({ length: s.proxiedConnections }, loop));
  await pool.destroy();
  return counts.result({ connections_opened: counter.opened, disconnects });
}

async function reads(s, pool, signal) {
  const counts = new Counts();
  const opts = { path: `/api/public/v1/secrets/${s.secretId}`, method: 'GET', headers: { authorization: `Bearer ${s.adminKey}` } };
  await paced(s.readRps, signal, () => timed(pool, counts, 200, opts));
  return counts.result();
}

async function rotations(s, pool, signal) {
  const counts = new Counts();
  const acked = [];
  const attempted = [];
  const rotate = async () => {
    const value = `soak-${randomBytes(18).toString('hex')}`;
    const hash = valueHash(value);
    attempted.push(hash);
    const body = JSON.stringify({ value });
    const json = await timed(pool, counts, 200, { path: `/api/public/v1/secrets/${s.secretId}`, method: 'PATCH', headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json' }, body });
    if (json) acked.push({ version: json.version, hash });
  };
  await Promise.all(Array.from({ length: s.rotators }, () => paced(s.rotationRps / s.rotators, signal, rotate)));
  return { ...counts.result(), acked, attempted };
}

/** All valid streams until `signal` aborts → { proxied, api_reads, rotations: {…, acked, attempted} }. */
export async function validTraffic(s, signal) {
  const api = new Pool(`http://127.0.0.1:${s.apiPort}`, { connections: 4, pipelining: 1 });
  const [p, r, w] = await Promise.all([proxied(s, signal), reads(s, api, signal), rotations(s, api, signal)]);
  await api.destroy();
  return { proxied: p, api_reads: r, rotations: w };
}
