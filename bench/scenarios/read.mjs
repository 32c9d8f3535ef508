// Scenario `read`: `vault.read` through the agent runtime API — `GET /api/agent/v1/secrets/{ENV_KEY}`
// with an agent token — which returns the value and appends a durable `vault.accessed` audit record
// (SQLite, group commit) before answering, at 64 connections (and 1 for reference), interleaved
// with the hello-world Node http baseline.
//
// Profiling (not part of a normal run): BENCH_READ_CPU_PROF=<dir> starts Vaultgate with the V8
// sampling profiler (bench/lib/proxy-cpuprof.mjs); analyse with bench/lib/proxy-profile-top.mjs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { interleaved } from '../lib/measure.mjs';
import { startLoadgen } from '../lib/loadgen.mjs';
import { withStarted } from '../lib/proc.mjs';
import { profilerEnv, startVaultgateWithEnv } from '../lib/proxy-harness.mjs';
import { casesTable, glanceCase, mmm, num, ratioCell, targetsTable } from '../lib/report.mjs';
import { fetchAllPages, startBaseline } from '../lib/servers.mjs';

export const name = 'read';
export const description = 'vault.read via the agent API (GET /api/agent/v1/secrets/{ENV_KEY}, durable vault.accessed audit per read), c=64 and c=1, vs hello-world baseline';

const CONNECTIONS = [64, 1];
const ENV_KEY = 'BENCH_READ_TARGET';
const TARGETS = { rps: 10_000, vs_hello: 0.2, p99_ms: 10 };

export async function run({ quick, log }) {
  const rounds = quick ? 2 : 5;
  const duration = quick ? 1 : 3;
  const warmup = quick ? 0.5 : 1;
  return withStarted(async (keep) => {
    const baseline = keep(await startBaseline());
    const vg = keep(await startVaultgateWithEnv(profilerEnv(process.env.BENCH_READ_CPU_PROF), { logLevel: 'warn' }));
    const loadgen = keep(await startLoadgen());
    log(`read: vaultgate ${vg.url} (pid ${vg.pid}), baseline ${baseline.url} (pid ${baseline.pid}), load generator pid ${loadgen.pid}`);

    // Setup through the operator API (not measured): vault, secret (no allowed_domains, so
    // vault.read returns the value), agent attached to the vault, agent token.
    const must = async (method, path, body, status) => {
      const res = await vg.api(method, path, body);
      if (res.status !== status) throw new Error(`${method} ${path} -> ${res.status} ${res.text}`);
      return res.json;
    };
    const value = 'v'.repeat(40);
    const vault = await must('POST', '/vaults', { name: 'bench-read' }, 201);
    const secret = await must('POST', `/vaults/${vault.id}/secrets`, { env_key: ENV_KEY, value }, 201);
    const agent = await must('POST', '/agents', { name: 'bench-reader', vault_ids: [vault.id] }, 201);
    await must('POST', `/agents/${agent.id}/deploy`, undefined, 200);
    const token = await must('POST', `/agents/${agent.id}/tokens`, undefined, 201);
    const path = `/api/agent/v1/secrets/${ENV_KEY}`;
    const headers = { authorization: `Bearer ${token.token}` };

    // The read returns the value (checked once, outside the load; autocannon does not parse bodies).
    const probe = await fetch(`${vg.url}${path}`, { headers });
    const probeBody = await probe.json().catch(() => null);
    if (probe.status !== 200 || probeBody?.value !== value) throw new Error(`vault.read probe -> ${probe.status} ${JSON.stringify(probeBody)}`);

    const verifyBefore = await must('GET', '/audit/verify', undefined, 200);
    let readsOk = 1; // the probe
    let readsNon2xx = 0;
    let runsTotal = 0;
    let inflightBound = 0;
    const out = {
      method: { rounds, duration_s: duration, warmup_s: warmup, log_level: 'warn', steal_limit_pct: 5, value_bytes: value.length },
    };

    const schedule = { loadgen, rounds, duration, warmup, log };
    for (const c of CONNECTIONS) {
      const key = `read_c${c}`;
      const spec = { method: 'GET', path, headers, connections: c };
      const describe = { connections: c, method: 'GET', path };
      log(`read: ${key}: ${rounds} rounds × ${duration}s, interleaved with baseline`);
      const res = await interleaved({
        ...schedule,
        baseline: { server: baseline, spec, describe },
        subject: { server: vg, spec, describe, label: key },
        onRun(role, r) {
          if (role !== 'subject') return;
          readsOk += r.ok;
          readsNon2xx += r.non2xx;
          runsTotal++;
          inflightBound += c;
        },
      });
      out[key] = res.subject;
      out[`baseline_${key}`] = res.baseline;
    }

    const s = out.read_c64;
    out.rps = s?.rps?.median ?? null;
    out.vs_hello = s?.ratio_vs_baseline?.rps?.median ?? null;
    out.p99_ms = s?.p99_ms?.median ?? null;
    out.cpu_us_per_req = s?.cpu_us_per_req?.median ?? null;
    out.baseline_cpu_us_per_req = out.baseline_read_c64?.cpu_us_per_req?.median ?? null;
    out.targets = TARGETS;
    out.met = {
      rps: out.rps === null ? null : out.rps >= TARGETS.rps,
      vs_hello: out.vs_hello === null ? null : out.vs_hello >= TARGETS.vs_hello,
      p99_ms: out.p99_ms === null ? null : out.p99_ms <= TARGETS.p99_ms,
    };
    out.correctness = await checkAudit(vg, { secretId: secret.id, agentId: agent.id, verifyBefore, readsOk, readsNon2xx, runsTotal, inflightBound }, log);
    return out;
  });
}

