#!/usr/bin/env node
// Top costs of a V8 .cpuprofile (from proxy-cpuprof.mjs or --cpu-prof):
//   node bench/lib/proxy-profile-top.mjs FILE [N]
// Prints self time by function and inclusive ("total") time by function, as % of non-idle samples.
import { readFileSync } from 'node:fs';

const [file, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const counts = new Map();
for (const s of prof.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const name = (n) => {
  const f = n.callFrame;
  const url = f.url.replace(/^file:\/\/\/work\/main\//, '').replace(/^.*node_modules\//, 'nm/');
  return `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
};
const idle = new Set(['(idle)', '(program)', '(garbage collector)']);
let total = 0;
let idleN = 0;
const self = new Map();
const incl = new Map();
for (const [id, c] of counts) {
  const n = byId.get(id);
  if (n.callFrame.functionName === '(idle)') {
    idleN += c;
    continue;
  }
  total += c;
  const k = name(n);
  self.set(k, (self.get(k) ?? 0) + c);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const kk = name(byId.get(cur));
    if (seen.has(kk)) continue;
    seen.add(kk);
    incl.set(kk, (incl.get(kk) ?? 0) + c);
  }
}
const dt = (prof.endTime - prof.startTime) / 1e6;
console.log(`${file}: ${dt.toFixed(1)} s profiled, ${total} non-idle samples, ${idleN} idle`);
const show = (title, m) => {
  console.log(`\n${title}`);
  for (const [k, c] of [...m].filter(([k]) => !idle.has(k) || title.startsWith('self')).sort((a, b) => b[1] - a[1]).slice(0, N)) {
    console.log(`${((100 * c) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
};
show('self time (% of non-idle samples)', self);
show('inclusive time (% of non-idle samples)', incl);
