// Scenario `h2`: HTTP/2 through Vaultgate's egress proxy (one session, S streams in flight) beside HTTP/1.1 through it (C keep-alive connections) and HTTP/2 direct, interleaved in one run.
// Every proxied request carries `Authorization: Bearer vgph_…` (intercepted, injected, audited,
// its answer scrubbed for echoes); the upstream is one Node http2 server with allowHTTP1, so both
// protocols reach the same process and code.
import { readFileSync, readdirSync } from 'node:fs';
import { proxiedAgent } from '../lib/agent-setup.mjs';
import { connectionsBetween } from '../lib/h2-sockets.mjs';
import { perRound, startIpcChild, startProxiedPair } from '../lib/proxy-harness.mjs';
import { interleaveSides, numberedRuns, STEAL_LIMIT_PCT, summarize } from '../lib/measure.mjs';
import { cpuCounters, cpuMicros, rssKiB, stealPercent, ticksPerSecond, waitQuiet, withScratch } from '../lib/proc.mjs';
import { mmm, num } from '../lib/report.mjs';
import { codeVersion, SERVER_CPU } from '../lib/servers.mjs';

export const name = 'h2';
export const description =
  'HTTP/2 through the egress proxy (one session, 1/32/100 streams in flight, injected Authorization, echo scrubbing on) vs HTTP/1.1 through it (1/32/100 keep-alive connections) and HTTP/2 direct';

const HOST = 'api.bench.test';
const OTHER = 'other.bench.test';
const PATH = '/v1/charges/ch_bench';
// S for HTTP/2 and C for HTTP/1.1. 100 is the proxy's own per-session stream limit (h2-tunnel.ts).
const LEVELS = [1, 32, 100];
// Far above what this machine serves (≈ 20k req/s direct): the budget only bounds a runaway run.
const MAX_REQUESTS_PER_S = 100_000;

const SIDES = {
  vg_h2: { label: '**Vaultgate, HTTP/2** (1 session, S streams)' },
  vg_h1: { label: 'Vaultgate, HTTP/1.1 (C keep-alive connections)' },
  direct_h2: { label: 'direct HTTP/2 (1 session, S streams, no proxy)' },
};

/** Busy and total jiffies of one CPU from /proc/stat (steal counts as not ours, like idle). */
function cpuJiffies(cpu) {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - v[3] - v[4] - (v[7] ?? 0), total };
}

/** Vaultgate's resident memory and open descriptors: taken before and after all runs, to see whether either grows with the traffic. */
function processFootprint(pid) {
  let fds = null;
  try {
    fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    // gone
  }
  return { rss_kib: rssKiB(pid), fds };
}

/**
 * One measured run of `side` with `inflight` streams (h2) or connections (h1). The session or
 * the pool is opened first (one request per slot, counted apart); CPU of Vaultgate, the upstream
 * and the client and the host's counters are read right around the window; the connections
 * Vaultgate holds from the client are sampled at ¼, ½ and ¾ of it.
 */
