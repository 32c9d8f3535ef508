// Scenario `rotation` (issue 7, section 3): time from a PATCH's response to the first proxied
// request that carries the new value. (a) same node, SQLite: PATCH then one request through the
// same node's proxy. (b) cross node, PostgreSQL: PATCH through node A, then requests through node
// B's proxy one at a time (no sleep) until the upstream receives the new value.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'undici';
import { agentProxy, createAgent } from '../lib/agent-setup.mjs';
import { connector } from '../lib/proxy-connect.mjs';
import { startVaultgateWithEnv } from '../lib/proxy-harness.mjs';
import { percentile, round3 } from '../lib/measure.mjs';
import { makeTestPki } from '../lib/proxy-pki.mjs';
import { removeTempDir, trackTempDir } from '../lib/proc.mjs';
import { num, targetsTable } from '../lib/report.mjs';
import { findPgBinDir, newDeployment, startNode, startPgCluster } from '../lib/rotation-pg.mjs';

export const name = 'rotation';
export const description = 'PATCH a restricted secret, then proxied requests until the upstream receives the new value: same node (SQLite) and across two nodes (PostgreSQL)';

const HOST = 'api.bench.test';
const PATH = '/v1/rotation';
const TARGETS = { same_node_stale_requests: 0, cross_node_p99_ms: 250 };
const POLL_LIMIT_MS = 5000; // one iteration gives up after this long without the new value

/**
 * In-process recording HTTPS upstream: the arrival time (performance.now(), the same clock as
 * the orchestrator's PATCH timing) and Authorization of every request.
 */
