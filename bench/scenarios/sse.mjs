// Scenario `sse`: a Server-Sent Events stream (an LLM API's streamed answer) through Vaultgate's
// egress proxy — CONNECT, TLS interception, the value injected into `Authorization`, the response
// scrubbed for echoes — beside the same stream direct, interleaved in the same run: time to the
// response head and each event's delay (arrival minus the send time stamped into it).
import { proxiedAgent } from '../lib/agent-setup.mjs';
import { perRound, startIpcChild, startProxiedPair } from '../lib/proxy-harness.mjs';
import { interleaveSides, numberedRuns, percentile, STEAL_LIMIT_PCT, summarize } from '../lib/measure.mjs';
import { cpuCounters, cpuMicros, stealPercent, ticksPerSecond, withScratch } from '../lib/proc.mjs';
import { mmm, num } from '../lib/report.mjs';
import { codeVersion, fetchAllPages } from '../lib/servers.mjs';

export const name = 'sse';
export const description = 'Server-Sent Events through the egress proxy (injected Authorization, echo scrubbing on) vs direct: time to first byte and added per-event delay, 1 and 8 streams';

const HOST = 'api.bench.test';
const OTHER = 'other.bench.test';
const INTERVAL_MS = 10;
const CONCURRENCY = [1, 8];
const WARMUP_EVENTS = 20;

const medianOf = (xs) => percentile([...xs].sort((a, b) => a - b), 50);

/**
 * One run: `c` streams of `events` at once on one side. CPU of the side's server (the proxy; the
 * upstream for direct) and the host's counters are read around the streams.
 */
async function measureRun({ client, upstream, side, c, events }) {
  await upstream.reset();
  const host0 = cpuCounters();
  const cpu0 = cpuMicros(side.cpuPid);
  const path = `/v1/stream?events=${events}&interval_ms=${INTERVAL_MS}`;
  const r = await client.call({ cmd: 'streams', spec: { ...side.spec, path }, concurrency: c, events });
  const cpu1 = cpuMicros(side.cpuPid);
  const host1 = cpuCounters();
  const up = await upstream.stats();
  const delays = r.streams.flatMap((s) => s.delays_ms).sort((a, b) => a - b);
  const complete = r.streams.filter((s) => s.status === 200 && s.complete).length;
  return {
    streams: c,
    streams_complete: complete,
    errors: r.errors.length,
    error_samples: r.errors.length ? r.errors.slice(0, 3) : undefined,
    events: delays.length,
    delay_p50_ms: percentile(delays, 50),
    delay_p99_ms: percentile(delays, 99),
    delay_max_ms: delays.at(-1) ?? null,
    ttfb_p50_ms: medianOf(r.streams.map((s) => s.ttfb_ms)),
    connect_p50_ms: medianOf(r.streams.map((s) => s.connect_ms)),
    cpu_us_per_event: delays.length ? (cpu1 - cpu0) / delays.length : null,
    steal_pct: stealPercent(host0, host1),
    upstream_requests: up.requests,
    upstream_expected_value: up.expected,
    upstream_mismatches: up.placeholder + up.other,
  };
}

const SUMMARIZED = ['delay_p50_ms', 'delay_p99_ms', 'delay_max_ms', 'ttfb_p50_ms', 'connect_p50_ms', 'cpu_us_per_event'];

function caseSummary(runs) {
  const kept = runs.filter((r) => !r.dropped);
  const out = Object.fromEntries(SUMMARIZED.map((m) => [m, summarize(kept.map((r) => r[m]))]));
  out.rounds_kept = kept.length;
  out.rounds_dropped = runs.length - kept.length;
  out.incomplete_streams = runs.reduce((a, r) => a + r.streams - r.streams_complete, 0);
  out.runs = numberedRuns(runs);
  return out;
}

const fmt = (x, d = 2) => (typeof x === 'number' ? x.toFixed(d) : '-');

/** After one short warm-up stream of each side, `rounds` × (direct, vaultgate) runs of c streams. */
function interleavedCase({ client, upstream, sides, c, rounds, events, log, onRun }) {
  return interleaveSides({
    sides,
    rounds,
    measure: (side, isWarmup) => measureRun({ client, upstream, side, c, events: isWarmup ? WARMUP_EVENTS : events }),
    onRun,
    logRun: (r, round, side) =>
      log(
        `  c=${c} round ${round}/${rounds} ${side.key.padEnd(9)} ttfb p50 ${fmt(r.ttfb_p50_ms)} ms  delay p50 ${fmt(r.delay_p50_ms, 3)} p99 ${fmt(r.delay_p99_ms, 3)} max ${fmt(r.delay_max_ms)} ms  ` +
          `${r.events} events, ${r.streams_complete}/${r.streams} streams complete, err ${r.errors}${r.error_samples ? ` ${JSON.stringify(r.error_samples)}` : ''}  ${fmt(r.cpu_us_per_event, 1)} µs/event  steal ${r.steal_pct.toFixed(1)}%${r.dropped ? '  DROPPED' : ''}`,
      ),
  });
}

