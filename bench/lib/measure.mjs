// One measured load run and the interleaved baseline/subject rounds built from it.
import { cpuCounters, cpuMicros, cpuTimes, sleep, stealPercent, ticksPerSecond } from './proc.mjs';

export const STEAL_LIMIT_PCT = 5;

/** A case's description for results.json: method, connections and the path with its ids shortened (`sec_…`). */
export function describeCase(spec, connections) {
  return { connections, method: spec.method, path: spec.path.replace(/[a-z]+_[0-9A-Z]{26}/g, (m) => `${m.split('_')[0]}_…`) };
}

export function median(xs) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The `p`th percentile (nearest rank) of ascending `sorted`, or null when it is empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round3 = (x) => (typeof x === 'number' ? Math.round(x * 1000) / 1000 : x);

/** Every run as results.json keeps it: numbered by round, its figures rounded to 3 decimals. */
export function numberedRuns(runs) {
  return runs.map((r, i) => ({ round: i + 1, ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round3(v)])) }));
}

/**
 * Interleaved rounds over several sides (A B C A B C …), after one warm-up run of each unless
 * `warmup` is false. `measure(side, isWarmup)` makes one run; a measured run with host CPU steal
 * over STEAL_LIMIT_PCT is marked dropped. `onRun(key, run, { warmup })` sees every run,
 * `logRun(run, round, side)` the measured ones. Returns the measured runs by side key.
 */
export async function interleaveSides({ sides, rounds, measure, warmup = true, onRun = () => {}, logRun }) {
  if (warmup) {
    for (const side of sides) onRun(side.key, await measure(side, true), { warmup: true });
  }
  const runs = Object.fromEntries(sides.map((s) => [s.key, []]));
  for (let i = 0; i < rounds; i++) {
    for (const side of sides) {
      const r = await measure(side, false);
      r.dropped = r.steal_pct > STEAL_LIMIT_PCT;
      onRun(side.key, r, { warmup: false });
      runs[side.key].push(r);
      logRun(r, i + 1, side);
    }
  }
  return runs;
}

/** {median, min, max, n} of the finite values. */
export function summarize(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return null;
  const r = (x) => Math.round(x * 1000) / 1000;
  return { median: r(median(v)), min: r(Math.min(...v)), max: r(Math.max(...v)), n: v.length };
}

/** Waits until the server has used no CPU for `quietMs` (its queue drained), at most `maxMs`. */
async function waitIdle(pid, quietMs = 100, maxMs = 5000) {
  const t0 = Date.now();
  let last = cpuMicros(pid);
  for (;;) {
    await sleep(quietMs);
    const now = cpuMicros(pid);
    if (now === last || Date.now() - t0 > maxMs) return Date.now() - t0;
    last = now;
  }
}

/**
 * Runs `spec` against `server` once. Server and load-generator CPU (utime+stime) and the host's
 * CPU counters are read right before the load starts and right after it ends, so requests left
 * in flight when autocannon closes its sockets are not charged to the run; the server is then
 * left to drain until idle so that tail does not spill into the next run either.
 */
export async function measureOnce(loadgen, server, spec) {
  const host0 = cpuCounters();
  const t0 = cpuTimes(server.pid);
  const cpu0 = t0.user + t0.sys;
  const gen0 = cpuMicros(loadgen.pid);
  const r = await loadgen.run({ ...spec, url: server.url });
  const t1 = cpuTimes(server.pid);
  const cpu1 = t1.user + t1.sys;
  const gen1 = cpuMicros(loadgen.pid);
  const host1 = cpuCounters();
  const drain_ms = await waitIdle(server.pid);
  const ok = r.ok;
  const wall = r.duration_s > 0 ? r.duration_s : 1;
  const jiffyUs = 1e6 / ticksPerSecond();
  const hostBusyUs = (host1.busy - host0.busy) * jiffyUs;
  const hostTotalUs = (host1.total - host0.total) * jiffyUs;
  return {
    rps: r.duration_s > 0 ? ok / r.duration_s : 0,
    p50_ms: r.p50_ms,
    p99_ms: r.p99_ms,
    cpu_us_per_req: ok > 0 ? (cpu1 - cpu0) / ok : null,
    cpu_sys_us_per_req: ok > 0 ? (t1.sys - t0.sys) / ok : null,
    ok,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    status_codes: r.status_codes,
    duration_s: r.duration_s,
    steal_pct: stealPercent(host0, host1),
    server_cpu_pct: (100 * (cpu1 - cpu0)) / (wall * 1e6),
    loadgen_cpu_pct: (100 * (gen1 - gen0)) / (wall * 1e6),
    // Busy CPU on the host not used by the server or the load generator (other tenants of this VM).
    other_cpu_pct: hostTotalUs > 0 ? Math.max(0, (100 * (hostBusyUs - (cpu1 - cpu0) - (gen1 - gen0))) / hostTotalUs) : null,
    drain_ms,
    ids: r.ids,
  };
}

