// Scenario `scale` (issue 7, section 4): a data dir seeded with 100,000 secrets over 1,000 vaults
// (100 each) and 1,000 agents (one per vault, attached to it, one token each), then a fresh
// `vaultgate serve` of it: cold start, list-page p99, environment-endpoint p99, RSS.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuMicros, freePort, pinned, removeTempDir, sleep, spawnTracked, stopChild, trackTempDir } from '../lib/proc.mjs';
import { mmm, num, targetsTable } from '../lib/report.mjs';
import { LOADGEN_CPU, repoRoot, SERVER_CPU } from '../lib/servers.mjs';

export const name = 'scale';
export const description = '100k secrets / 1k vaults / 1k agents: cold start, list-page p99, environment p99, RSS';

const TARGETS = { list_p99_ms: 20, rss_mb: 200, cold_start_ms: 1000 };

function collect(child) {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err = (err + d).slice(-8000)));
  return () => ({ out, err });
}

const shuffle = (xs) => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
};

/** Spawns `serve` pinned to the server CPU on a fixed port; resolves when /readyz first answers 200. */
async function startServe(env, log) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const [cmd, args] = pinned(SERVER_CPU, process.execPath, [join(repoRoot, 'dist/cli/main.js'), 'serve']);
  const t0 = process.hrtime.bigint();
  const child = spawnTracked(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, VAULTGATE_API_ADDR: `127.0.0.1:${port}` }, cwd: repoRoot });
  const output = collect(child);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`serve exited (${child.exitCode ?? child.signalCode}):\n${output().out}${output().err}`);
    const res = await fetch(`${url}/readyz`).catch(() => null);
    if (res?.status === 200) break;
    if (Number(process.hrtime.bigint() - t0) / 1e6 > 30_000) throw new Error('serve not ready within 30 s');
    await sleep(5);
  }
  const coldMs = Number(process.hrtime.bigint() - t0) / 1e6;
  log(`scale: serve pid ${child.pid} ready in ${coldMs.toFixed(0)} ms`);
  return { child, pid: child.pid, url, cold_start_ms: coldMs };
}

async function runClient(spec) {
  const [cmd, args] = pinned(LOADGEN_CPU, process.execPath, [join(import.meta.dirname, '../lib/scale-client.mjs')]);
  const child = spawnTracked(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const output = collect(child);
  child.stdin.end(JSON.stringify(spec));
  const { code } = await child.exited;
  if (code !== 0) throw new Error(`scale client failed (${code}): ${output().err}`);
  return JSON.parse(output().out);
}

function vmStatus(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rss_mb: kb('VmRSS') / 1024, hwm_mb: kb('VmHWM') / 1024 };
}

