#!/usr/bin/env node
// Vaultgate benchmarks: `npm run bench [-- --scenario NAME] [-- --quick]`.
//
// Each scenario is a module in bench/scenarios/ exporting { name, description, run(ctx), render(result) }
// and optionally summary(result) → rows of the "At a glance" table (see bench/lib/report.mjs).
// A full run rewrites bench/results.json; a --scenario run replaces only that scenario's entry.
// BENCHMARKS.md is always regenerated from the whole results.json.
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fsyncProbe, machineInfo } from './lib/machine.mjs';
import { cleanup, installCleanupHandlers } from './lib/proc.mjs';
import { renderBenchmarks } from './lib/report.mjs';

const benchDir = import.meta.dirname;
const repoRoot = resolve(benchDir, '..');
const resultsPath = join(benchDir, 'results.json');
const markdownPath = join(repoRoot, 'BENCHMARKS.md');

function usage(scenarios) {
  return [
    'usage: node bench/run.mjs [--scenario NAME[,NAME…]] [--quick] [--no-write] [--render]',
    '  --scenario  run only these scenarios (default: all)',
    '  --quick     fewer, shorter rounds (smoke run; results are marked as quick)',
    '  --no-write  do not touch bench/results.json or BENCHMARKS.md',
    '  --render    only regenerate BENCHMARKS.md from bench/results.json (no measurement)',
    `scenarios: ${scenarios.map((s) => `${s.name} (${s.description})`).join('; ')}`,
  ].join('\n');
}

function parseArgs(argv) {
  const opts = { scenarios: null, quick: false, write: true, help: false, render: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--no-write') opts.write = false;
    else if (a === '--render') opts.render = true;
    else if (a === '--help' || a === '-h') opts.help = true;
    else if (a === '--scenario' || a === '-s') {
      const v = argv[++i];
      if (!v) throw new Error('--scenario needs a name');
      opts.scenarios = v.split(',').filter(Boolean);
    } else if (a.startsWith('--scenario=')) opts.scenarios = a.slice('--scenario='.length).split(',').filter(Boolean);
    else throw new Error(`unknown argument: ${a}`);
  }
  if (opts.scenarios?.includes('all')) opts.scenarios = null;
  return opts;
}

async function loadScenarios() {
  const dir = join(benchDir, 'scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort();
  const mods = [];
  for (const f of files) {
    const mod = await import(pathToFileURL(join(dir, f)).href);
    if (typeof mod.run === 'function' && typeof mod.name === 'string') mods.push(mod);
  }
  return mods;
}

function commandLine(argv) {
  const args = argv.length ? ` -- ${argv.join(' ')}` : '';
  return process.env.npm_lifecycle_event === 'bench' ? `npm run bench${args}` : `node bench/run.mjs${argv.length ? ` ${argv.join(' ')}` : ''}`;
}

function readResults() {
  if (!existsSync(resultsPath)) return null;
  try {
    return JSON.parse(readFileSync(resultsPath, 'utf8'));
  } catch {
    return null;
  }
}

function writeAtomically(path, text) {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

async function main() {
  const argv = process.argv.slice(2);
  const all = await loadScenarios();
  const opts = parseArgs(argv);
  if (opts.help) {
    console.log(usage(all));
    return;
  }
  const renderers = Object.fromEntries(all.filter((s) => typeof s.render === 'function').map((s) => [s.name, s.render]));
  const summaries = Object.fromEntries(all.filter((s) => typeof s.summary === 'function').map((s) => [s.name, s.summary]));
  if (opts.render) {
    const existing = readResults();
    if (!existing) throw new Error(`${resultsPath} is missing or unreadable: run the benchmark first`);
    writeAtomically(markdownPath, renderBenchmarks(existing, renderers, summaries));
    console.log(`regenerated ${markdownPath} from ${resultsPath}`);
    return;
  }
  const selected = opts.scenarios ? opts.scenarios.map((n) => all.find((s) => s.name === n) ?? n) : all;
  const unknown = selected.filter((s) => typeof s === 'string');
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')}; available: ${all.map((s) => s.name).join(', ')}`);

  installCleanupHandlers();
  const t0 = Date.now();
  const log = (line) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}`);
  const date = new Date().toISOString();
  const command = commandLine(argv);
  const machine = machineInfo();
  machine.fsync = fsyncProbe();
  log(`machine: ${machine.nproc} × ${machine.cpu_model}, ${machine.ram_gib} GiB, Node ${machine.node}, ${machine.kernel}; pinning ${machine.taskset ? 'on (loadgen CPU 0, servers CPU 1)' : 'OFF (no taskset)'}; fsync ${machine.fsync.median_us} µs`);

  const fresh = {};
  for (const s of selected) {
    log(`scenario ${s.name}${opts.quick ? ' (quick)' : ''}: ${s.description}`);
    const st = Date.now();
    const result = await s.run({ quick: opts.quick, log, machine });
    fresh[s.name] = { date, command, quick: opts.quick, runtime_s: Math.round((Date.now() - st) / 100) / 10, ...result };
    log(`scenario ${s.name} done in ${fresh[s.name].runtime_s}s`);
  }

  const previous = opts.scenarios ? readResults() : null;
  const results = {
    date,
    machine,
    command,
    runtime_s: Math.round((Date.now() - t0) / 100) / 10,
    scenarios: { ...(previous?.scenarios ?? {}), ...fresh },
  };
  const markdown = renderBenchmarks(results, renderers, summaries);
  if (opts.write) {
    writeAtomically(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
    writeAtomically(markdownPath, markdown);
    log(`wrote ${resultsPath} and ${markdownPath}`);
  } else {
    log('--no-write: results not saved');
  }
  const failed = Object.entries(fresh).filter(([, r]) => r.correctness && !r.correctness.ok);
  log(`total ${results.runtime_s}s`);
  if (failed.length) {
    console.error(`bench: correctness check FAILED in ${failed.map(([n]) => n).join(', ')} (see BENCHMARKS.md)`);
    process.exitCode = 2;
  }
}

main()
  .catch((err) => {
    console.error(`bench: ${err?.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
