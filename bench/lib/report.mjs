// BENCHMARKS.md, rendered entirely from bench/results.json (so a partial run can regenerate it).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const notesDir = join(import.meta.dirname, '../notes');

export function num(x, digits = 0) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '–';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "median (min–max)" of a summary, or "–". */
export function mmm(s, digits = 0, suffix = '') {
  if (!s) return '–';
  if (s.n === 1) return `${num(s.median, digits)}${suffix}`;
  return `${num(s.median, digits)}${suffix} (${num(s.min, digits)}–${num(s.max, digits)})`;
}

/** A per-round summary {median, min, max, n} as "median (min–max)", or "–" when absent. */
export function ratioCell(s, digits = 2, suffix = '') {
  return s && typeof s.median === 'number' ? mmm(s, digits, suffix) : '–';
}

/** A case summary (results.json) as "req/s, p50" medians, or "–". */
export function glanceCase(x) {
  if (!x || typeof x.rps?.median !== 'number') return '–';
  return `${num(x.rps.median)} req/s, p50 ${num(x.p50_ms?.median, 2)} ms`;
}

/**
 * One table row per case. `rows`: [{ label, c, result, baseline? }] where result is a case
 * object from results.json; subject rows carry ratio_vs_baseline.
 */
export function casesTable(rows) {
  const head =
    '| case | conns | req/s (2xx) | p50 ms | p99 ms | CPU µs/req | req/s ÷ baseline | CPU µs/req ÷ baseline | non-2xx / errors | rounds kept (dropped) |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const lines = rows.map(({ label, c, result: r }) => {
    const ratio = r.ratio_vs_baseline;
    return `| ${label} | ${c} | ${mmm(r.rps)} | ${mmm(r.p50_ms, 2)} | ${mmm(r.p99_ms, 2)} | ${mmm(r.cpu_us_per_req, 1)} | ${ratio ? mmm(ratio.rps, 3) : '–'} | ${ratio ? mmm(ratio.cpu_us_per_req, 2) : '–'} | ${num(r.non2xx_total)} / ${num(r.errors_total + (r.timeouts_total ?? 0))} | ${r.rounds_kept} (${r.rounds_dropped}) |`;
  });
  return `${head}\n${lines.join('\n')}`;
}

/** Fallback for a scenario whose module is not present: one table of every case-shaped entry. */
function genericScenario(name, result) {
  const rows = Object.entries(result)
    .filter(([, v]) => v && typeof v === 'object' && 'rps' in v)
    .map(([k, v]) => ({ label: k, c: v.connections ?? '–', result: v }));
  return `## Scenario \`${name}\`\n\n${rows.length ? casesTable(rows) : '_no cases_'}\n`;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, … */
function anchors(markdown) {
  const seen = new Map();
  const out = new Map();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const h = fenced ? null : /^#{1,6}\s+(.*?)\s*$/.exec(line);
    if (!h) continue;
    const base = h[1].toLowerCase().replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    if (!out.has(h[1])) out.set(h[1], n ? `${base}-${n}` : base);
  }
  return out;
}

function runCell(r) {
  const d = typeof r?.date === 'string' ? r.date.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC') : '–';
  return r?.quick ? `${d} (**quick**)` : d;
}

const resultCell = (met) => (met === true ? '**met**' : met === false ? '**missed**' : '–');
const cell = (x) => (x === undefined || x === null || x === '' ? '–' : String(x).replace(/\|/g, '\\|').replace(/\n/g, ' '));

/**
 * The "At a glance" section: every scenario's `summary(result)` rows in one table, then one line
 * per missed target pointing to where its reason is written down. `sections`: the rendered
 * scenario sections by name (for links); `headings`: heading text → anchor over the whole file.
 */