/** One request outside the measurements; a refused CONNECT or a failed connection reads as status 0 with the reason. */
async function once(client, spec) {
  try {
    return await client.call({ cmd: 'once', spec });
  } catch (err) {
    return { status: 0, body: String(err?.message ?? err).slice(0, 300) };
  }
}

/** Before measuring: both sides stream; the agent's host is scrubbed (an echoed value comes back as the placeholder); OTHER gets nothing. */
async function setupChecks({ client, upstream, sides, a }) {
  const served = {};
  for (const side of Object.values(sides)) {
    await upstream.reset();
    const r = await once(client, { ...side.spec, path: '/v1/stream?events=3&interval_ms=1' });
    const st = await upstream.stats();
    if (r.status !== 200 || st.expected !== 1) throw new Error(`${side.key}: setup stream -> ${r.status} ${r.body.slice(0, 200)}; upstream ${JSON.stringify(st)}`);
    served[side.key] = 1;
  }
  const echo = await once(client, { ...sides.vaultgate.spec, path: '/v1/echo' });
  const scrub = { status: echo.status, agent_saw_placeholder: echo.body.includes(a.placeholder), agent_saw_value: echo.body.includes(a.value) };
  await upstream.reset();
  const other = await once(client, { ...sides.vaultgate.spec, servername: OTHER, path: '/v1/echo' });
  const disallowed = { status: other.status, upstream_requests: (await upstream.stats()).requests };
  return { vaultgateRequests: served.vaultgate + 1, scrub, disallowed };
}

export async function run({ quick, log }) {
  // 5 rounds × 2 sides × 2 s per concurrency: about 45 s in all on a 2-core host.
  const rounds = quick ? 2 : 5;
  const events = quick ? 50 : 200;
  return withScratch('vg-bench-sse-', async ({ dir, keep }) => {
    const { pki, upstream, vg } = await startProxiedPair({ keep, dir, hosts: [HOST, OTHER], script: 'sse-upstream.mjs' });
    const a = await proxiedAgent(vg, { name: 'bench-sse', host: HOST });
    await upstream.expect(`Bearer ${a.value}`);
    const client = keep(await startIpcChild('sse-client.mjs', 'sse client'));

    const base = { servername: HOST };
    const sides = {
      direct: { key: 'direct', cpuPid: upstream.pid, spec: { ...base, proxy: null, host: '127.0.0.1', port: upstream.port, ca: pki.caPem, headers: { authorization: `Bearer ${a.value}` } } },
      vaultgate: { key: 'vaultgate', cpuPid: vg.pid, spec: { ...base, proxy: a.proxy, ca: a.ca, headers: { authorization: `Bearer ${a.placeholder}` } } },
    };
    const setup = await setupChecks({ client, upstream, sides, a });
    log(`sse: vaultgate pid ${vg.pid} on CPU 1; upstream pid ${upstream.pid} and client pid ${client.pid} on CPU 0; echo through vaultgate -> ${setup.scrub.agent_saw_placeholder ? 'placeholder' : 'NOT the placeholder'}; disallowed host -> ${setup.disallowed.status}`);

    const vgRuns = [];
    const onRun = (key, r) => key === 'vaultgate' && vgRuns.push(r);
    const out = { method: { rounds, events, interval_ms: INTERVAL_MS, warmup_events: WARMUP_EVENTS, concurrency: CONCURRENCY, steal_limit_pct: STEAL_LIMIT_PCT, host: HOST, log_level: 'warn', cpu_tick_us: 1e6 / ticksPerSecond() }, code: codeVersion(), cases: {} };
    for (const c of CONCURRENCY) {
      log(`sse: ${c} stream(s) × ${events} events every ${INTERVAL_MS} ms: ${rounds} rounds, interleaved direct, vaultgate`);
      const runs = await interleavedCase({ client, upstream, sides: [sides.direct, sides.vaultgate], c, rounds, events, log, onRun });
      const added = (m) => perRound(runs.direct, runs.vaultgate, (x, y) => y[m] - x[m]);
      out.cases[`c${c}`] = {
        concurrency: c,
        direct: caseSummary(runs.direct),
        vaultgate: caseSummary(runs.vaultgate),
        added_ttfb_p50_ms: added('ttfb_p50_ms'),
        added_delay_p50_ms: added('delay_p50_ms'),
        added_delay_p99_ms: added('delay_p99_ms'),
      };
      const x = out.cases[`c${c}`];
      log(`sse: c=${c} added (Vaultgate − direct, per round): ttfb p50 ${fmt(x.added_ttfb_p50_ms?.median)} ms, per-event delay p50 ${fmt(x.added_delay_p50_ms?.median, 3)} ms, p99 ${fmt(x.added_delay_p99_ms?.median, 3)} ms`);
    }
    out.correctness = await checkCorrectness({ vg, a, setup, vgRuns, log });
    return out;
  });
}