export async function run({ quick, log }) {
  const vaults = quick ? 20 : Number(process.env.BENCH_SCALE_VAULTS ?? 1000);
  const perVault = 100;
  const total = quick ? 400 : 2000;
  const connections = 8;
  const starts = quick ? 1 : 3;
  const dataDir = trackTempDir(mkdtempSync(join(tmpdir(), 'vg-bench-scale-')));
  const adminKey = `bench-admin-${randomBytes(16).toString('hex')}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VAULTGATE_')));
  Object.assign(env, { VAULTGATE_DATA_DIR: dataDir, VAULTGATE_ADMIN_KEY: adminKey, VAULTGATE_LOG_LEVEL: 'warn', VAULTGATE_PROXY_ADDR: '127.0.0.1:0' });
  let server = null;
  try {
    // Seed (not measured against a target): in-process through the compiled services.
    log(`scale: seeding ${vaults} vaults × ${perVault} secrets + ${vaults} agents in-process`);
    const seedOut = join(dataDir, '..', `${dataDir.split('/').at(-1)}-seed.json`);
    trackTempDir(seedOut);
    const seeder = spawnTracked(process.execPath, [join(import.meta.dirname, '../lib/scale-seed.mjs'), seedOut], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...env, SEED_VAULTS: String(vaults), SEED_SECRETS_PER_VAULT: String(perVault) },
    });
    const { code } = await seeder.exited;
    if (code !== 0) throw new Error(`seed failed (${code})`);
    const seed = JSON.parse(readFileSync(seedOut, 'utf8'));
    const dbBytes = ['vaultgate.db', 'vaultgate.db-wal'].reduce((a, f) => {
      try {
        return a + statSync(join(dataDir, f)).size;
      } catch {
        return a;
      }
    }, 0);
    log(`scale: seeded ${seed.counts.secrets} secrets, ${seed.counts.vaults} vaults, ${seed.counts.agents} agents in ${seed.seconds.toFixed(1)} s (${Math.round(seed.counts.secrets / seed.seconds)} secrets/s overall); db ${(dbBytes / 1048576).toFixed(1)} MB`);

    // Cold start: spawn → first 200 from /readyz, `starts` times; the last process serves the runs.
    const cold = [];
    for (let i = 0; i < starts; i++) {
      if (server) await stopChild(server.child);
      server = await startServe(env, log);
      cold.push(server.cold_start_ms);
    }
    const rssAtReady = vmStatus(server.pid);

    const auth = { authorization: `Bearer ${adminKey}` };
    const listReqs = shuffle(Array.from({ length: total }, (_, i) => seed.vault_ids[i % seed.vault_ids.length])).map((id) => ({ path: `/api/public/v1/vaults/${id}/secrets?limit=100`, headers: auth }));
    const envReqs = shuffle(Array.from({ length: total }, (_, i) => seed.tokens[i % seed.tokens.length])).map((t) => ({ path: '/api/agent/v1/environment', headers: { authorization: `Bearer ${t}` } }));

    // Sanity: a page holds 100 secrets; an environment answers 200.
    const page = await fetch(`${server.url}${listReqs[0].path}`, { headers: auth });
    const pageJson = await page.json();
    const envRes = await fetch(`${server.url}/api/agent/v1/environment`, { headers: envReqs[0].headers });
    const envText = await envRes.text();
    const sanity = { list_status: page.status, list_items: Array.isArray(pageJson) ? pageJson.length : null, env_status: envRes.status, env_bytes: envText.length };
    log(`scale: sanity ${JSON.stringify(sanity)}`);

    const measure = async (label, requests) => {
      const c0 = cpuMicros(server.pid);
      const r = await runClient({ url: server.url, requests, total, connections, warmup: Math.round(total / 10) });
      const c1 = cpuMicros(server.pid);
      r.cpu_us_per_req = (c1 - c0) / (total + Math.round(total / 10));
      log(`scale: ${label}: ${r.ok}/${total} 2xx, ${r.rps.toFixed(0)} req/s, p50 ${r.p50_ms?.toFixed(2)} ms, p99 ${r.p99_ms?.toFixed(2)} ms, max ${r.max_ms?.toFixed(2)} ms, ${r.cpu_us_per_req.toFixed(0)} µs/req (incl. warm-up), codes ${JSON.stringify(r.codes)}`);
      return r;
    };
    const list = await measure('list', listReqs);
    const envRun = await measure('environment', envReqs);
    const rss = vmStatus(server.pid);
    log(`scale: RSS ${rss.rss_mb.toFixed(1)} MB (at ready ${rssAtReady.rss_mb.toFixed(1)} MB, peak ${rss.hwm_mb.toFixed(1)} MB)`);
    const r3 = (x) => (typeof x === 'number' ? Math.round(x * 1000) / 1000 : x);
    const coldSorted = [...cold].sort((a, b) => a - b);
    return {
      method: { vaults, secrets_per_vault: perVault, requests: total, warmup_requests: Math.round(total / 10), connections, starts },
      seed: { ...seed.counts, seconds: seed.seconds, db_mb: r3(dbBytes / 1048576) },
      sanity,
      cold_start_runs_ms: cold.map(r3),
      list: Object.fromEntries(Object.entries(list).map(([k, v]) => [k, r3(v)])),
      environment: Object.fromEntries(Object.entries(envRun).map(([k, v]) => [k, r3(v)])),
      rss_at_ready_mb: r3(rssAtReady.rss_mb),
      rss_peak_mb: r3(rss.hwm_mb),
      list_p99_ms: r3(list.p99_ms),
      env_p99_ms: r3(envRun.p99_ms),
      rss_mb: r3(rss.rss_mb),
      cold_start_ms: r3(coldSorted[(coldSorted.length - 1) >> 1]),
    };
  } finally {
    if (server) await stopChild(server.child);
    removeTempDir(dataDir);
  }
}

export function render(r) {
  const m = r.method ?? {};
  const s = r.seed ?? {};
  const parts = [];
  parts.push('## Scenario `scale` — 100k secrets, 1k vaults, 1k agents\n');
  if (r.quick) parts.push('**Quick smoke run (`--quick`): a tiny data set; not the scale figures.**\n');
  if (m.vaults && m.vaults < 1000) parts.push(`**Reduced data set: ${num(m.vaults)} vaults × ${m.secrets_per_vault} secrets (not the 100,000 of the issue).**\n`);
  parts.push(
    `Run ${r.date ?? ''} with \`${r.command ?? ''}\` (${r.runtime_s ?? '?'} s). Seeded in-process through the compiled services (\`dist/main.js\` \`createServices\`; each create its own fsync'd SQLite transaction, as through the API): ` +
      `${num(s.secrets)} secrets over ${num(s.vaults)} vaults (${m.secrets_per_vault} each), ${num(s.agents)} agents (each attached to one vault, one token each) in ${num(s.seconds, 1)} s; database ${num(s.db_mb, 1)} MB. ` +
      `Then \`vaultgate serve\` of that data dir (SQLite, log level warn) pinned to CPU 1; the load client (Node \`http\`, ${m.connections} keep-alive connections, per-request hrtime) pinned to CPU 0.\n`,
  );
  parts.push(
    [
      `- **cold start**: spawn of \`node dist/cli/main.js serve\` → first 200 from \`/readyz\` (polled every 5 ms), median of ${m.starts} consecutive starts (${(r.cold_start_runs_ms ?? []).map((x) => num(x)).join(', ')} ms); the OS page cache is warm (the seed just wrote the file).`,
      `- **list page**: \`GET /api/public/v1/vaults/{id}/secrets?limit=100\` over random vaults (each page ${r.sanity?.list_items ?? '?'} secrets), ${num(m.warmup_requests)} warm-up + ${num(m.requests)} measured requests.`,
      `- **environment**: \`GET /api/agent/v1/environment\` with the tokens of random agents (${num(r.sanity?.env_bytes)} bytes for the first), same counts.`,
      '- **RSS**: `VmRSS` of the server from `/proc/<pid>/status` after both runs.',
      '- One process, one pass per figure: no interleaved baseline here (these are absolute figures against the issue\'s targets), so expect the host\'s ±10–35% run-to-run spread.',
    ].join('\n') + '\n',
  );
  const row = (label, x) =>
    `| ${label} | ${num(x.rps)} | ${num(x.p50_ms, 2)} | ${num(x.p99_ms, 2)} | ${num(x.max_ms, 2)} | ${num(x.cpu_us_per_req, 0)} | ${num(x.non2xx)} / ${num(x.errors)} |`;
  parts.push(
    ['| request | req/s (2xx) | p50 ms | p99 ms | max ms | server CPU µs/req | non-2xx / errors |', '|---|---:|---:|---:|---:|---:|---:|', row('list page (limit=100)', r.list ?? {}), row('agent environment', r.environment ?? {})].join('\n') + '\n',
  );
  parts.push(
    targetsTable([
      { figure: '`list_p99_ms`', value: num(r.list_p99_ms, 2), target: `≤ ${TARGETS.list_p99_ms}`, met: r.list_p99_ms <= TARGETS.list_p99_ms },
      { figure: '`env_p99_ms`', value: num(r.env_p99_ms, 2), target: null, met: null },
      { figure: '`rss_mb`', value: `${num(r.rss_mb, 1)} (at ready ${num(r.rss_at_ready_mb, 1)}, peak ${num(r.rss_peak_mb, 1)})`, target: `≤ ${TARGETS.rss_mb}`, met: r.rss_mb <= TARGETS.rss_mb },
      { figure: '`cold_start_ms`', value: num(r.cold_start_ms), target: `≤ ${TARGETS.cold_start_ms}`, met: r.cold_start_ms <= TARGETS.cold_start_ms },
    ]) + '\n',
  );
  void mmm;
  const notes = join(import.meta.dirname, '../notes/scale.md');
  if (existsSync(notes)) parts.push(readFileSync(notes, 'utf8'));
  return parts.join('\n');
}