/**
 * `vault.accessed` events written vs 2xx reads received: every acknowledged read must have its
 * event (events ≥ reads), and the surplus can only come from requests in flight when autocannon
 * closed its sockets at the end of a run (≤ connections per run). Cross-checked by the event count
 * of `GET /audit/verify` before and after the load (every event the load wrote is a vault.accessed).
 */
async function checkAudit(vg, { secretId, agentId, verifyBefore, readsOk, readsNon2xx, runsTotal, inflightBound }, log) {
  const t0 = Date.now();
  const { items, pages } = await fetchAllPages(vg.api, '/audit?type=vault.accessed&limit=1000');
  const verify = await vg.api('GET', '/audit/verify');
  const foreign = items.filter((e) => e.secret_id !== secretId || e.agent_id !== agentId || e.details?.delivery !== 'vault.read').length;
  const seqs = new Set(items.map((e) => e.seq));
  const verifyDelta = typeof verify.json?.events === 'number' && typeof verifyBefore?.events === 'number' ? verify.json.events - verifyBefore.events : null;
  const surplus = items.length - readsOk;
  const result = {
    reads_2xx: readsOk,
    reads_non2xx: readsNon2xx,
    vault_accessed_events: items.length,
    equal: items.length === readsOk,
    events_minus_reads: surplus,
    inflight_bound: inflightBound,
    runs: runsTotal,
    audit_pages: pages,
    foreign_events: foreign,
    duplicate_seqs: items.length - seqs.size,
    verify_before: verifyBefore,
    verify: verify.json ?? { status: verify.status },
    verify_events_delta: verifyDelta,
    seconds: (Date.now() - t0) / 1000,
  };
  result.ok =
    verify.status === 200 &&
    verify.json?.ok === true &&
    verifyBefore?.ok === true &&
    readsNon2xx === 0 &&
    foreign === 0 &&
    result.duplicate_seqs === 0 &&
    surplus >= 0 &&
    surplus <= inflightBound &&
    // The probe's event was committed before `verifyBefore` was taken.
    verifyDelta === items.length - 1;
  log(
    `read: correctness: ${items.length} vault.accessed events (${pages} pages), ${readsOk} 2xx reads (incl. warm-ups and the probe), ` +
      `surplus ${surplus} (bound ${inflightBound}), non-2xx ${readsNon2xx}, verify ok=${verify.json?.ok} events +${verifyDelta} -> ${result.ok ? 'OK' : 'FAILED'}`,
  );
  return result;
}

