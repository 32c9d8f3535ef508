// Scenario `soak`: minutes of valid traffic (proxied HTTPS with injection, secret reads, rotations)
// beside hostile traffic (resets at every stage, bad credentials, oversized heads and bodies, idle
// and slowloris connections) against one Vaultgate process; checks it never exits, RSS stays flat,
// no acknowledged write is lost and the audit chain matches what was served (SPEC §9).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentProxy, createAgent, must } from '../lib/agent-setup.mjs';
import { openTls } from '../lib/proxy-connect.mjs';
import { startIpcChild, startProxiedPair } from '../lib/proxy-harness.mjs';
import { sleep, withScratch } from '../lib/proc.mjs';
import { num } from '../lib/report.mjs';
import { rssFigures, sampleProcess, watchLogs } from '../lib/soak-monitor.mjs';
import { tunnelSpec } from '../lib/soak-hostile.mjs';
import { valueHash } from '../lib/soak-valid.mjs';
import { readHead } from '../lib/soak-wire.mjs';
import { codeVersion, fetchAllPages } from '../lib/servers.mjs';

export const name = 'soak';
export const description = 'minutes of valid proxied/API traffic beside hostile traffic (resets, bad credentials, oversized heads/bodies, idle and slowloris connections): no exit, flat RSS, no lost write, audit matches';

const HOST = 'api.soak.test';
const OTHER = 'upload.soak.test';
const RSS_GROWTH_LIMIT_PCT = 20;
const RSS_JUDGED_FROM_S = 120; // a shorter run (--quick) is still warming up: its RSS growth is reported, not judged
const SERVER_ENV = {
  // Every client here is 127.0.0.1: at the default 20 failures a minute the hostile bad-credential
  // traffic would throttle the valid traffic of the same address too (429 before credentials are checked).
  VAULTGATE_AUTH_FAILURES_PER_MINUTE: '1000000',
  VAULTGATE_HEADERS_TIMEOUT_MS: '2000',
  VAULTGATE_PROXY_IDLE_TIMEOUT_MS: '10000',
};

/** Rates and counts of the load (full: 3 minutes; quick: 30 s). */
function loadPlan(quick) {
  return {
    durationS: quick ? 30 : 180,
    proxiedConnections: 8,
    proxiedRps: 300,
    readRps: 40,
    rotationRps: 10,
    rotators: 2,
    idleConnections: 30,
    slowConnections: 9,
    slowDripMs: 400,
    reapBoundMs: 25_000,
    uploadBytes: 30 * 1024 * 1024,
  };
}

/** Vault, revealable secret for HOST, agent with the vault, deployed, a token, and its environment. */
async function setupAgent(vg, value) {
  const { vault, secret, agent, token } = await createAgent(vg.api, { name: 'soak', host: HOST, value, secretFields: { revealable: true } });
  const { placeholder, proxy, ca } = await agentProxy(vg.url, token);
  return { vault, secret, agent, placeholder, proxyCa: ca, proxyPort: proxy.port, proxyAuth: proxy.auth };
}

/** One proxied request before the load: 200, and the upstream got the real value. */
async function firstRequest(spec, upstream, value) {
  const sock = await openTls(tunnelSpec(spec, HOST));
  sock.write(`GET /v1/soak/first HTTP/1.1\r\nHost: ${HOST}\r\nAuthorization: Bearer ${spec.placeholder}\r\nConnection: close\r\n\r\n`);
  const status = await readHead(sock);
  sock.destroy();
  const got = (await upstream.received())[HOST]?.authorization?.[`Bearer ${value}`] ?? 0;
  if (status !== '200' || got !== 1) throw new Error(`first proxied request -> ${status}; upstream received the value ${got}×`);
}

