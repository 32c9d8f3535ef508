// The soak scenario's watch on the server process: RSS (VmRSS) and CPU sampled every second,
// exits noticed, and its stdout log lines and stderr scanned while it runs.
import { cpuMicros, rssKiB } from './proc.mjs';

const MiB = 1024;

/** Samples `child`'s RSS and CPU every `everyMs`; peek() → last RSS; stop() → { pid, exits, missing, samples: [[t_s, rss_kib, cpu_pct]] }. */
export function sampleProcess(child, everyMs = 1000) {
  const pid = child.pid;
  const t0 = performance.now();
  const samples = [];
  let missing = 0;
  let exits = 0;
  let last = { t: t0, cpu: cpuMicros(pid) };
  child.once('exit', () => exits++);
  const tick = () => {
    const t = performance.now();
    const rss = rssKiB(pid);
    let cpu = null;
    try {
      cpu = cpuMicros(pid);
    } catch {
      // gone
    }
    if (rss === null || cpu === null) return void missing++;
    const pct = (100 * (cpu - last.cpu)) / ((t - last.t) * 1000);
    last = { t, cpu };
    samples.push([Math.round((t - t0) / 100) / 10, rss, Math.round(pct * 10) / 10]);
  };
  const timer = setInterval(tick, everyMs);
  return {
    /** The last sampled RSS in KiB. */
    peek: () => samples.at(-1)?.[1] ?? null,
    stop() {
      clearInterval(timer);
      tick();
      return { pid, exits, missing, samples, alive: child.exitCode === null && child.signalCode === null };
    },
  };
}

const avg = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const r1 = (x) => (typeof x === 'number' ? Math.round(x * 10) / 10 : x);

/**
 * RSS and CPU figures from the samples: min/max, the average over the first and the last
 * `windowS` seconds of the load (samples after `loadEndS` excluded) and the growth between them.
 */
export function rssFigures(samples, windowS, loadEndS) {
  const load = samples.filter(([t]) => t <= loadEndS);
  const rss = load.map(([, r]) => r / MiB);
  const first = avg(load.filter(([t]) => t <= windowS).map(([, r]) => r / MiB));
  const lastFrom = (load.at(-1)?.[0] ?? 0) - windowS;
  const last = avg(load.filter(([t]) => t >= lastFrom).map(([, r]) => r / MiB));
  const cpu = load.slice(1).map(([, , c]) => c);
  return {
    samples: load.length,
    window_s: windowS,
    min_mib: r1(Math.min(...rss)),
    max_mib: r1(Math.max(...rss)),
    first_window_avg_mib: r1(first),
    last_window_avg_mib: r1(last),
    growth_mib: r1(last - first),
    growth_pct: r1((100 * (last - first)) / first),
    cpu_avg_pct: r1(avg(cpu)),
    cpu_max_pct: r1(Math.max(...cpu)),
  };
}

/** Counts the server's JSON log lines by level and message (the first two of each kept), and scans stderr (and stdout) for uncaught/unhandled errors. */
export function watchLogs(child) {
  const out = { stdout_lines: 0, by_message: {}, samples: {}, stderr_bytes: 0, stderr_tail: '', stderr_uncaught: 0, stderr_unhandled: 0, stdout_uncaught_or_unhandled: 0 };
  const levels = { 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
  let partial = '';
  child.stdout.on('data', (d) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      if (!line.trim()) continue;
      out.stdout_lines++;
      if (/uncaught|unhandled/i.test(line)) out.stdout_uncaught_or_unhandled++;
      let key = 'non-JSON line';
      try {
        const j = JSON.parse(line);
        key = `${levels[j.level] ?? j.level} ${j.msg ?? ''}${j.host ? ` (${j.host})` : ''}${j.code ? ` ${j.code}` : j.err?.code ? ` ${j.err.code}` : ''}`.trim();
      } catch {
        // keep the key
      }
      out.by_message[key] = (out.by_message[key] ?? 0) + 1;
      if (out.by_message[key] <= 2) (out.samples[key] ??= []).push(line.slice(0, 600));
    }
  });
  child.stderr.on('data', (d) => {
    const text = String(d);
    out.stderr_bytes += text.length;
    out.stderr_uncaught += (text.match(/Uncaught/gi) ?? []).length;
    out.stderr_unhandled += (text.match(/unhandled/gi) ?? []).length;
    out.stderr_tail = (out.stderr_tail + text).slice(-2000);
  });
  return out;
}
