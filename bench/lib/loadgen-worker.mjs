// The load generator: a long-lived child (pinned to the load CPU by the parent) that runs
// autocannon on request over IPC, so rounds do not pay Node/autocannon start-up.
//
// Message in:  { id, spec } (see runSpec); message out: { id, result } or { id, error }.
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';

let counter = 0;

/** Body generators that need a distinct body per request (autocannon's idReplacement emits `-`, not valid in env_key). */
const bodies = {
  /** POST secret: unique env_key per request, ~40-byte value. */
  uniqueSecret(tag) {
    const value = randomBytes(20).toString('hex'); // 40 bytes
    return () => JSON.stringify({ env_key: `BENCH_${tag}_${++counter}`, value });
  },
  /** PATCH secret: a new random 40-byte value per request (a real rotation). */
  rotateValue() {
    return () => JSON.stringify({ value: randomBytes(20).toString('hex') });
  },
};

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

async function runSpec(spec) {
  const { url, method = 'GET', path, headers = {}, body, bodyGen, connections, duration, collectIds = false } = spec;
  const request = { method, path, headers };
  if (body !== undefined) request.body = body;
  const ids = [];
  if (bodyGen) {
    const make = bodies[bodyGen.kind](bodyGen.tag);
    request.setupRequest = (req) => ({ ...req, body: make() });
  }
  if (collectIds) {
    request.onResponse = (status, resBody) => {
      if (status >= 200 && status < 300) {
        try {
          const id = JSON.parse(resBody).id;
          if (typeof id === 'string') ids.push(id);
        } catch {
          // not JSON: nothing to collect
        }
      }
    };
  }
  // autocannon's own latency histogram has 1 ms resolution; its per-response timing is hrtime
  // (fractional ms), so keep those for successful responses and compute percentiles here.
  let lat = new Float64Array(1 << 16);
  let n = 0;
  const instance = autocannon({ url, connections, duration, pipelining: 1, timeout: 30, requests: [request] });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode < 200 || statusCode >= 300) return;
    if (n === lat.length) {
      const bigger = new Float64Array(lat.length * 2);
      bigger.set(lat);
      lat = bigger;
    }
    lat[n++] = responseTime;
  });
  const result = await instance;
  const sorted = lat.subarray(0, n).sort();
  return {
    duration_s: result.duration,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    status_codes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
    latency_samples: n,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    autocannon_p50_ms: result.latency.p50,
    autocannon_p99_ms: result.latency.p99,
    ids: collectIds ? ids : undefined,
  };
}

process.on('message', async (msg) => {
  if (msg?.cmd === 'exit') process.exit(0);
  try {
    const result = await runSpec(msg.spec);
    process.send({ id: msg.id, result });
  } catch (err) {
    process.send({ id: msg.id, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