export async function run({ quick, log, machine }) {
  const plan = loadPlan(quick);
  return withScratch('vg-bench-soak-', async ({ dir, keep }) => {
    const code = codeVersion(); // what the server is about to load
    const { upstream, vg } = await startProxiedPair({ keep, dir, hosts: [HOST, OTHER], env: SERVER_ENV });
    const logs = watchLogs(vg.child);
    await upstream.track();
    const value = `soak-initial-${randomBytes(16).toString('hex')}`;
    const a = await setupAgent(vg, value);
    const spec = { ...plan, apiPort: Number(new URL(vg.url).port), adminKey: vg.adminKey, secretId: a.secret.id, proxyPort: a.proxyPort, proxyAuth: a.proxyAuth, proxyCa: a.proxyCa, placeholder: a.placeholder, host: HOST, other: OTHER };
    await firstRequest(spec, upstream, value);
    const load = keep(await startIpcChild('soak-load.mjs', 'soak load'));
    log(`soak: vaultgate pid ${vg.pid} (api :${spec.apiPort}, proxy :${spec.proxyPort}) on CPU 1; upstream pid ${upstream.pid}, load pid ${load.pid} on CPU 0; ${plan.durationS} s of load`);

    const monitor = sampleProcess(vg.child);
    const t0 = performance.now();
    const heartbeat = setInterval(() => log(`soak: ${Math.round((performance.now() - t0) / 1000)} s, RSS ${num(monitor.peek() / 1024)} MiB`), 30_000);
    let loadResult;
    try {
      loadResult = await load.call({ cmd: 'run', spec });
    } finally {
      clearInterval(heartbeat);
    }
    const loadEndS = (performance.now() - t0) / 1000;
    await sleep(2000); // held sockets closed, queues drained: the last samples are of the settled process
    const proc = monitor.stop();
    const out = await collect({ vg, upstream, a, value, plan, loadResult, proc, loadEndS, logs, log });
    out.code = code;
    out.machine = machine ? { nproc: machine.nproc, cpu_model: machine.cpu_model, ram_gib: machine.ram_gib, node: machine.node, taskset: machine.taskset } : null;
    out.correctness = judge(out, log);
    return out;
  });
}

/** Everything measured and checked after the load: the result object (before judging). */
async function collect({ vg, upstream, a, value, plan, loadResult, proc, loadEndS, logs, log }) {
  const windowS = Math.min(60, Math.round(plan.durationS / 3));
  const rss = rssFigures(proc.samples, windowS, loadEndS);
  const health = await vg.api('GET', `${vg.url}/healthz`).catch((err) => ({ status: String(err?.message ?? err) }));
  const writes = await checkWrites(vg, a.secret.id, loadResult.valid.rotations, value);
  const audit = await checkAudit(vg, a);
  const received = await upstream.received();
  const vaults = await fetchAllPages(vg.api, '/vaults?limit=100');
  const { acked: _acked, attempted, ...rotations } = loadResult.valid.rotations; // the lists stay out of results.json
  log(`soak: RSS ${rss.min_mib}–${rss.max_mib} MiB, first ${windowS} s ${rss.first_window_avg_mib} MiB, last ${windowS} s ${rss.last_window_avg_mib} MiB (${rss.growth_pct}%); CPU avg ${rss.cpu_avg_pct}%`);
  return {
    method: { ...methodOf(plan), window_s: windowS },
    process: { pid: proc.pid, exits: proc.exits, samples_missing: proc.missing, alive_at_end: proc.alive, healthz_at_end: health.status },
    rss,
    timeline: proc.samples.filter((_, i) => i % 5 === 0).map(([t, k, c]) => [t, Math.round(k / 102.4) / 10, c]),
    valid: { proxied: loadResult.valid.proxied, api_reads: loadResult.valid.api_reads, rotations },
    hostile: loadResult.hostile,
    held: loadResult.held,
    uploads: summarizeUploads(loadResult.uploads, received[OTHER]),
    writes,
    audit,
    upstream: checkUpstream(received, new Set([valueHash(value), ...attempted]), a.placeholder),
    vaults_total: vaults.items.length,
    logs: logSummary(logs, vg.adminKey),
    load_duration_s: loadResult.duration_s,
  };
}

function methodOf(plan) {
  const { durationS, reapBoundMs, uploadBytes, ...rates } = plan;
  return { duration_s: durationS, reap_bound_s: reapBoundMs / 1000, upload_mib: uploadBytes / 1048576, ...rates, host: HOST, other_host: OTHER, server_env: SERVER_ENV, log_level: 'warn', rss_growth_limit_pct: RSS_GROWTH_LIMIT_PCT };
}