/** "At a glance" rows: absolute figures against the targets (no baseline in this scenario). */
export function summary(r) {
  const m = r.method ?? {};
  const data = m.vaults ? `${num(m.vaults * m.secrets_per_vault)} secrets / ${num(m.vaults)} vaults` : '–';
  const absolute = '– (absolute figure, no baseline)';
  const ms = (x) => (typeof x === 'number' ? `${num(x, 2)} ms` : '–');
  const met = (x, limit) => (typeof x === 'number' ? x <= limit : null);
  return [
    { figure: '`list_p99_ms`: a 100-secret page of a random vault', value: ms(r.list_p99_ms), vaultgate: r.list ? `${data}; ${num(r.list.rps)} req/s, p50 ${num(r.list.p50_ms, 2)} ms (${m.connections} conns)` : '–', baseline: absolute, target: `≤ ${TARGETS.list_p99_ms} ms`, met: met(r.list_p99_ms, TARGETS.list_p99_ms), see: 'Why the list page misses its p99' },
    { figure: '`env_p99_ms`: agent environment of a random agent', value: ms(r.env_p99_ms), vaultgate: r.environment ? `${data}; ${num(r.environment.rps)} req/s, p50 ${num(r.environment.p50_ms, 2)} ms (${m.connections} conns)` : '–', baseline: absolute, target: '– (none in the issue)', met: null },
    { figure: '`rss_mb`: server RSS after both runs', value: typeof r.rss_mb === 'number' ? `${num(r.rss_mb, 1)} MB` : '–', vaultgate: typeof r.rss_peak_mb === 'number' ? `${data}; peak ${num(r.rss_peak_mb, 1)} MB` : '–', baseline: absolute, target: `≤ ${TARGETS.rss_mb} MB`, met: met(r.rss_mb, TARGETS.rss_mb) },
    { figure: '`cold_start_ms`: spawn → first 200 from /readyz', value: typeof r.cold_start_ms === 'number' ? `${num(r.cold_start_ms)} ms` : '–', vaultgate: r.cold_start_runs_ms ? `${data}; median of ${r.cold_start_runs_ms.map((x) => num(x)).join(', ')} ms` : '–', baseline: absolute, target: `≤ ${num(TARGETS.cold_start_ms)} ms`, met: met(r.cold_start_ms, TARGETS.cold_start_ms) },
  ];
}