export function render(r) {
  const m = r.method ?? {};
  const parts = [];
  parts.push('## Scenario `read` — `vault.read` through the agent API (durable audit per read)\n');
  if (r.quick) parts.push('**Quick smoke run (`--quick`): too few, too short rounds to compare; run the full `npm run bench` for figures.**\n');
  parts.push(
    `Run ${r.date ?? ''} with \`${r.command ?? ''}\` (scenario runtime ${num(r.runtime_s, 1)} s). ${m.rounds} interleaved rounds (baseline, subject, …) of ${m.duration_s} s per case after a ${m.warmup_s} s warm-up of each; ` +
      'figures are the median (min–max) over the kept rounds; ratios are per round (subject ÷ the baseline run just before it). ' +
      `Rounds with host CPU steal > ${m.steal_limit_pct}% are dropped. Vaultgate runs with \`VAULTGATE_LOG_LEVEL=${m.log_level}\` on a fresh SQLite data dir in the temp filesystem (WAL, \`synchronous=FULL\`).\n`,
  );
  parts.push(
    [
      `- **read**: \`GET /api/agent/v1/secrets/${ENV_KEY}\` with \`Authorization: Bearer <agent token>\`; the secret (${m.value_bytes}-byte value, no \`allowed_domains\`) sits in a vault attached to the agent. Each read authenticates the token (SHA-256 lookup), loads the agent's access facts, decrypts the value (envelope AES-GCM) and appends a \`vault.accessed\` audit event; the 200 is sent only after the SQLite commit (fsync) holding that event — concurrent reads share a commit (group commit).`,
      '- **baseline**: the minimal Node `http` server (`bench/lib/hello-server.mjs`, 24-byte JSON) driven by the identical autocannon request.',
      '- req/s counts 2xx only; p50/p99 of 2xx responses from autocannon\'s per-response hrtime timing; CPU µs/req: server utime+stime from `/proc/<pid>/stat` ÷ 2xx. Load generator pinned to CPU 0, servers to CPU 1.',
    ].join('\n') + '\n',
  );
  const rows = [];
  for (const c of CONNECTIONS) {
    if (!r[`read_c${c}`]) continue;
    rows.push({ label: '**vault.read + audit**', c, result: r[`read_c${c}`] });
    rows.push({ label: 'baseline (hello, same GET)', c, result: r[`baseline_read_c${c}`] });
  }
  parts.push(casesTable(rows) + '\n');
  const t = r.targets ?? TARGETS;
  parts.push('Targets (64 connections, medians):\n');
  parts.push(
    targetsTable([
      { figure: '`rps` (2xx reads/s)', value: num(r.rps), target: `≥ ${num(t.rps)}`, met: r.met?.rps ?? null },
      { figure: '`vs_hello` (req/s ÷ baseline)', value: num(r.vs_hello, 3), target: `≥ ${t.vs_hello}`, met: r.met?.vs_hello ?? null },
      { figure: '`p99_ms`', value: num(r.p99_ms, 2), target: `≤ ${t.p99_ms}`, met: r.met?.p99_ms ?? null },
      { figure: 'CPU µs/req (subject / baseline)', value: `${num(r.cpu_us_per_req, 1)} / ${num(r.baseline_cpu_us_per_req, 1)}` },
    ]) + '\n',
  );
  parts.push('Load context per case (medians (min–max) over the kept rounds):\n');
  const head = '| case | server CPU, % of a core | load generator CPU, % of a core | other busy CPU, % of all CPUs | server sys µs/req |\n|---|---:|---:|---:|---:|';
  const ctx = [];
  for (const c of CONNECTIONS) {
    for (const [label, x] of [
      [`read c=${c}`, r[`read_c${c}`]],
      [`baseline c=${c}`, r[`baseline_read_c${c}`]],
    ]) {
      if (x) ctx.push(`| ${label} | ${mmm(x.server_cpu_pct)} | ${mmm(x.loadgen_cpu_pct)} | ${mmm(x.other_cpu_pct)} | ${mmm(x.cpu_sys_us_per_req, 1)} |`);
    }
  }
  parts.push(`${head}\n${ctx.join('\n')}\n`);
  const k = r.correctness;
  if (k) {
    parts.push('### Correctness under load\n');
    parts.push(
      [
        `- Result: **${k.ok ? 'OK' : 'FAILED'}**.`,
        `- \`vault.accessed\` events (paged \`GET /audit?type=vault.accessed&limit=1000\`, ${num(k.audit_pages)} pages): **${num(k.vault_accessed_events)}**; 2xx reads received (measured rounds + warm-ups + one probe): **${num(k.reads_2xx)}** — ${k.equal ? 'equal' : `${num(k.events_minus_reads)} more events than received responses`} (allowed 0…${num(k.inflight_bound)}: requests in flight when autocannon closes its sockets at the end of each of the ${k.runs} runs; the server committed and answered them, the client never read the 200). Non-2xx reads: ${num(k.reads_non2xx)}.`,
        `- Every event names the bench secret, agent and \`delivery: vault.read\`: ${k.foreign_events === 0 ? 'yes' : `**no, ${k.foreign_events} others**`}; duplicate seqs: ${k.duplicate_seqs}.`,
        `- \`GET /audit/verify\`: before the load ok=${k.verify_before?.ok} (${num(k.verify_before?.events)} events), after ok=${k.verify?.ok} (${num(k.verify?.events)} events, head_seq ${k.verify?.head_seq}); the load added ${num(k.verify_events_delta)} events${k.verify_events_delta === k.vault_accessed_events - 1 ? ', all of them `vault.accessed` (the probe\'s event is counted before)' : ''}.`,
      ].join('\n') + '\n',
    );
  }
  const extra = join(import.meta.dirname, '../notes/read.md');
  if (existsSync(extra)) parts.push(readFileSync(extra, 'utf8'));
  return parts.join('\n');
}