/** Every acknowledged PATCH is listed by GET /versions, no version was acknowledged twice, and the final value is the one recorded. */
async function checkWrites(vg, secretId, rotations, initialValue) {
  const versions = await must(vg.api('GET', `/secrets/${secretId}/versions`), 200, 'GET versions');
  const listed = new Set(versions.map((v) => v.version));
  const byVersion = new Map();
  let duplicates = 0;
  for (const w of rotations.acked) {
    if (byVersion.has(w.version)) duplicates++;
    byVersion.set(w.version, w.hash);
  }
  byVersion.set(1, valueHash(initialValue));
  const lost = rotations.acked.filter((w) => !listed.has(w.version));
  const reveal = await must(vg.api('POST', `/secrets/${secretId}/reveal`), 200, 'reveal');
  const expected = byVersion.get(reveal.version);
  return {
    acknowledged: rotations.acked.length,
    attempted: rotations.attempted.length,
    versions_listed: versions.length,
    lost: lost.length,
    lost_samples: lost.slice(0, 5),
    duplicate_versions: duplicates,
    final_version: reveal.version,
    final_version_acknowledged: expected !== undefined,
    final_value_matches: expected === undefined ? null : expected === valueHash(reveal.value),
  };
}

/** proxy.injected / proxy.blocked events (paged) and the chain's verification. */
async function checkAudit(vg, a) {
  const injected = await fetchAllPages(vg.api, '/audit?type=proxy.injected&limit=1000');
  const wrong = injected.items.filter((e) => e.secret_id !== a.secret.id || e.agent_id !== a.agent.id || e.details?.host !== HOST).length;
  const blocked = await fetchAllPages(vg.api, '/audit?type=proxy.blocked&limit=1000');
  const failed = await fetchAllPages(vg.api, '/audit?type=auth.failed&limit=1000');
  const verify = await vg.api('GET', '/audit/verify');
  return {
    proxy_injected: injected.items.length,
    proxy_injected_wrong_fields: wrong,
    proxy_blocked: blocked.items.length,
    proxy_blocked_hosts: countBy(blocked.items, (e) => e.details?.host ?? '?'),
    auth_failed_events: failed.items.length,
    auth_failed_count_sum: failed.items.reduce((s, e) => s + (e.details?.count ?? 1), 0),
    verify: verify.json ?? { status: verify.status },
  };
}