async function measureRun({ client, upstream, vg, side, inflight, duration }) {
  await upstream.reset();
  const prep = await client.call({ cmd: 'prepare', spec: { ...side.spec, inflight } });
  const samples = [];
  const timers = side.proxied ? [0.25, 0.5, 0.75].map((f) => setTimeout(() => samples.push(connectionsBetween(vg.pid, side.proxyPort, client.pid)), duration * 1000 * f)) : [];
  const host0 = cpuCounters();
  const s0 = cpuJiffies(SERVER_CPU);
  const p0 = cpuMicros(vg.pid);
  const u0 = cpuMicros(upstream.pid);
  const g0 = cpuMicros(client.pid);
  const r = await client.call({ cmd: 'go', duration, max_requests: Math.ceil(duration * MAX_REQUESTS_PER_S) });
  const p1 = cpuMicros(vg.pid);
  const u1 = cpuMicros(upstream.pid);
  const g1 = cpuMicros(client.pid);
  const host1 = cpuCounters();
  const s1 = cpuJiffies(SERVER_CPU);
  for (const t of timers) clearTimeout(t);
  const up = await upstream.stats();
  await client.call({ cmd: 'close' });
  const drain_ms = await waitQuiet([vg.pid, upstream.pid]);
  // Every 2xx the CPU window paid for, the ones that finished just after the deadline included.
  const served = r.ok + r.late_ok;
  const per = (cpu) => (served > 0 ? cpu / served : null);
  const wallUs = duration * 1e6;
  const proxyCpu = p1 - p0;
  const jiffyUs = 1e6 / ticksPerSecond();
  // Vaultgate's CPU is shared with whatever else this host runs there: what it could not have.
  const serverCpuTotalUs = (s1.total - s0.total) * jiffyUs;
  const serverOtherPct = serverCpuTotalUs > 0 ? Math.max(0, (100 * ((s1.busy - s0.busy) * jiffyUs - proxyCpu)) / serverCpuTotalUs) : null;
  return {
    rps: r.ok / duration,
    p50_ms: r.p50_ms,
    p99_ms: r.p99_ms,
    proxy_cpu_us_per_req: side.proxied ? per(proxyCpu) : null,
    upstream_cpu_us_per_req: per(u1 - u0),
    client_cpu_us_per_req: per(g1 - g0),
    // The direct side never touches Vaultgate: its CPU there is the idle floor (timers, GC).
    idle_proxy_cpu_pct: side.proxied ? null : (100 * proxyCpu) / wallUs,
    proxy_cpu_pct: side.proxied ? (100 * proxyCpu) / wallUs : null,
    upstream_cpu_pct: (100 * (u1 - u0)) / wallUs,
    client_cpu_pct: (100 * (g1 - g0)) / wallUs,
    server_cpu_other_pct: serverOtherPct,
    steal_pct: stealPercent(host0, host1),
    ok: r.ok,
    late_ok: r.late_ok,
    prepare_ok: prep.prepare_ok,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    status_codes: r.status_codes,
    error_samples: r.error_samples?.length ? r.error_samples : undefined,
    budget_reached: r.budget_reached,
    session_lost: r.session_lost,
    alpn: prep.alpn,
    client_connections: prep.connections_opened + r.connections_opened_during_run,
    proxy_client_connections: samples,
    upstream_tls_connections: up.tls_connections,
    upstream_requests: up.requests,
    upstream_h2_requests: up.h2_requests,
    upstream_h1_requests: up.h1_requests,
    upstream_expected_value: up.expected,
    upstream_mismatches: up.placeholder + up.other,
    // Requests the window and the prepare step sent that the upstream should have seen.
    upstream_unaccounted: up.requests - (prep.prepare_ok + served),
    drain_ms,
  };
}

const METRICS = ['rps', 'p50_ms', 'p99_ms', 'proxy_cpu_us_per_req', 'upstream_cpu_us_per_req', 'client_cpu_us_per_req', 'proxy_cpu_pct', 'upstream_cpu_pct', 'client_cpu_pct', 'idle_proxy_cpu_pct', 'server_cpu_other_pct'];

function caseSummary(runs, inflight) {
  const kept = runs.filter((r) => !r.dropped);
  const out = { inflight };
  for (const m of METRICS) out[m] = summarize(kept.map((r) => r[m]));
  const sum = (k) => runs.reduce((a, r) => a + (r[k] ?? 0), 0);
  out.ok_total = sum('ok');
  out.non2xx_total = sum('non2xx');
  out.errors_total = sum('errors');
  out.timeouts_total = sum('timeouts');
  const seen = runs.flatMap((r) => r.proxy_client_connections);
  out.proxy_client_connections = seen.length ? { min: Math.min(...seen), max: Math.max(...seen) } : null;
  out.client_connections = { min: Math.min(...runs.map((r) => r.client_connections)), max: Math.max(...runs.map((r) => r.client_connections)) };
  out.rounds_kept = kept.length;
  out.rounds_dropped = runs.length - kept.length;
  out.runs = numberedRuns(runs);
  return out;
}

const fmt = (x, d = 2) => (typeof x === 'number' ? x.toFixed(d) : '-');