/** "At a glance" rows: the issue's read fields at 64 connections against the bare hello server. */
export function summary(r) {
  const t = r.targets ?? TARGETS;
  const s = r.read_c64;
  const b = r.baseline_read_c64;
  const see = 'Why the read targets are missed';
  const vg = s ? `vault.read + audit, 64 conns: ${glanceCase(s)}` : '–';
  const hello = (what) => (b ? `bare hello server, same GET: ${what}` : '–');
  return [
    { figure: '`rps`: 2xx reads/s at 64 connections', value: typeof r.rps === 'number' ? `${num(r.rps)} req/s` : '–', vaultgate: vg, baseline: hello(`${num(b?.rps?.median)} req/s`), target: `≥ ${num(t.rps)}`, met: r.met?.rps ?? null, see },
    { figure: '`vs_hello`: req/s ÷ hello server (per round)', value: ratioCell(s?.ratio_vs_baseline?.rps, 3), vaultgate: vg, baseline: hello(glanceCase(b)), target: `≥ ${t.vs_hello}`, met: r.met?.vs_hello ?? null, see },
    { figure: '`p99_ms`: p99 of 2xx reads at 64 connections', value: typeof r.p99_ms === 'number' ? `${num(r.p99_ms, 2)} ms` : '–', vaultgate: vg, baseline: hello(`p99 ${num(b?.p99_ms?.median, 2)} ms`), target: `≤ ${t.p99_ms} ms`, met: r.met?.p99_ms ?? null, see },
  ];
}