function countBy(items, key) {
  const out = {};
  for (const x of items) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

/** What the upstream received per Host: a known value (initial or attempted rotation), the placeholder, nothing, or something else. */
function checkUpstream(received, known, placeholder) {
  const out = {};
  for (const [host, h] of Object.entries(received)) {
    const c = { requests: h.requests, body_mib: Math.round(h.body_bytes / 104857.6) / 10, real_value: 0, placeholder: 0, no_authorization: 0, other: 0 };
    for (const [auth, n] of Object.entries(h.authorization)) {
      if (auth === '') c.no_authorization += n;
      else if (auth.includes(placeholder) || auth.includes('vgph_')) c.placeholder += n;
      else if (auth.startsWith('Bearer ') && known.has(valueHash(auth.slice(7)))) c.real_value += n;
      else c.other += n;
    }
    out[host] = c;
  }
  return out;
}

function summarizeUploads(uploads, other) {
  const ms = uploads.map((u) => u.ms);
  return { count: uploads.length, ok: uploads.filter((u) => u.status === 200).length, mib_each: uploads[0] ? uploads[0].bytes / 1048576 : null, ms_max: ms.length ? Math.max(...ms) : null, upstream_body_mib_other_host: other ? Math.round(other.body_bytes / 104857.6) / 10 : 0 };
}

function logSummary(logs, adminKey) {
  const flagged = logs.stderr_uncaught + logs.stderr_unhandled > 0;
  return { ...logs, stderr_tail: flagged || logs.stderr_bytes ? logs.stderr_tail.replaceAll(adminKey, '<admin key>') : '' };
}

// ---- the musts ----

/** [name, ok, value, target] for every must of the scenario. */
function musts(r) {
  const p = r.valid.proxied;
  const served = p.ok + 1; // + the request before the load
  const up = r.upstream[HOST] ?? {};
  const other = r.upstream[OTHER] ?? {};
  const held = [...Object.values(r.held.idle), ...Object.values(r.held.slowloris)];
  const notReaped = held.reduce((s, h) => s + h.not_reaped, 0);
  const validFailed = ['proxied', 'api_reads', 'rotations'].reduce((s, k) => s + r.valid[k].non_ok + r.valid[k].errors, 0);
  const unexpected = Object.values(r.hostile).reduce((s, t) => s + t.unexpected, 0);
  return [
    ['process exits / restarts', r.process.exits === 0 && r.process.alive_at_end && r.process.samples_missing === 0, r.process.exits, '= 0'],
    rssMust(r),
    ['acknowledged writes lost', r.writes.lost === 0 && r.writes.duplicate_versions === 0 && r.writes.final_value_matches !== false, r.writes.lost, '= 0'],
    ['GET /audit/verify ok', r.audit.verify?.ok === true, String(r.audit.verify?.ok), 'true'],
    ['proxy.injected events − successful injected requests', r.audit.proxy_injected === served && r.audit.proxy_injected_wrong_fields === 0, r.audit.proxy_injected - served, '= 0'],
    ['valid requests failed (proxied, reads, rotations)', validFailed === 0, validFailed, '= 0'],
    ['upstream got the real value in every proxied 2xx, never a placeholder; other host never a value', up.real_value === served && up.placeholder === 0 && up.other === 0 && (other.real_value ?? 0) + (other.placeholder ?? 0) === 0, `${up.real_value ?? 0} / ${served}`, 'all'],
    ['hostile attempts with an unexpected outcome (e.g. an upload that did not stream)', unexpected === 0, unexpected, '= 0'],
    ["'Uncaught' / 'unhandled' on the server's stderr", r.logs.stderr_uncaught + r.logs.stderr_unhandled === 0, r.logs.stderr_uncaught + r.logs.stderr_unhandled, '= 0'],
    [`idle / slowloris connections alive past ${r.method.reap_bound_s} s`, notReaped === 0, notReaped, '= 0'],
    ['server answers /healthz at the end', r.process.healthz_at_end === 200, r.process.healthz_at_end, '200'],
  ];
}

function rssMust(r) {
  const name = 'RSS growth, last vs first window average';
  if (r.method.duration_s < RSS_JUDGED_FROM_S) return [name, true, `${r.rss.growth_pct}% (not judged: run < ${RSS_JUDGED_FROM_S} s)`, `≤ ${RSS_GROWTH_LIMIT_PCT}%`];
  return [name, r.rss.growth_pct <= RSS_GROWTH_LIMIT_PCT, `${r.rss.growth_pct}%`, `≤ ${RSS_GROWTH_LIMIT_PCT}%`];
}

function judge(r, log) {
  const list = musts(r).map(([name, ok, value, target]) => ({ name, ok, value, target }));
  const failed = list.filter((m) => !m.ok);
  for (const m of failed) log(`soak: MUST FAILED: ${m.name}: ${m.value} (target ${m.target})`);
  log(`soak: ${list.length - failed.length}/${list.length} musts met -> ${failed.length ? 'FAILED' : 'OK'}`);
  return { ok: failed.length === 0, musts: list, failed: failed.map((m) => m.name) };
}

// ---- rendering ----

const yes = (ok) => (ok ? '**pass**' : '**FAIL**');
const cell = (x) => String(x ?? '–').replace(/\|/g, '\\|');
const outcomes = (o) => Object.entries(o ?? {}).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${num(n)}`).join(', ');

function validRows(v) {
  const row = (label, x) => `| ${label} | ${num(x.ok)} | ${num(x.non_ok)} | ${num(x.errors)} | ${num(x.p50_ms, 2)} | ${num(x.p99_ms, 2)} | ${num(x.max_ms, 1)} | ${cell(outcomes(x.status))}${x.error_samples?.length ? `; errors: ${cell(x.error_samples.join(', '))}` : ''} |`;
  return [
    '| valid traffic | 2xx | non-2xx | errors | p50 ms | p99 ms | max ms | statuses |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    row(`HTTPS GET through the proxy, placeholder injected (${v.proxied.connections_opened} connections opened for a pool of 8; pool members closed: ${cell(outcomes(v.proxied.disconnects)) || 'none'} — undici closes a member idle past the server's \`Keep-Alive: timeout\` hint and reopens it when needed)`, v.proxied),
    row('`GET /secrets/{id}` (metadata)', v.api_reads),
    row('`PATCH /secrets/{id}` (rotate the value)', v.rotations),
  ].join('\n');
}