/**
 * Every stream through Vaultgate was whole and in order and its request reached the upstream with
 * the real value; one `proxy.injected` event per such request; the echo came back scrubbed; the
 * disallowed host received nothing (one `proxy.blocked`); the audit chain verifies.
 */
async function checkCorrectness({ vg, a, setup, vgRuns, log }) {
  const sum = (k) => vgRuns.reduce((n, r) => n + (r[k] ?? 0), 0);
  const requests = setup.vaultgateRequests + sum('streams');
  const injected = await fetchAllPages(vg.api, '/audit?type=proxy.injected&limit=1000');
  const wrong = injected.items.filter((e) => e.secret_id !== a.secretId || e.agent_id !== a.agentId || e.details?.host !== HOST).length;
  const blocked = await fetchAllPages(vg.api, '/audit?type=proxy.blocked&limit=1000');
  const verify = await vg.api('GET', '/audit/verify');
  const result = {
    vaultgate_requests: requests,
    streams_incomplete: sum('streams') - sum('streams_complete'),
    stream_errors: sum('errors'),
    upstream_real_value: sum('upstream_expected_value'),
    upstream_mismatches: sum('upstream_mismatches'),
    proxy_injected_events: injected.items.length,
    proxy_injected_wrong_fields: wrong,
    proxy_blocked_events: blocked.items.length,
    scrub: setup.scrub,
    disallowed_host: setup.disallowed,
    verify: verify.json ?? { status: verify.status },
  };
  result.ok =
    result.streams_incomplete === 0 &&
    result.stream_errors === 0 &&
    result.upstream_mismatches === 0 &&
    result.upstream_real_value === sum('streams') &&
    injected.items.length === requests &&
    wrong === 0 &&
    setup.scrub.status === 200 &&
    setup.scrub.agent_saw_placeholder &&
    !setup.scrub.agent_saw_value &&
    setup.disallowed.status === 403 &&
    setup.disallowed.upstream_requests === 0 &&
    blocked.items.length === 1 &&
    verify.json?.ok === true;
  log(
    `sse: correctness: ${requests} requests through vaultgate, ${result.streams_incomplete} incomplete streams, ${result.stream_errors} errors; upstream got the real value ${result.upstream_real_value}×, ${result.upstream_mismatches} mismatches; ` +
      `${injected.items.length} proxy.injected (${wrong} wrong); echo scrubbed: ${setup.scrub.agent_saw_placeholder && !setup.scrub.agent_saw_value}; disallowed -> ${setup.disallowed.status}, upstream saw ${setup.disallowed.upstream_requests}; verify ok=${verify.json?.ok} -> ${result.ok ? 'OK' : 'FAILED'}`,
  );
  return result;
}

// ---- rendering ----

const SIDE = { direct: 'direct (client → upstream)', vaultgate: '**Vaultgate** (intercept + inject + scrub)' };