function logRun(log, label, key, r) {
  const cpu = r.proxy_cpu_us_per_req ?? r.upstream_cpu_us_per_req;
  log(
    `  ${label} ${key.padEnd(9)} ${fmt(r.rps, 0).padStart(6)} req/s  p50 ${fmt(r.p50_ms)} ms  p99 ${fmt(r.p99_ms)} ms  ${fmt(cpu, 1).padStart(7)} µs/req ${r.proxy_cpu_us_per_req !== null ? 'proxy' : 'upstream'}` +
      ` (upstream ${fmt(r.upstream_cpu_us_per_req, 1)}, client ${fmt(r.client_cpu_us_per_req, 1)})  non2xx ${r.non2xx} err ${r.errors} timeouts ${r.timeouts}${r.error_samples ? ` ${JSON.stringify(r.error_samples)}` : ''}` +
      `  alpn ${r.alpn} conns ${r.client_connections} seen ${JSON.stringify(r.proxy_client_connections)} up-tls ${r.upstream_tls_connections} up h2/h1 ${r.upstream_h2_requests}/${r.upstream_h1_requests}` +
      `  cpu% proxy ${fmt(r.proxy_cpu_pct ?? r.idle_proxy_cpu_pct, 0)} up ${fmt(r.upstream_cpu_pct, 0)} gen ${fmt(r.client_cpu_pct, 0)} others-on-CPU${SERVER_CPU} ${fmt(r.server_cpu_other_pct, 0)}  steal ${fmt(r.steal_pct, 1)}%` +
      `${r.session_lost ? '  SESSION LOST' : ''}${r.budget_reached ? '  BUDGET REACHED' : ''}${r.dropped ? '  DROPPED' : ''}`,
  );
}

/** One warm-up run of each side, then `rounds` × (every side in turn). */
function interleavedLevel({ client, upstream, vg, sides, inflight, rounds, duration, warmup, log, onRun }) {
  return interleaveSides({
    sides,
    rounds,
    measure: (side, isWarmup) => measureRun({ client, upstream, vg, side, inflight, duration: isWarmup ? warmup : duration }),
    onRun,
    logRun: (r, round, side) => logRun(log, `S/C=${inflight} round ${round}/${rounds}`, side.key, r),
  });
}

/** One request on a fresh session or connection, outside the measurements; a refused CONNECT reads as its status. */
async function once(client, spec) {
  try {
    return await client.call({ cmd: 'once', spec });
  } catch (err) {
    const msg = String(err?.message ?? err);
    return { status: Number(/CONNECT answered (\d{3})/.exec(msg)?.[1] ?? 0), body: msg.slice(0, 300), alpn: null };
  }
}

/**
 * Before measuring: every side answers over the protocol it claims (ALPN at the client, the
 * request's version at the upstream) with the real value arriving; through Vaultgate an echoed
 * value comes back as the placeholder over both protocols; OTHER gets a 403 and nothing reaches
 * the upstream, over both protocols.
 */
async function setupChecks({ client, upstream, sides, a }) {
  const paths = {};
  let vaultgateRequests = 0;
  for (const side of Object.values(sides)) {
    await upstream.reset();
    const r = await once(client, { ...side.spec, path: PATH });
    const st = await upstream.stats();
    const version = side.spec.protocol === 'h2' ? st.h2_requests === 1 : st.h1_requests === 1;
    const alpnOk = r.alpn === (side.spec.protocol === 'h2' ? 'h2' : 'http/1.1');
    paths[side.key] = { status: r.status, alpn: r.alpn, upstream_real_value: st.expected, upstream_h2: st.h2_requests, upstream_h1: st.h1_requests };
    if (r.status !== 200 || st.expected !== 1 || !version || !alpnOk) throw new Error(`${side.key}: setup request -> ${r.status} alpn ${r.alpn} ${r.body.slice(0, 200)}; upstream ${JSON.stringify(st)}`);
    if (side.proxied) vaultgateRequests++;
  }
  const scrub = {};
  const disallowed = {};
  for (const side of [sides.vg_h2, sides.vg_h1]) {
    const echo = await once(client, { ...side.spec, path: '/v1/echo' });
    scrub[side.key] = { status: echo.status, agent_saw_placeholder: echo.body.includes(a.placeholder), agent_saw_value: echo.body.includes(a.value) };
    if (echo.status === 200) vaultgateRequests++;
    await upstream.reset();
    const other = await once(client, { ...side.spec, servername: OTHER, path: '/v1/echo' });
    disallowed[side.key] = { status: other.status, alpn: other.alpn, upstream_requests: (await upstream.stats()).requests };
  }
  return { paths, scrub, disallowed, vaultgateRequests };
}

