// The scale scenario's load client (run pinned to the load CPU): `node scale-client.mjs` reads
// { url, requests: [{path, headers}], total, connections, warmup } as JSON on stdin, sends `total`
// GETs (cycling through `requests`, which the caller has shuffled) over `connections` keep-alive
// connections, and prints { ok, non2xx, errors, p50_ms, p99_ms, max_ms, seconds, rps, codes }.
import http from 'node:http';

const spec = JSON.parse(await new Promise((r) => {
  let s = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => (s += d));
  process.stdin.on('end', () => r(s));
}));
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
const base = new URL(spec.url);

function get(req) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const r = http.get({ host: base.hostname, port: base.port, path: req.path, headers: req.headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    r.on('error', () => resolve({ status: 0, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
  });
}

async function pass(total) {
  let next = 0;
  const lat = [];
  const codes = {};
  let errors = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: spec.connections }, async () => {
      while (next < total) {
        const req = spec.requests[next++ % spec.requests.length];
        const r = await get(req);
        if (r.status === 0) errors++;
        else codes[r.status] = (codes[r.status] ?? 0) + 1;
        if (r.status >= 200 && r.status < 300) lat.push(r.ms);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((a, b) => a - b);
  const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)] : null);
  const ok = lat.length;
  return { ok, non2xx: total - ok - errors, errors, p50_ms: pct(50), p99_ms: pct(99), max_ms: lat.at(-1) ?? null, seconds, rps: ok / seconds, codes };
}

if (spec.warmup) await pass(spec.warmup);
process.stdout.write(JSON.stringify(await pass(spec.total)));
agent.destroy();