export function render(r) {
  const m = r.method ?? {};
  const rows = [];
  for (const x of Object.values(r.cases ?? {})) {
    for (const k of ['direct', 'vaultgate']) {
      const s = x[k];
      rows.push(`| ${SIDE[k]} | ${x.concurrency} | ${mmm(s.ttfb_p50_ms, 2)} | ${mmm(s.delay_p50_ms, 3)} | ${mmm(s.delay_p99_ms, 3)} | ${mmm(s.delay_max_ms, 2)} | ${mmm(s.connect_p50_ms, 2)} | ${mmm(s.cpu_us_per_event, 1)} | ${num(s.incomplete_streams)} | ${s.rounds_kept} (${s.rounds_dropped}) |`);
    }
  }
  const added = Object.values(r.cases ?? {}).map((x) => `| ${x.concurrency} | ${mmm(x.added_ttfb_p50_ms, 2)} | ${mmm(x.added_delay_p50_ms, 3)} | ${mmm(x.added_delay_p99_ms, 3)} |`);
  const k = r.correctness;
  return [
    '## Scenario `sse` — Server-Sent Events through the egress proxy',
    '',
    `Run ${r.date} with \`${r.command}\` (scenario runtime ${r.runtime_s} s). ${m.rounds} interleaved rounds (direct, Vaultgate, direct, …) per concurrency after a ${m.warmup_events}-event warm-up stream of each; rounds with host CPU steal > ${m.steal_limit_pct}% are dropped.`,
    '',
    `- **Stream**: \`GET https://${m.host}/v1/stream\`: the upstream (\`bench/lib/sse-upstream.mjs\`, Node \`https\`, pinned to CPU 0) sends the response head with the first event, then one event every ${m.interval_ms} ms, ${m.events} in all; each event is a ~110-byte \`data:\` JSON line (an LLM API's token chunk) stamped with \`process.hrtime\` just before its write.`,
    '- **Client** (`bench/lib/sse-client.mjs`, a child pinned to CPU 0): each stream is a new connection (CONNECT + TLS through Vaultgate, or TLS direct), N streams at once. **TTFB**: from the request leaving on the open connection to the response head. **Per-event delay**: arrival of the event\'s blank line minus its stamp; both stamps come from the machine\'s monotonic clock, so they compare across processes. p50/p99/max are over every event of the run.',
    '- **Vaultgate** (pinned to CPU 1, log level warn, fresh SQLite data dir): the agent\'s secret (allowed for the host) is injected into `Authorization: Bearer vgph_…` on every stream, each audited (`proxy.injected`); the agent holds a value for the host, so every response is scrubbed for echoes (checked before measuring: an echoed value comes back as the placeholder). **Direct** sends the real value itself. "Added" figures are Vaultgate minus direct per round.',
    `- CPU µs/event: utime+stime of Vaultgate (the upstream, for direct) from \`/proc/<pid>/stat\` across the run ÷ events delivered; it counts whole clock ticks of ${num(m.cpu_tick_us / 1000)} ms, so with one stream it is coarse (one tick is ${num(m.cpu_tick_us / m.events)} µs/event).`,
    '',
    '| path | streams | TTFB p50 ms | per-event delay p50 ms | p99 ms | max ms | connect p50 ms | CPU µs/event | incomplete streams | rounds kept (dropped) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    '| streams | added TTFB p50 ms | added per-event delay p50 ms | added per-event delay p99 ms |',
    '|---:|---:|---:|---:|',
    ...added,
    '',
    ...(k
      ? [
          `Correctness: **${k.ok ? 'OK' : 'FAILED'}** — ${num(k.vaultgate_requests)} requests through Vaultgate, ${num(k.streams_incomplete)} incomplete streams, ${num(k.stream_errors)} errors; the upstream got the real value in ${num(k.upstream_real_value)} streams (warm-ups included) and anything else in ${num(k.upstream_mismatches)}; ${num(k.proxy_injected_events)} \`proxy.injected\` events; echoed value scrubbed: ${k.scrub?.agent_saw_placeholder && !k.scrub?.agent_saw_value ? 'yes' : 'no'}; \`${OTHER}\` (not allowed): ${k.disallowed_host?.status}, ${k.disallowed_host?.upstream_requests} requests reached the upstream; \`GET /audit/verify\` ok=${k.verify?.ok}.`,
          '',
        ]
      : []),
  ].join('\n');
}

/** "At a glance": the added per-event delay at each concurrency (no target yet). */
export function summary(r) {
  return Object.values(r.cases ?? {}).map((x) => ({
    figure: `SSE, ${x.concurrency} stream(s): added per-event delay p50 / p99, Vaultgate − direct`,
    value: `${mmm(x.added_delay_p50_ms, 3, ' ms')} / ${mmm(x.added_delay_p99_ms, 3, ' ms')}`,
    vaultgate: `delay p50 ${num(x.vaultgate.delay_p50_ms?.median, 3)} ms, TTFB ${num(x.vaultgate.ttfb_p50_ms?.median, 2)} ms`,
    baseline: `direct: delay p50 ${num(x.direct.delay_p50_ms?.median, 3)} ms, TTFB ${num(x.direct.ttfb_p50_ms?.median, 2)} ms`,
    target: '–',
    met: null,
  }));
}