function hostileRows(h) {
  const lines = ['| hostile kind | what | attempts | expected outcome | unexpected | outcomes |', '|---|---|---:|---:|---:|---|'];
  for (const [k, t] of Object.entries(h)) lines.push(`| \`${k}\` | ${cell(t.what)} | ${num(t.attempts)} | ${num(t.expected)} | ${num(t.unexpected)} | ${cell(outcomes(t.outcomes))} |`);
  return lines.join('\n');
}

function heldRows(held) {
  const lines = ['| held connection | opened | closed by the server | lifetime min / median / max (s) | server\'s answer | open at the end | alive past the bound |', '|---|---:|---:|---:|---|---:|---:|'];
  for (const group of Object.values(held)) {
    for (const [k, t] of Object.entries(group)) {
      const l = t.lifetime_ms;
      lines.push(`| \`${k}\` | ${num(t.opened)} | ${num(t.closed_by_server)} | ${l ? `${num(l.min / 1000, 1)} / ${num(l.median / 1000, 1)} / ${num(l.max / 1000, 1)}` : '–'} | ${cell(outcomes(t.answers))} | ${num(t.still_open_at_end)} | ${num(t.not_reaped)} |`);
    }
  }
  return lines.join('\n');
}

function figureRows(r) {
  const a = r.audit;
  const up = r.upstream[HOST] ?? {};
  const other = r.upstream[OTHER] ?? {};
  return [
    '| figure | value |',
    '|---|---:|',
    `| server pid / exits during the run / samples missing | ${r.process.pid} / ${r.process.exits} / ${r.process.samples_missing} |`,
    `| RSS min / max | ${num(r.rss.min_mib, 1)} / ${num(r.rss.max_mib, 1)} MiB |`,
    `| RSS average, first ${r.rss.window_s} s / last ${r.rss.window_s} s of the load | ${num(r.rss.first_window_avg_mib, 1)} / ${num(r.rss.last_window_avg_mib, 1)} MiB (${r.rss.growth_mib >= 0 ? '+' : ''}${num(r.rss.growth_mib, 1)} MiB, ${r.rss.growth_pct >= 0 ? '+' : ''}${num(r.rss.growth_pct, 1)}%) |`,
    `| server CPU, average / max of 1 s samples (% of one core) | ${num(r.rss.cpu_avg_pct, 1)} / ${num(r.rss.cpu_max_pct, 1)} |`,
    `| acknowledged rotations / attempted / versions listed by \`GET /versions\` / lost | ${num(r.writes.acknowledged)} / ${num(r.writes.attempted)} / ${num(r.writes.versions_listed)} / ${num(r.writes.lost)} |`,
    `| final version ${r.writes.final_version}: acknowledged, its value hash matches | ${r.writes.final_version_acknowledged} / ${r.writes.final_value_matches} |`,
    `| \`proxy.injected\` events / successful injected requests (load + 1 before it) | ${num(a.proxy_injected)} / ${num(r.valid.proxied.ok + 1)} |`,
    `| \`proxy.blocked\` events (by host) / 403s to the disallowed host | ${num(a.proxy_blocked)} (${cell(outcomes(a.proxy_blocked_hosts))}) / ${num(r.hostile.placeholder_to_disallowed_host?.outcomes?.['403'] ?? 0)} |`,
    `| \`auth.failed\` events (sum of their counts) | ${num(a.auth_failed_events)} (${num(a.auth_failed_count_sum)}) |`,
    `| \`GET /audit/verify\` | ok=${a.verify?.ok}, ${num(a.verify?.events)} events |`,
    `| upstream \`${HOST}\`: requests / real value / placeholder / no Authorization / other | ${num(up.requests)} / ${num(up.real_value)} / ${num(up.placeholder)} / ${num(up.no_authorization)} / ${num(up.other)} |`,
    `| upstream \`${OTHER}\` (disallowed for the secret): requests / value or placeholder / body received | ${num(other.requests)} / ${num((other.real_value ?? 0) + (other.placeholder ?? 0))} / ${num(other.body_mib, 1)} MiB |`,
    `| ${num(r.method.upload_mib)} MiB uploads to \`${OTHER}\`: 200 / attempted, slowest | ${num(r.uploads.ok)} / ${num(r.uploads.count)}, ${num((r.uploads.ms_max ?? 0) / 1000, 1)} s |`,
    `| vaults at the end (hostile POSTs must create none) | ${num(r.vaults_total)} |`,
    `| server log lines (warn and above) | ${cell(outcomes(r.logs.by_message))} |`,
  ].join('\n');
}

