// Scenario `write` (issue 7, section 5): create-secret and rotate (PATCH value) req/s at 1 and 16
// connections on SQLite and on PostgreSQL (a throwaway cluster, one Vaultgate node), interleaved
// SQLite, PostgreSQL, SQLite, … No target: the two stores side by side.
import { describeCase, interleaved } from '../lib/measure.mjs';
import { startLoadgen } from '../lib/loadgen.mjs';
import { withStarted } from '../lib/proc.mjs';
import { glanceCase, mmm, num, ratioCell } from '../lib/report.mjs';
import { newDeployment, startNode, startPgCluster } from '../lib/rotation-pg.mjs';
import { startVaultgate } from '../lib/servers.mjs';

export const name = 'write';
export const description = 'POST secret and PATCH (rotate) secret value, c=1 and c=16, SQLite vs PostgreSQL (one node)';

const CONNECTIONS = [1, 16];
const OPS = ['create', 'rotate'];

export async function run({ quick, log }) {
  const rounds = quick ? 2 : 3;
  const duration = quick ? 1 : 3;
  const warmup = quick ? 0.5 : 1;
  let cluster = null;
  try {
    return await withStarted(async (keep) => {
      const sqlite = keep(await startVaultgate({ logLevel: 'warn' }));
      cluster = await startPgCluster();
      const deployment = newDeployment(cluster.url);
      const pg = keep({ ...(await startNode('pg', deployment)), adminKey: deployment.adminKey });
      const loadgen = keep(await startLoadgen());
      log(`write: sqlite ${sqlite.url} (pid ${sqlite.pid}), postgres node ${pg.url} (pid ${pg.pid}) on PostgreSQL ${cluster.version}, load generator pid ${loadgen.pid}`);

      const setup = async (server, key, op, c) => {
        const v = await server.api('POST', '/vaults', { name: `bench-write-${op}-c${c}` });
        if (v.status !== 201) throw new Error(`create vault -> ${v.status} ${v.text}`);
        const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
        if (op === 'create') return { method: 'POST', path: `/api/public/v1/vaults/${v.json.id}/secrets`, headers, bodyGen: { kind: 'uniqueSecret', tag: `W${c}` }, connections: c };
        const s = await server.api('POST', `/vaults/${v.json.id}/secrets`, { env_key: `BENCH_ROTATE_C${c}`, value: 'x'.repeat(40) });
        if (s.status !== 201) throw new Error(`create secret -> ${s.status} ${s.text}`);
        const p = await server.api('PATCH', `/secrets/${s.json.id}`, { value: 'y'.repeat(40) });
        if (p.status !== 200) throw new Error(`PATCH secret -> ${p.status} ${p.text}`);
        return { method: 'PATCH', path: `/api/public/v1/secrets/${s.json.id}`, headers, bodyGen: { kind: 'rotateValue' }, connections: c };
      };

      const out = { method: { rounds, duration_s: duration, warmup_s: warmup, log_level: 'warn', steal_limit_pct: 5, postgres_version: cluster.version } };
      const schedule = { loadgen, rounds, duration, warmup, log };
      for (const op of OPS) {
        for (const c of CONNECTIONS) {
          const key = `${op}_c${c}`;
          const sSpec = await setup(sqlite, sqlite.adminKey, op, c);
          const pSpec = await setup(pg, pg.adminKey, op, c);
          const describe = describeCase(sSpec, c);
          log(`write: ${key}: ${rounds} rounds × ${duration}s, SQLite and PostgreSQL interleaved`);
          const res = await interleaved({
            ...schedule,
            baseline: { server: sqlite, spec: sSpec, describe: { ...describe, store: 'sqlite' } },
            subject: { server: pg, spec: pSpec, describe: { ...describe, store: 'postgres' }, label: key },
          });
          out[`sqlite_${key}`] = res.baseline;
          out[`postgres_${key}`] = res.subject;
        }
      }
      return out;
    });
  } finally {
    cluster?.destroy();
  }
}