const metrics = ['rps', 'p50_ms', 'p99_ms', 'cpu_us_per_req'];
const contextMetrics = ['cpu_sys_us_per_req', 'server_cpu_pct', 'loadgen_cpu_pct', 'other_cpu_pct'];

function caseSummary(runs) {
  const kept = runs.filter((r) => !r.dropped);
  const out = {};
  for (const m of metrics) out[m] = summarize(kept.map((r) => r[m]));
  for (const m of contextMetrics) out[m] = summarize(kept.map((r) => r[m]));
  out.ok_total = runs.reduce((a, r) => a + r.ok, 0);
  out.non2xx_total = runs.reduce((a, r) => a + r.non2xx, 0);
  out.errors_total = runs.reduce((a, r) => a + r.errors, 0);
  out.timeouts_total = runs.reduce((a, r) => a + r.timeouts, 0);
  out.rounds_kept = kept.length;
  out.rounds_dropped = runs.length - kept.length;
  return out;
}

/** A run as results.json keeps it: without the created ids. */
const withoutIds = ({ ids: _ids, ...rest }) => rest;

/**
 * Interleaves baseline (A) and subject (B) runs — A B A B … — after one warm-up run of each.
 * `onRun(role, run, {warmup})` sees every run (also warm-ups), e.g. to collect created ids.
 * Returns per-role results and the subject/baseline ratios of rounds where both runs were kept.
 */
export async function interleaved({ loadgen, baseline, subject, rounds, duration, warmup, log = () => {}, onRun = () => {} }) {
  const label = subject.label;
  if (warmup > 0) {
    for (const [role, side] of [
      ['baseline', baseline],
      ['subject', subject],
    ]) {
      const w = await measureOnce(loadgen, side.server, { ...side.spec, duration: warmup });
      onRun(role, w, { warmup: true });
    }
  }
  const runs = { baseline: [], subject: [] };
  for (let i = 0; i < rounds; i++) {
    for (const [role, side] of [
      ['baseline', baseline],
      ['subject', subject],
    ]) {
      const before = side.before ? await side.before() : {};
      const r = { ...before, ...(await measureOnce(loadgen, side.server, { ...side.spec, duration })) };
      r.dropped = r.steal_pct > STEAL_LIMIT_PCT;
      onRun(role, r, { warmup: false });
      runs[role].push(r);
      log(
        `  ${label} round ${i + 1}/${rounds} ${role.padEnd(8)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${fmt(r.p50_ms)} ms  p99 ${fmt(r.p99_ms)} ms  ` +
          `${fmt(r.cpu_us_per_req, 1).padStart(7)} µs/req  non2xx ${r.non2xx} err ${r.errors}  cpu% srv ${r.server_cpu_pct.toFixed(0)} gen ${r.loadgen_cpu_pct.toFixed(0)} other ${fmt(r.other_cpu_pct, 0)}  steal ${r.steal_pct.toFixed(1)}%` +
          `${Object.keys(before).length ? `  ${JSON.stringify(before)}` : ''}${r.dropped ? '  DROPPED' : ''}`,
      );
    }
  }
  const ratioRuns = [];
  for (let i = 0; i < rounds; i++) {
    const a = runs.baseline[i];
    const b = runs.subject[i];
    if (a.dropped || b.dropped) continue;
    const q = (x, y) => (typeof x === 'number' && typeof y === 'number' && y > 0 ? x / y : null);
    ratioRuns.push({ rps: q(b.rps, a.rps), p50_ms: q(b.p50_ms, a.p50_ms), p99_ms: q(b.p99_ms, a.p99_ms), cpu_us_per_req: q(b.cpu_us_per_req, a.cpu_us_per_req) });
  }
  const ratio = {};
  for (const m of metrics) ratio[m] = summarize(ratioRuns.map((r) => r[m]));
  ratio.rounds = ratioRuns.length;
  return {
    baseline: { ...baseline.describe, ...caseSummary(runs.baseline), runs: numberedRuns(runs.baseline.map(withoutIds)) },
    subject: { ...subject.describe, ...caseSummary(runs.subject), ratio_vs_baseline: ratio, runs: numberedRuns(runs.subject.map(withoutIds)) },
  };
}

function fmt(x, digits = 2) {
  return typeof x === 'number' ? x.toFixed(digits) : '-';
}