function timelineRows(r) {
  const rows = r.timeline.filter((_, i) => i % 6 === 0 || i === r.timeline.length - 1);
  return ['| t (s) | RSS MiB | CPU % |', '|---:|---:|---:|', ...rows.map(([t, m, c]) => `| ${num(t)} | ${num(m, 1)} | ${num(c, 0)} |`)].join('\n');
}

function intro(r) {
  const m = r.method;
  const mc = r.machine ?? {};
  return [
    `Run ${r.date ?? ''} with \`${r.command ?? ''}\` (scenario runtime ${num(r.runtime_s, 1)} s, load ${num(r.load_duration_s, 1)} s) on ${mc.nproc ?? '?'} × ${mc.cpu_model ?? '?'}, ${mc.ram_gib ?? '?'} GiB, Node ${mc.node ?? '?'}; ${mc.taskset ? 'Vaultgate pinned to CPU 1, load child and upstream to CPU 0' : 'nothing pinned (no taskset)'}. **Result: ${r.correctness?.ok ? 'all musts pass' : `FAILED (${(r.correctness?.failed ?? []).join('; ')})`}.**\n`,
    [
      `- One \`node dist/cli/main.js serve\` process (SQLite in a temp data dir, log level ${m.log_level}), a local HTTPS upstream for \`${m.host}\` and \`${m.other_host}\` (\`VAULTGATE_PROXY_CONNECT_TO\`, \`VAULTGATE_UPSTREAM_CA_FILE\`, \`VAULTGATE_PROXY_ALLOW_PRIVATE=1\`), \`VAULTGATE_HEADERS_TIMEOUT_MS=${m.server_env.VAULTGATE_HEADERS_TIMEOUT_MS}\`, \`VAULTGATE_PROXY_IDLE_TIMEOUT_MS=${m.server_env.VAULTGATE_PROXY_IDLE_TIMEOUT_MS}\` (so idle and stalled connections are reaped within the run); other limits at their defaults.`,
      `- **The auth-failure throttle is raised** (\`VAULTGATE_AUTH_FAILURES_PER_MINUTE=${m.server_env.VAULTGATE_AUTH_FAILURES_PER_MINUTE}\`): all traffic comes from 127.0.0.1, so at the default (20 a minute) the scenario's own bad-credential traffic would get the address throttled and the valid traffic would be answered 429 too. The throttle itself is not measured here.`,
      `- Valid, all at once for ${m.duration_s} s, each paced: HTTPS GETs with the placeholder through the proxy (${m.proxiedConnections} keep-alive tunnels, ${m.proxiedRps} req/s), secret metadata reads (${m.readRps}/s) and value rotations (\`PATCH\`, ${m.rotators} writers, ${m.rotationRps}/s in all; every acknowledged write recorded as version + value hash).`,
      `- Hostile, beside it: each kind below in its own loop, one attempt at a time, every 250 ms (the 2 MiB body every 1 s, the ${m.upload_mib} MiB upload every 15 s); ${m.idleConnections} idle connections and ${m.slowConnections} slowloris connections (a head, one byte every ${m.slowDripMs} ms) held open, each reopened once the server closes it. A held connection still open more than ${m.reap_bound_s} s at the end counts as not reaped.`,
      `- RSS (\`VmRSS\`) and CPU of the server sampled every second; growth = average of the last ${m.window_s} s of the load ÷ average of its first ${m.window_s} s − 1.`,
    ].join('\n') + '\n',
    codeLine(r.code),
  ].join('\n');
}

function codeLine(c) {
  if (!c?.head) return '';
  const changed = c.src_changes_vs_head ?? [];
  return `Code measured: \`dist/\` (last written ${c.dist_built_at ?? '?'}) built from commit ${c.head}${changed.length ? ` plus uncommitted changes in ${changed.map((f) => `\`${f}\``).join(', ')}` : ''}.\n`;
}