async function startRecordingUpstream(pki) {
  const received = [];
  const server = https.createServer({ cert: readFileSync(pki.certFile), key: readFileSync(pki.keyFile), ALPNProtocols: ['http/1.1'] }, (req, res) => {
    received.push({ t: performance.now(), auth: req.headers.authorization ?? null });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' });
      res.end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    received,
    stop: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

/** A keep-alive client (one CONNECT tunnel) through the proxy of the node at `nodeUrl`, as the agent `token`. */
async function proxyClientFor(nodeUrl, token) {
  const { placeholder, proxy, ca } = await agentProxy(nodeUrl, token);
  const spec = { servername: HOST, proxy, ca };
  const counter = { opened: 0 };
  const client = new Client(`https://${HOST}`, { connect: connector(spec, counter), pipelining: 1, keepAliveTimeout: 60_000 });
  const headers = { authorization: `Bearer ${placeholder}` };
  return {
    counter,
    async send() {
      const res = await client.request({ path: PATH, method: 'GET', headers });
      await res.body.text();
      return res.statusCode;
    },
    close: () => client.destroy(),
  };
}

/**
 * Through `writer`'s API a restricted secret and an agent holding it, then the agent's client
 * through the proxy of the node at `proxyUrl` (kept in `started`), checked with one request that
 * must reach the upstream with the value.
 */
async function setupProxied({ writer, proxyUrl, upstream, started, label }) {
  const value = randomBytes(20).toString('hex');
  const { secret, token } = await createAgent(writer, { name: 'bench-rotation', host: HOST, value });
  const proxy = await proxyClientFor(proxyUrl, token);
  started.push({ stop: () => proxy.close() });
  const from = upstream.received.length;
  const st = await proxy.send();
  if (st !== 200 || upstream.received.at(-1)?.auth !== `Bearer ${value}` || upstream.received.length !== from + 1) throw new Error(`${label} -> ${st}, upstream got ${JSON.stringify(upstream.received.slice(from))}`);
  return { secretId: secret.id, proxy, value };
}

/**
 * N rotations: PATCH through `writer` (new random value), note the time its response arrived,
 * then requests through `proxy` one at a time until the upstream receives the new value.
 * Stale = a request sent after the PATCH response whose upstream copy carried an older value.
 */
async function rotations({ n, writer, secretId, proxy, upstream, firstValue, label, log }) {
  const old = new Set([`Bearer ${firstValue}`]);
  const latencies = [];
  const patchMs = [];
  let stale = 0;
  let staleIterations = 0;
  let mismatched = 0; // placeholder or anything that is neither the new nor an old value
  let non2xx = 0;
  let gaveUp = 0;
  let requests = 0;
  let maxRequestsPerIteration = 0;
  for (let i = 0; i < n; i++) {
    const value = randomBytes(20).toString('hex');
    const want = `Bearer ${value}`;
    const tp = performance.now();
    const patched = await writer('PATCH', `/secrets/${secretId}`, { value });
    const t0 = performance.now();
    if (patched.status !== 200) throw new Error(`${label}: PATCH -> ${patched.status} ${patched.text?.slice(0, 300)}`);
    patchMs.push(t0 - tp);
    let got = null;
    let tries = 0;
    let staleHere = 0;
    while (!got) {
      const from = upstream.received.length;
      const status = await proxy.send();
      tries++;
      if (status !== 200) non2xx++;
      for (const rec of upstream.received.slice(from)) {
        if (rec.auth === want) got ??= rec;
        else if (old.has(rec.auth)) staleHere++;
        else mismatched++;
      }
      if (!got && performance.now() - t0 > POLL_LIMIT_MS) break;
    }
    requests += tries;
    maxRequestsPerIteration = Math.max(maxRequestsPerIteration, tries);
    stale += staleHere;
    if (staleHere) staleIterations++;
    if (got) latencies.push(got.t - t0);
    else gaveUp++;
    old.add(want);
    if (gaveUp >= 3) throw new Error(`${label}: ${gaveUp} rotations never reached the upstream within ${POLL_LIMIT_MS} ms`);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const psorted = [...patchMs].sort((a, b) => a - b);
  const out = {
    iterations: n,
    stale_requests: stale,
    stale_iterations: staleIterations,
    p50_ms: round3(percentile(sorted, 50)),
    p99_ms: round3(percentile(sorted, 99)),
    max_ms: round3(sorted.at(-1) ?? null),
    min_ms: round3(sorted[0] ?? null),
    requests,
    max_requests_per_iteration: maxRequestsPerIteration,
    mismatched_requests: mismatched,
    non2xx,
    gave_up: gaveUp,
    patch_p50_ms: round3(percentile(psorted, 50)),
    patch_p99_ms: round3(percentile(psorted, 99)),
    proxy_connections_opened: proxy.counter.opened,
  };
  log(
    `rotation: ${label}: ${n} rotations, stale requests ${stale} (in ${staleIterations} rotations), PATCH response → upstream got new value p50 ${out.p50_ms} ms p99 ${out.p99_ms} ms max ${out.max_ms} ms; ` +
      `${requests} proxied requests, mismatched ${mismatched}, non-2xx ${non2xx}, gave up ${gaveUp}; PATCH p50 ${out.patch_p50_ms} ms; proxy connections ${proxy.counter.opened}`,
  );
  return out;
}

export async function run({ quick, log }) {
  const n = quick ? 30 : 200;
  const dir = trackTempDir(mkdtempSync(join(tmpdir(), 'vg-bench-rotation-')));
  const started = [];
  let cluster = null;
  try {
    const pki = await makeTestPki(dir, [HOST]);
    const upstream = await startRecordingUpstream(pki);
    started.push(upstream);
    const proxyEnv = {
      VAULTGATE_PROXY_CONNECT_TO: `${HOST}:443=127.0.0.1:${upstream.port}`,
      VAULTGATE_UPSTREAM_CA_FILE: pki.caFile,
      VAULTGATE_PROXY_ALLOW_PRIVATE: '1',
    };
    const out = {
      method: { iterations: n, poll_limit_ms: POLL_LIMIT_MS, log_level: 'warn', host: HOST, path: PATH },
      targets: TARGETS,
    };

    // (a) same node, SQLite.
    {
      const vg = await startVaultgateWithEnv(proxyEnv, { logLevel: 'warn' });
      started.push(vg);
      const { secretId, proxy, value } = await setupProxied({ writer: vg.api, proxyUrl: vg.url, upstream, started, label: 'same node: setup request' });
      log(`rotation: same node: vaultgate pid ${vg.pid} (SQLite, CPU 1), upstream :${upstream.port} in the orchestrator`);
      out.same_node = await rotations({ n, writer: vg.api, secretId, proxy, upstream, firstValue: value, label: 'same node', log });
      await proxy.close();
      await vg.stop();
      started.splice(started.indexOf(vg), 2);
    }

    // (b) cross node, PostgreSQL.
    const bin = findPgBinDir();
    if (!bin) {
      out.cross_node = null;
      out.cross_node_reason = 'no PostgreSQL binaries under /usr/lib/postgresql/*/bin';
      log(`rotation: cross node skipped: ${out.cross_node_reason}`);
    } else {
      const tc = Date.now();
      cluster = await startPgCluster();
      const d = newDeployment(cluster.url, proxyEnv);
      const a = await startNode('a', d);
      started.push(a);
      const b = await startNode('b', d);
      started.push(b);
      log(`rotation: cross node: PostgreSQL ${cluster.version} on :${cluster.port}; node A pid ${a.pid} ${a.url}, node B pid ${b.pid} ${b.url} (both CPU 1); set-up ${((Date.now() - tc) / 1000).toFixed(1)} s`);
      const { secretId, proxy, value } = await setupProxied({ writer: a.api, proxyUrl: b.url, upstream, started, label: 'cross node: setup request through B' });
      out.cross_node = { postgresql: cluster.version, ...(await rotations({ n, writer: a.api, secretId, proxy, upstream, firstValue: value, label: 'cross node (PATCH via A, proxy via B)', log })) };
    }

    out.same_node_stale_requests = out.same_node.stale_requests;
    out.same_node_p50_ms = out.same_node.p50_ms;
    out.same_node_p99_ms = out.same_node.p99_ms;
    out.cross_node_stale_requests = out.cross_node?.stale_requests ?? null;
    out.cross_node_p50_ms = out.cross_node?.p50_ms ?? null;
    out.cross_node_p99_ms = out.cross_node?.p99_ms ?? null;
    out.cross_node_max_ms = out.cross_node?.max_ms ?? null;
    out.met = {
      same_node_stale_requests: out.same_node_stale_requests === TARGETS.same_node_stale_requests,
      cross_node_p99_ms: out.cross_node ? out.cross_node_p99_ms <= TARGETS.cross_node_p99_ms : null,
    };
    const sameOk = out.same_node.mismatched_requests === 0 && out.same_node.gave_up === 0 && out.same_node.non2xx === 0;
    const crossOk = !out.cross_node || (out.cross_node.mismatched_requests === 0 && out.cross_node.gave_up === 0 && out.cross_node.non2xx === 0);
    out.correctness = { ok: sameOk && crossOk, note: 'every proxied request answered 200 and the upstream only ever received a real value (never the placeholder), every rotation reached the upstream' };
    return out;
  } finally {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    cluster?.destroy();
    removeTempDir(dir);
  }
}

export function render(r) {
  const parts = [];
  const m = r.method ?? {};
  parts.push('## Scenario `rotation` — from a PATCH\'s response to the first proxied request with the new value\n');
  if (r.quick) parts.push('**Quick smoke run (`--quick`): fewer rotations; run the full scenario for figures.**\n');
  parts.push(
    `Run ${r.date ?? ''} with \`${r.command ?? ''}\` (scenario runtime ${num(r.runtime_s, 1)} s). ${m.iterations} rotations per case. Each rotation: \`PATCH /api/public/v1/secrets/{id}\` \`{"value": <new 40-byte value>}\` through the API; ` +
      'as soon as its 200 arrives, `GET https://api.bench.test/v1/rotation` with `Authorization: Bearer vgph_…` through the proxy (one keep-alive CONNECT tunnel, one request at a time, no sleep), repeated until the upstream receives the new value. ' +
      'Latency = upstream arrival of the first request carrying the new value − arrival of the PATCH response (both `performance.now()` in the orchestrator, which also hosts the recording HTTPS upstream). ' +
      'A stale request is one sent after the PATCH response whose upstream copy carried an older value.\n',
  );
  parts.push(
    [
      '- **Same node**: one Vaultgate (SQLite, fresh data dir), PATCH and proxy on the same process.',
      `- **Cross node**: ${r.cross_node ? `a throwaway PostgreSQL ${r.cross_node.postgresql} cluster (initdb in a temp dir, removed after)` : 'not measured'}; two \`vaultgate serve\` nodes on the same \`VAULTGATE_DATABASE_URL\`, master key and admin key, own data dirs; PATCH through node A, requests through node B's proxy.`,
      `- Secret \`API_KEY\` with \`allowed_domains: ["api.bench.test"]\`; Vaultgate processes pinned to CPU 1 with \`VAULTGATE_LOG_LEVEL=${m.log_level}\`; the orchestrator (client + upstream) and PostgreSQL are unpinned. Figures are single runs of ${m.iterations} rotations (latency is not a throughput ratio, so no baseline interleaving); percentiles are nearest-rank.`,
    ].join('\n') + '\n',
  );
  const row = (label, x) =>
    x
      ? `| ${label} | ${x.iterations} | ${num(x.stale_requests)} | ${num(x.p50_ms, 2)} | ${num(x.p99_ms, 2)} | ${num(x.max_ms, 2)} | ${num(x.requests)} (max ${x.max_requests_per_iteration}/rotation) | ${num(x.patch_p50_ms, 2)} / ${num(x.patch_p99_ms, 2)} | ${x.mismatched_requests} / ${x.non2xx} / ${x.gave_up} |`
      : `| ${label} | – | – | – | – | – | – | – | not measured: ${r.cross_node_reason ?? 'unavailable'} |`;
  parts.push(
    [
      '| case | rotations | stale requests | p50 ms | p99 ms | max ms | proxied requests | PATCH p50 / p99 ms | mismatched / non-2xx / gave up |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      row('same node (SQLite)', r.same_node),
      row('cross node (PostgreSQL, PATCH via A, proxy via B)', r.cross_node),
    ].join('\n') + '\n',
  );
  parts.push('### Targets (issue 7)\n');
  const t = r.targets ?? TARGETS;
  parts.push(
    targetsTable([
      { figure: '`same_node_stale_requests`', value: num(r.same_node_stale_requests), target: `= ${t.same_node_stale_requests}`, met: r.met?.same_node_stale_requests },
      { figure: '`cross_node_p99_ms`', value: `${num(r.cross_node_p99_ms, 2)} ms`, target: `≤ ${t.cross_node_p99_ms} ms`, met: r.met?.cross_node_p99_ms },
      { figure: 'for reference: `cross_node_stale_requests`', value: num(r.cross_node_stale_requests) },
      { figure: 'for reference: `same_node_p50_ms` / `same_node_p99_ms`', value: `${num(r.same_node_p50_ms, 2)} / ${num(r.same_node_p99_ms, 2)} ms` },
      { figure: 'for reference: `cross_node_p50_ms` / max', value: `${num(r.cross_node_p50_ms, 2)} / ${num(r.cross_node_max_ms, 2)} ms` },
    ]) + '\n',
  );
  if (r.correctness) parts.push(`Correctness: **${r.correctness.ok ? 'OK' : 'FAILED'}** (${r.correctness.note}).\n`);
  return parts.join('\n');
}

/** "At a glance" rows: stale requests on one node, cross-node p99 (the same-node p99 beside it). */
export function summary(r) {
  const t = r.targets ?? TARGETS;
  const same = r.same_node;
  const cross = r.cross_node;
  const n = r.method?.iterations;
  return [
    {
      figure: '`same_node_stale_requests`: requests after a PATCH\'s 200 that still carried the old value (SQLite, one node)',
      value: typeof r.same_node_stale_requests === 'number' ? `${num(r.same_node_stale_requests)} in ${num(n)} rotations` : '–',
      vaultgate: same ? `PATCH → proxied request p50 ${num(same.p50_ms, 2)} ms, p99 ${num(same.p99_ms, 2)} ms` : '–',
      baseline: '– (no baseline: must be 0)',
      target: `= ${t.same_node_stale_requests}`,
      met: r.met?.same_node_stale_requests ?? null,
    },
    {
      figure: '`cross_node_p99_ms`: PATCH via node A → first request via node B with the new value (PostgreSQL)',
      value: cross ? `${num(r.cross_node_p99_ms, 2)} ms` : r.cross_node === null ? `**not measured**: ${r.cross_node_reason ?? 'unavailable'}` : '–',
      vaultgate: cross ? `p50 ${num(cross.p50_ms, 2)} ms, max ${num(cross.max_ms, 2)} ms, stale requests ${num(cross.stale_requests)}` : '–',
      baseline: same ? `same node (SQLite): p99 ${num(same.p99_ms, 2)} ms` : '–',
      target: `≤ ${t.cross_node_p99_ms} ms`,
      met: r.met?.cross_node_p99_ms ?? null,
    },
  ];
}