function glance(scenarios, summaries, sections, headings) {
  const lines = [
    '## At a glance\n',
    'Every figure issue #7 asks for (plus the operator API), and how Vaultgate compares with the baseline measured beside it in the same run: ' +
      'medians, with the min–max over rounds in parentheses; ratios are taken per round. "–": no target, or a figure this scenario\'s stored run did not record. ' +
      'Each scenario keeps its own run date, because a `--scenario` run replaces only that scenario. Method, all cases and the correctness checks are in the scenario sections below.\n',
    '| scenario | figure | value | Vaultgate | baseline (its own figure) | target | result | run |',
    '|---|---|---:|---|---|---:|---|---|',
  ];
  const missed = [];
  const names = [...new Set([...Object.keys(summaries), ...Object.keys(scenarios)])].sort();
  for (const name of names) {
    const r = scenarios[name];
    const heading = sections[name]?.split('\n').find((l) => l.startsWith('## '))?.slice(3).trim();
    const link = heading && headings.get(heading) ? `[\`${name}\`](#${headings.get(heading)})` : `\`${name}\``;
    if (!r) {
      lines.push(`| \`${name}\` | – | not in bench/results.json (scenario not run yet) | – | – | – | – | – |`);
      continue;
    }
    if (!summaries[name]) {
      lines.push(`| ${link} | – | no summary for this scenario (see its section) | – | – | – | – | ${runCell(r)} |`);
      continue;
    }
    let rows;
    try {
      rows = summaries[name](r) ?? [];
    } catch (err) {
      rows = [{ figure: '–', value: `summary failed: ${err?.message ?? err}` }];
    }
    for (const [i, row] of rows.entries()) {
      lines.push(`| ${i === 0 ? link : `\`${name}\``} | ${cell(row.figure)} | ${cell(row.value)} | ${cell(row.vaultgate)} | ${cell(row.baseline)} | ${cell(row.target)} | ${resultCell(row.met)} | ${runCell(r)} |`);
      if (row.met === false) missed.push({ name, row, heading });
    }
  }
  const out = [lines.join('\n') + '\n'];
  if (missed.length) {
    const items = missed.map(({ name, row, heading }) => {
      const notes = join(notesDir, `${name}.md`);
      // The explanation: a heading in the scenario's section that starts with row.see, else the section itself.
      const sectionHeadings = (sections[name] ?? '').split('\n').filter((l) => /^#{2,6} /.test(l)).map((l) => l.replace(/^#+ /, '').trim());
      const explained = row.see ? sectionHeadings.find((h) => h.startsWith(row.see)) : null;
      const target = explained ?? heading;
      const where = target && headings.get(target) ? `[${target}](#${headings.get(target)})` : `the \`${name}\` section`;
      const why = explained
        ? `${row.why ? `${row.why}; ` : ''}see ${where}${existsSync(notes) ? ` (\`bench/notes/${name}.md\`)` : ''}`
        : row.why
          ? `${row.why} (${where})`
          : `reason not investigated yet (nothing in ${where} or bench/notes/)`;
      return `- \`${name}\` ${row.field ? `\`${row.field}\`` : cell(row.figure).split(':')[0]}: ${cell(row.value)}, target ${cell(row.target)} — ${why}.`;
    });
    out.push(`Missed targets (${missed.length}) and where the reason is explained:\n\n${items.join('\n')}\n`);
  }
  return out.join('\n');
}

export function renderBenchmarks(results, renderers, summaries = {}) {
  const m = results.machine ?? {};
  const parts = [];
  parts.push('# Vaultgate benchmarks\n');
  parts.push(
    '_Generated by `bench/run.mjs` from `bench/results.json`; re-running overwrites this file. ' +
      'Method: /work/shared/BENCHMARKING.md (interleaved baseline vs subject rounds, medians with min–max, ' +
      'server CPU µs/request, pinning, steal-based round dropping, only 2xx counted)._\n',
  );
  parts.push('## Machine and run\n');
  parts.push(
    [
      `- Date (last run): ${results.date}`,
      `- Command (last run): \`${results.command}\``,
      `- CPU: ${m.nproc} × ${m.cpu_model}; RAM ${m.ram_gib} GiB`,
      `- Node ${m.node}; kernel ${m.kernel}`,
      `- Temp filesystem (server data dirs): ${m.tmp_fs ?? 'unknown'} (${m.tmpdir ?? ''})` +
        (m.fsync ? `; 4 KiB append + fdatasync median ${num(m.fsync.median_us)} µs (≈ ${num(m.fsync.max_commits_per_s)} fsyncs/s for one writer)` : ''),
      `- Pinning: ${m.taskset ? 'load generator (autocannon, in a child process) on CPU 0, servers under test (subject and baseline) on CPU 1, via `taskset -c`' : '**taskset unavailable: nothing pinned**'}; the orchestrator is unpinned and idle during loads.`,
    ].join('\n') + '\n',
  );
  const scenarios = results.scenarios ?? {};
  const sections = {};
  for (const name of Object.keys(scenarios).sort()) {
    const render = renderers[name];
    sections[name] = render ? render(scenarios[name]) : genericScenario(name, scenarios[name]);
  }
  const body = Object.values(sections);
  const headings = anchors([...parts, '## At a glance', ...body].join('\n'));
  parts.push(glance(scenarios, summaries, sections, headings));
  parts.push(...body);
  return parts.join('\n');
}

/** A targets table: rows [{ figure, value, target?, met? (true/false/null) }]. */
export function targetsTable(rows) {
  const result = (met) => (met === true ? '**met**' : met === false ? '**missed**' : '–');
  return ['| figure | value | target | result |', '|---|---:|---:|---|', ...rows.map((x) => `| ${x.figure} | ${x.value} | ${x.target ?? '–'} | ${result(x.met)} |`)].join('\n');
}