export function render(r) {
  const parts = ['## Scenario `soak` — valid and hostile traffic against one process\n'];
  if (r.quick) parts.push('**Quick smoke run (`--quick`, 30 s): too short for the RSS trend; run the full scenario for figures.**\n');
  parts.push(intro(r));
  parts.push('### Musts\n');
  parts.push(['| must | value | target | result |', '|---|---:|---:|---|', ...(r.correctness?.musts ?? []).map((m) => `| ${cell(m.name)} | ${cell(m.value)} | ${cell(m.target)} | ${yes(m.ok)} |`)].join('\n') + '\n');
  parts.push('### Figures\n');
  parts.push(`${figureRows(r)}\n`);
  parts.push(`${validRows(r.valid)}\n`);
  parts.push(`${hostileRows(r.hostile)}\n`);
  parts.push(`${heldRows(r.held)}\n`);
  parts.push('RSS and CPU over the run (every 30 s):\n');
  parts.push(`${timelineRows(r)}\n`);
  const notes = join(import.meta.dirname, '../notes/soak.md');
  if (existsSync(notes)) parts.push(readFileSync(notes, 'utf8'));
  return parts.join('\n');
}

// ---- "At a glance" rows (bench/lib/report.mjs) ----

export function summary(r) {
  const find = (prefix) => (r.correctness?.musts ?? []).find((x) => x.name.startsWith(prefix));
  const row = (prefix, figure, value, vaultgate) => {
    const x = find(prefix);
    return { figure, value, vaultgate, baseline: '– (no baseline: a must)', target: x?.target ?? '–', met: x ? x.ok : null };
  };
  const hostileAttempts = Object.values(r.hostile ?? {}).reduce((s, t) => s + t.attempts, 0);
  const unexpected = Object.values(r.hostile ?? {}).reduce((s, t) => s + t.unexpected, 0);
  const validTotal = ['proxied', 'api_reads', 'rotations'].reduce((s, k) => s + r.valid[k].ok + r.valid[k].non_ok + r.valid[k].errors, 0);
  return [
    row('process exits', 'process exits / restarts during the soak', num(r.process.exits), `${num(r.load_duration_s)} s of load, pid ${r.process.pid} throughout`),
    row('RSS growth', `RSS growth, last ${r.rss.window_s} s vs first ${r.rss.window_s} s average`, `${r.rss.growth_mib >= 0 ? '+' : ''}${num(r.rss.growth_mib, 1)} MiB (${r.rss.growth_pct >= 0 ? '+' : ''}${num(r.rss.growth_pct, 1)}%)`, `${num(r.rss.first_window_avg_mib, 1)} → ${num(r.rss.last_window_avg_mib, 1)} MiB, max ${num(r.rss.max_mib, 1)} MiB`),
    row('acknowledged writes lost', 'acknowledged writes lost', `${num(r.writes.lost)} of ${num(r.writes.acknowledged)}`, `${num(r.writes.versions_listed)} versions listed`),
    row('valid requests failed', 'valid requests failed beside the hostile traffic', `${num(find('valid requests failed')?.value)} of ${num(validTotal)}`, `proxied p99 ${num(r.valid.proxied.p99_ms, 1)} ms, max ${num(r.valid.proxied.max_ms, 1)} ms`),
    row('proxy.injected events', '`proxy.injected` events − successful injected requests', num(find('proxy.injected')?.value), `${num(r.audit.proxy_injected)} events; verify ok=${r.audit.verify?.ok}`),
    row('GET /audit/verify', '`GET /audit/verify` at the end', String(r.audit.verify?.ok), `${num(r.audit.verify?.events)} events`),
    row('hostile attempts with an unexpected', 'hostile attempts with an unexpected outcome', `${num(unexpected)} of ${num(hostileAttempts)}`, `${Object.keys(r.hostile ?? {}).length} kinds beside ${num(validTotal)} valid requests`),
    row("'Uncaught'", "'Uncaught' / 'unhandled' on the server's stderr", num(find("'Uncaught'")?.value), `${num(r.logs.stdout_lines)} log lines at warn and above`),
    row('idle / slowloris', 'idle / slowloris connections not reaped', num(find('idle / slowloris')?.value), `reaped within ${r.method.reap_bound_s} s`),
  ];
}