export function render(r) {
  const m = r.method ?? {};
  const parts = [];
  parts.push('## Scenario `write` — create and rotate, SQLite vs PostgreSQL\n');
  if (r.quick) parts.push('**Quick smoke run (`--quick`): too few, too short rounds to compare.**\n');
  parts.push(
    `Run ${r.date ?? ''} with \`${r.command ?? ''}\` (${r.runtime_s ?? '?'} s). ${m.rounds} interleaved rounds (SQLite, PostgreSQL, SQLite, …) of ${m.duration_s} s per case after a ${m.warmup_s} s warm-up of each; ` +
      `median (min–max) over kept rounds; rounds with CPU steal > ${m.steal_limit_pct}% dropped. Both Vaultgate processes pinned to CPU 1, autocannon on CPU 0; the PostgreSQL ${m.postgres_version ?? ''} server (throwaway cluster, \`initdb\` defaults, so \`fsync=on\`, \`synchronous_commit=on\`) is not pinned. ` +
      'No target: this is the two stores side by side.\n',
  );
  parts.push(
    [
      '- **create**: `POST /api/public/v1/vaults/{vault_id}/secrets`, unique env_key per request, 40-byte value; a fresh vault per case and store (it grows over the rounds).',
      '- **rotate**: `PATCH /api/public/v1/secrets/{secret_id}` with a new random 40-byte value per request (one secret per case and store; every PATCH adds a version and a audit record).',
      '- req/s counts 2xx only; p50/p99 from per-response hrtime; **CPU µs/req is the Vaultgate process only** — for PostgreSQL the database server\'s own CPU is not included.',
      '- "PG ÷ SQLite" is per round (PostgreSQL run ÷ the SQLite run just before it).',
    ].join('\n') + '\n',
  );
  const head =
    '| case | conns | store | req/s (2xx) | p50 ms | p99 ms | CPU µs/req | PG ÷ SQLite req/s | PG ÷ SQLite CPU µs/req | non-2xx / errors | rounds kept (dropped) |\n' +
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|';
  const rows = [];
  for (const op of OPS) {
    for (const c of CONNECTIONS) {
      for (const store of ['sqlite', 'postgres']) {
        const x = r[`${store}_${op}_c${c}`];
        if (!x) continue;
        const ratio = x.ratio_vs_baseline;
        rows.push(
          `| ${op === 'create' ? 'create secret' : 'rotate (PATCH value)'} | ${c} | ${store === 'sqlite' ? 'SQLite' : 'PostgreSQL'} | ${mmm(x.rps)} | ${mmm(x.p50_ms, 2)} | ${mmm(x.p99_ms, 2)} | ${mmm(x.cpu_us_per_req, 1)} | ${ratio ? mmm(ratio.rps, 2) : '–'} | ${ratio ? mmm(ratio.cpu_us_per_req, 2) : '–'} | ${num(x.non2xx_total)} / ${num(x.errors_total + (x.timeouts_total ?? 0))} | ${x.rounds_kept} (${x.rounds_dropped}) |`,
        );
      }
    }
  }
  parts.push(`${head}\n${rows.join('\n')}\n`);
  return parts.join('\n');
}

/** "At a glance" rows: each case's PostgreSQL req/s against SQLite's in the same rounds (no target). */
export function summary(r) {
  const rows = [];
  for (const op of OPS) {
    for (const c of CONNECTIONS) {
      const pg = r[`postgres_${op}_c${c}`];
      const sq = r[`sqlite_${op}_c${c}`];
      rows.push({
        figure: `${op === 'create' ? 'create secret' : 'rotate (PATCH value)'} c=${c}: req/s PostgreSQL ÷ SQLite`,
        value: ratioCell(pg?.ratio_vs_baseline?.rps, 2),
        vaultgate: pg ? `on PostgreSQL ${r.method?.postgres_version ?? ''}: ${glanceCase(pg)}`.replace('  ', ' ') : '–',
        baseline: sq ? `on SQLite: ${glanceCase(sq)}` : '–',
        target: '– (none in the issue)',
        met: null,
      });
    }
  }
  return rows;
}