/** Counts audit events of `type` page by page (they can run to hundreds of thousands), and those failing `check`. */
async function countEvents(api, type, check) {
  let next = `/audit?type=${type}&limit=1000`;
  let count = 0;
  let wrong = 0;
  let pages = 0;
  while (next) {
    const res = await api('GET', next);
    if (res.status !== 200) throw new Error(`GET ${next} -> ${res.status} ${res.text.slice(0, 300)}`);
    for (const e of res.json) {
      count++;
      if (!check(e)) wrong++;
    }
    pages++;
    next = /<([^>]+)>\s*;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1] ?? null;
  }
  return { count, wrong, pages };
}

export async function run({ quick, log }) {
  // 5 rounds × 3 sides × 3 levels × 2.5 s, plus warm-ups, drains and the audit count: about 3 minutes.
  const rounds = quick ? 2 : 5;
  const duration = quick ? 1 : 2.5;
  const warmup = quick ? 0.5 : 1;
  return withScratch('vg-bench-h2-', async ({ dir, keep }) => {
    const { pki, upstream, vg } = await startProxiedPair({ keep, dir, hosts: [HOST, OTHER], script: 'h2-upstream.mjs' });
    const a = await proxiedAgent(vg, { name: 'bench-h2', host: HOST });
    await upstream.expect(`Bearer ${a.value}`);
    const client = keep(await startIpcChild('h2-client.mjs', 'h2 client'));

    const ph = { authorization: `Bearer ${a.placeholder}` };
    const proxied = { proxy: a.proxy, servername: HOST, ca: a.ca, path: PATH, headers: ph };
    const sides = {
      vg_h2: { key: 'vg_h2', proxied: true, proxyPort: a.proxy.port, spec: { ...proxied, protocol: 'h2' } },
      vg_h1: { key: 'vg_h1', proxied: true, proxyPort: a.proxy.port, spec: { ...proxied, protocol: 'h1' } },
      direct_h2: { key: 'direct_h2', proxied: false, spec: { protocol: 'h2', proxy: null, host: '127.0.0.1', port: upstream.port, servername: HOST, ca: pki.caPem, path: PATH, headers: { authorization: `Bearer ${a.value}` } } },
    };
    const setup = await setupChecks({ client, upstream, sides, a });
    log(
      `h2: vaultgate pid ${vg.pid} (proxy :${a.proxy.port}) on CPU 1; upstream pid ${upstream.pid} (:${upstream.port}) and client pid ${client.pid} on CPU 0; ` +
        `ALPN vg_h2 ${setup.paths.vg_h2.alpn}, vg_h1 ${setup.paths.vg_h1.alpn}, direct ${setup.paths.direct_h2.alpn}; ` +
        `echo scrubbed h2 ${setup.scrub.vg_h2.agent_saw_placeholder && !setup.scrub.vg_h2.agent_saw_value} h1.1 ${setup.scrub.vg_h1.agent_saw_placeholder && !setup.scrub.vg_h1.agent_saw_value}; ` +
        `disallowed host -> h2 ${setup.disallowed.vg_h2.status}, h1.1 ${setup.disallowed.vg_h1.status}`,
    );

    const footprintBefore = processFootprint(vg.pid);
    const vgRuns = { vg_h2: [], vg_h1: [] };
    const allRuns = { vg_h2: [], vg_h1: [], direct_h2: [] };
    const onRun = (key, r) => {
      vgRuns[key]?.push(r);
      allRuns[key].push(r);
    };
    const out = {
      method: { rounds, duration_s: duration, warmup_s: warmup, levels: LEVELS, steal_limit_pct: STEAL_LIMIT_PCT, host: HOST, path: PATH, log_level: 'warn', cpu_tick_us: 1e6 / ticksPerSecond(), server_cpu: SERVER_CPU, order: Object.keys(sides) },
      code: codeVersion(),
      setup,
      cases: {},
    };
    const order = [sides.vg_h2, sides.vg_h1, sides.direct_h2];
    for (const n of LEVELS) {
      log(`h2: S = C = ${n}: ${rounds} rounds × ${duration}s, interleaved ${order.map((s) => s.key).join(', ')}`);
      const runs = await interleavedLevel({ client, upstream, vg, sides: order, inflight: n, rounds, duration, warmup, log, onRun });
      const q = (m) => (x, y) => (x[m] > 0 && typeof y[m] === 'number' ? y[m] / x[m] : null);
      const x = {
        inflight: n,
        vg_h2: caseSummary(runs.vg_h2, n),
        vg_h1: caseSummary(runs.vg_h1, n),
        direct_h2: caseSummary(runs.direct_h2, n),
        // Per round: subject ÷ baseline.
        h2_vs_h1_rps: perRound(runs.vg_h1, runs.vg_h2, q('rps')),
        h2_vs_h1_proxy_cpu: perRound(runs.vg_h1, runs.vg_h2, q('proxy_cpu_us_per_req')),
        h2_vs_h1_p50: perRound(runs.vg_h1, runs.vg_h2, q('p50_ms')),
        vg_vs_direct_h2_rps: perRound(runs.direct_h2, runs.vg_h2, q('rps')),
        vg_added_p50_ms: perRound(runs.direct_h2, runs.vg_h2, (d, v) => v.p50_ms - d.p50_ms),
      };
      out.cases[`n${n}`] = x;
      log(
        `h2: S=C=${n}: req/s h2 ÷ h1.1 through Vaultgate ${fmt(x.h2_vs_h1_rps?.median, 3)}, proxy CPU/req h2 ÷ h1.1 ${fmt(x.h2_vs_h1_proxy_cpu?.median, 3)}; ` +
          `Vaultgate h2 ÷ direct h2 ${fmt(x.vg_vs_direct_h2_rps?.median, 3)}, added p50 ${fmt(x.vg_added_p50_ms?.median, 2)} ms`,
      );
    }
    // Informational, not part of the check: the audit table and V8's heap grow with traffic anyway.
    out.vaultgate_footprint = { before: footprintBefore, after: processFootprint(vg.pid) };
    log(`h2: vaultgate before the runs ${JSON.stringify(out.vaultgate_footprint.before)}, after ${JSON.stringify(out.vaultgate_footprint.after)}`);
    out.correctness = await checkCorrectness({ vg, a, setup, vgRuns, allRuns, log });
    return out;
  });
}

/**
 * Every proxied request reached the upstream with the real value and nothing else, and over the
 * protocol its side speaks (h2 sessions never fell back to HTTP/1.1 upstream); the h2 side held
 * one client connection; no errors or non-2xx on any side; one `proxy.injected` event per
 * proxied 2xx (warm-ups and setup included); the echoes were scrubbed; OTHER got 403 with
 * nothing upstream (two `proxy.blocked`); the audit chain verifies.
 */
async function checkCorrectness({ vg, a, setup, vgRuns, allRuns, log }) {
  const every = Object.values(allRuns).flat();
  const sum = (runs, k) => runs.reduce((n, r) => n + (r[k] ?? 0), 0);
  const h2 = vgRuns.vg_h2;
  const h1 = vgRuns.vg_h1;
  const proxied = [...h2, ...h1];
  const served = sum(proxied, 'ok') + sum(proxied, 'late_ok') + sum(proxied, 'prepare_ok') + setup.vaultgateRequests;
  const injected = await countEvents(vg.api, 'proxy.injected', (e) => e.secret_id === a.secretId && e.agent_id === a.agentId && e.details?.host === HOST);
  const blocked = await countEvents(vg.api, 'proxy.blocked', () => true);
  const verify = await vg.api('GET', '/audit/verify');
  const result = {
    vaultgate_2xx: served,
    errors: sum(every, 'errors'),
    timeouts: sum(every, 'timeouts'),
    non2xx: sum(every, 'non2xx'),
    sessions_lost: every.filter((r) => r.session_lost).length,
    upstream_real_value: sum(every, 'upstream_expected_value'),
    upstream_mismatches: sum(every, 'upstream_mismatches'),
    upstream_unaccounted: sum(every, 'upstream_unaccounted'),
    // Requests of an HTTP/2 side the upstream received over HTTP/1.1, and the reverse.
    h2_side_requests_over_h1: sum([...h2, ...allRuns.direct_h2], 'upstream_h1_requests'),
    h2_side_requests_over_h2: sum([...h2, ...allRuns.direct_h2], 'upstream_h2_requests'),
    h1_side_requests_over_h2: sum(h1, 'upstream_h2_requests'),
    h2_client_alpn_not_h2: [...h2, ...allRuns.direct_h2].filter((r) => r.alpn !== 'h2').length,
    h2_proxy_client_connections: (() => {
      const seen = h2.flatMap((r) => r.proxy_client_connections);
      return seen.length ? { min: Math.min(...seen), max: Math.max(...seen) } : null;
    })(),
    proxy_injected_events: injected.count,
    proxy_injected_wrong_fields: injected.wrong,
    audit_pages: injected.pages,
    proxy_blocked_events: blocked.count,
    scrub: setup.scrub,
    disallowed_host: setup.disallowed,
    verify: verify.json ?? { status: verify.status },
  };
  const scrubbed = (s) => s.status === 200 && s.agent_saw_placeholder && !s.agent_saw_value;
  const refused = (d) => d.status === 403 && d.upstream_requests === 0;
  result.ok =
    result.errors === 0 &&
    result.timeouts === 0 &&
    result.non2xx === 0 &&
    result.sessions_lost === 0 &&
    result.upstream_mismatches === 0 &&
    result.upstream_unaccounted === 0 &&
    result.h2_side_requests_over_h1 === 0 &&
    result.h1_side_requests_over_h2 === 0 &&
    result.h2_client_alpn_not_h2 === 0 &&
    result.h2_proxy_client_connections?.max === 1 &&
    injected.count === served &&
    injected.wrong === 0 &&
    scrubbed(setup.scrub.vg_h2) &&
    scrubbed(setup.scrub.vg_h1) &&
    refused(setup.disallowed.vg_h2) &&
    refused(setup.disallowed.vg_h1) &&
    blocked.count === 2 &&
    verify.json?.ok === true;
  log(
    `h2: correctness: ${served} 2xx through vaultgate; errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}, sessions lost ${result.sessions_lost}; ` +
      `upstream got the real value ${result.upstream_real_value}×, ${result.upstream_mismatches} mismatches, ${result.upstream_unaccounted} unaccounted; ` +
      `h2 sides over h2 ${result.h2_side_requests_over_h2} / over h1.1 ${result.h2_side_requests_over_h1}; h1.1 side over h2 ${result.h1_side_requests_over_h2}; ` +
      `h2 proxy client connections ${JSON.stringify(result.h2_proxy_client_connections)}; ${injected.count} proxy.injected (${injected.wrong} wrong, ${injected.pages} pages); ` +
      `echo scrubbed h2 ${scrubbed(setup.scrub.vg_h2)} h1.1 ${scrubbed(setup.scrub.vg_h1)}; disallowed h2 ${setup.disallowed.vg_h2.status}/${setup.disallowed.vg_h2.upstream_requests} up, ` +
      `h1.1 ${setup.disallowed.vg_h1.status}/${setup.disallowed.vg_h1.upstream_requests} up; ${blocked.count} proxy.blocked; verify ok=${verify.json?.ok} -> ${result.ok ? 'OK' : 'FAILED'}`,
  );
  return result;
}

// ---- rendering ----

export function render(r) {
  const m = r.method ?? {};
  const rows = [];
  for (const x of Object.values(r.cases ?? {})) {
    for (const k of ['vg_h2', 'vg_h1', 'direct_h2']) {
      const s = x[k];
      if (!s) continue;
      const conns = k === 'vg_h1' ? `${x.inflight} conns` : `1 session, ${x.inflight} streams`;
      rows.push(
        `| ${SIDES[k].label} | ${conns} | ${mmm(s.rps)} | ${mmm(s.p50_ms, 2)} | ${mmm(s.p99_ms, 2)} | ${k === 'direct_h2' ? '–' : mmm(s.proxy_cpu_us_per_req, 1)} | ${mmm(s.upstream_cpu_us_per_req, 1)} | ${mmm(s.client_cpu_us_per_req, 1)} | ${mmm(s.server_cpu_other_pct)} | ${num(s.non2xx_total)} / ${num(s.errors_total + (s.timeouts_total ?? 0))} | ${s.rounds_kept} (${s.rounds_dropped}) |`,
      );
    }
  }
  const ratios = Object.values(r.cases ?? {}).map(
    (x) => `| ${x.inflight} | ${mmm(x.h2_vs_h1_rps, 2)} | ${mmm(x.h2_vs_h1_proxy_cpu, 2)} | ${mmm(x.h2_vs_h1_p50, 2)} | ${mmm(x.vg_vs_direct_h2_rps, 3)} | ${mmm(x.vg_added_p50_ms, 2)} |`,
  );
  const k = r.correctness;
  return [
    '## Scenario `h2` — HTTP/2 through the egress proxy beside HTTP/1.1',
    '',
    `Run ${r.date} with \`${r.command}\` (scenario runtime ${r.runtime_s} s). For each S (= C), one warm-up run of each path, then ${m.rounds} interleaved rounds (Vaultgate HTTP/2, Vaultgate HTTP/1.1, direct HTTP/2, …) of ${m.duration_s} s; rounds with host CPU steal > ${m.steal_limit_pct}% are dropped.`,
    '',
    `- **Request**: \`GET https://${m.host}${m.path}\` with \`Authorization: Bearer …\`, answered with a 45-byte JSON by one Node \`http2.createSecureServer\` with \`allowHTTP1\` (\`bench/lib/h2-upstream.mjs\`, compatibility API, pinned to CPU 0) that serves both protocols and counts, per request, its version and whether it carried the real value.`,
    '- **Client** (`bench/lib/h2-client.mjs`, a child pinned to CPU 0): **HTTP/2** opens one session (CONNECT, then TLS offering `h2, http/1.1`; direct: TLS to the upstream) and keeps S streams in flight, each a new GET as soon as the last one ends; **HTTP/1.1** is an undici pool of C keep-alive connections (each its own CONNECT + TLS offering `http/1.1` only), one request in flight on each. The session / pool is opened and warmed with one request per slot before the window; latency is per request, from send to the end of its body; only 2xx inside the window count toward req/s.',
    '- **Vaultgate** (pinned to CPU 1, log level warn, fresh SQLite data dir): the agent\'s secret (allowed for the host) is injected into every request and audited (`proxy.injected`, committed before the request leaves); the agent holds a value for the host, so every answer is scrubbed for echoes. HTTP/2 streams go on the proxy\'s HTTP/2 session for that tunnel to the upstream; HTTP/1.1 requests go on its pooled HTTP/1.1 connections. **Direct** sends the real value itself.',
    `- "Others on CPU ${m.server_cpu ?? 1}": how busy Vaultgate's CPU was with other processes of this shared host during the window (/proc/stat for that CPU minus Vaultgate's own time); a round where it is high had less than a whole core for Vaultgate, which lowers its req/s but hardly its CPU µs/req.`,
    `- CPU µs/req: utime+stime from \`/proc/<pid>/stat\` across the window ÷ 2xx answered (those finishing just after the deadline included), for Vaultgate (proxy), the upstream and the client; clock ticks are ${num(m.cpu_tick_us / 1000)} ms, so with S = 1 the figure is coarse. The client and the upstream share CPU 0, so the direct HTTP/2 figures are bounded by that one core.`,
    '',
    `| path | shape | req/s (2xx) | p50 ms | p99 ms | proxy CPU µs/req | upstream CPU µs/req | client CPU µs/req | others on CPU ${m.server_cpu ?? 1} % | non-2xx / errors | rounds kept (dropped) |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    'Ratios, per round (rounds where both runs were kept), median (min–max):',
    '',
    '| S = C | req/s, Vaultgate h2 ÷ h1.1 | proxy CPU µs/req, h2 ÷ h1.1 | p50, h2 ÷ h1.1 | req/s, Vaultgate h2 ÷ direct h2 | added p50 ms, Vaultgate h2 − direct h2 |',
    '|---:|---:|---:|---:|---:|---:|',
    ...ratios,
    '',
    ...(r.vaultgate_footprint
      ? [
          `Vaultgate's footprint (information): before the first run ${num(r.vaultgate_footprint.before?.rss_kib / 1024)} MiB resident, ${num(r.vaultgate_footprint.before?.fds)} open descriptors; after the last ${num(r.vaultgate_footprint.after?.rss_kib / 1024)} MiB, ${num(r.vaultgate_footprint.after?.fds)} (idle client connections closed, the upstream sessions and pooled connections it keeps still open).`,
          '',
        ]
      : []),
    ...(k
      ? [
          `Correctness: **${k.ok ? 'OK' : 'FAILED'}** — ${num(k.vaultgate_2xx)} 2xx through Vaultgate (warm-ups, prepare and setup requests included); errors ${num(k.errors)}, timeouts ${num(k.timeouts)}, non-2xx ${num(k.non2xx)}, lost sessions ${num(k.sessions_lost)}; ` +
            `the upstream got the real value ${num(k.upstream_real_value)}× and anything else ${num(k.upstream_mismatches)}×; requests of the HTTP/2 paths that arrived over HTTP/2 ${num(k.h2_side_requests_over_h2)}, over HTTP/1.1 ${num(k.h2_side_requests_over_h1)}; requests of the HTTP/1.1 path that arrived over HTTP/2 ${num(k.h1_side_requests_over_h2)}; ` +
            `client connections Vaultgate held during HTTP/2 runs ${k.h2_proxy_client_connections ? `${k.h2_proxy_client_connections.min}–${k.h2_proxy_client_connections.max}` : '–'}; ` +
            `${num(k.proxy_injected_events)} \`proxy.injected\` events (${num(k.proxy_injected_wrong_fields)} with another secret, agent or host); ` +
            `echoed value scrubbed: h2 ${k.scrub?.vg_h2?.agent_saw_placeholder && !k.scrub?.vg_h2?.agent_saw_value ? 'yes' : 'no'}, HTTP/1.1 ${k.scrub?.vg_h1?.agent_saw_placeholder && !k.scrub?.vg_h1?.agent_saw_value ? 'yes' : 'no'}; ` +
            `\`${OTHER}\` (not allowed): h2 ${k.disallowed_host?.vg_h2?.status}, HTTP/1.1 ${k.disallowed_host?.vg_h1?.status}, ${num((k.disallowed_host?.vg_h2?.upstream_requests ?? 0) + (k.disallowed_host?.vg_h1?.upstream_requests ?? 0))} requests reached the upstream, ${num(k.proxy_blocked_events)} \`proxy.blocked\`; \`GET /audit/verify\` ok=${k.verify?.ok}.`,
          '',
        ]
      : []),
  ].join('\n');
}

/** "At a glance": HTTP/2 ÷ HTTP/1.1 through Vaultgate at each S = C (no target yet). */
export function summary(r) {
  return Object.values(r.cases ?? {}).map((x) => ({
    figure: `HTTP/2 through Vaultgate, ${x.inflight} stream(s) on 1 session: req/s ÷ HTTP/1.1 with ${x.inflight} keep-alive connection(s)`,
    value: mmm(x.h2_vs_h1_rps, 2),
    vaultgate: `h2: ${num(x.vg_h2?.rps?.median)} req/s, p50 ${num(x.vg_h2?.p50_ms?.median, 2)} ms, ${num(x.vg_h2?.proxy_cpu_us_per_req?.median, 1)} µs/req; ÷ direct h2 ${num(x.vg_vs_direct_h2_rps?.median, 3)}`,
    baseline: `h1.1 through Vaultgate: ${num(x.vg_h1?.rps?.median)} req/s, p50 ${num(x.vg_h1?.p50_ms?.median, 2)} ms, ${num(x.vg_h1?.proxy_cpu_us_per_req?.median, 1)} µs/req`,
    target: '–',
    met: null,
  }));
}
