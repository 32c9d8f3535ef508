// The soak scenario's load child (pinned to the load CPU by the parent, driven over IPC):
//   { cmd: 'run', spec } → valid traffic, every hostile kind and the held connections at once for
//   spec.durationS seconds, then { valid, hostile, held, uploads }. Every reply: { id, result } or { id, error }.
import { setMaxListeners } from 'node:events';
import { serveCommands } from './ipc-child.mjs';
import { holdConnections, idleKinds, slowKinds } from './soak-held.mjs';
import { HOSTILE_PAUSE_MS, hostileKinds } from './soak-hostile.mjs';
import { validTraffic } from './soak-valid.mjs';
import { captureClientHello } from './soak-wire.mjs';

const ATTEMPT_TIMEOUT_MS = 60_000;

function sleepUnlessAborted(ms, signal) {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => (clearTimeout(timer), resolve());
    const timer = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** One attempt's outcome, never throwing: the kind's own string, or what went wrong. */
async function attempt(fn, s, ctx) {
  let timer;
  const timeout = new Promise((r) => (timer = setTimeout(() => r('timeout'), ATTEMPT_TIMEOUT_MS)));
  try {
    return await Promise.race([fn(s, ctx), timeout]);
  } catch (err) {
    return err?.status ? `connect_${err.status}` : `error:${err?.code ?? err?.message ?? err}`.slice(0, 120);
  } finally {
    clearTimeout(timer);
  }
}

/** A hostile kind, one attempt at a time, every `everyMs` (default pause) until `signal` aborts. */
async function hostileLoop(def, s, ctx, signal, t0) {
  const tally = { what: def.what, attempts: 0, expected: 0, unexpected: 0, outcomes: {}, unexpected_samples: [] };
  const every = def.everyMs ?? HOSTILE_PAUSE_MS;
  while (!signal.aborted) {
    const started = performance.now();
    const outcome = await attempt(def.fn, s, ctx);
    tally.attempts++;
    tally.outcomes[outcome] = (tally.outcomes[outcome] ?? 0) + 1;
    if (def.expect.includes(outcome)) tally.expected++;
    else {
      tally.unexpected++;
      if (tally.unexpected_samples.length < 5) tally.unexpected_samples.push({ at_s: Math.round((started - t0) / 100) / 10, outcome });
    }
    await sleepUnlessAborted(every - (performance.now() - started), signal);
  }
  return tally;
}

async function run(s) {
  const ctx = { hello: await captureClientHello(s.host), uploads: [] };
  const ac = new AbortController();
  setMaxListeners(200, ac.signal); // one per loop and held connection waiting on it
  const timer = setTimeout(() => ac.abort(), s.durationS * 1000);
  const t0 = performance.now();
  const held = { spec: s, signal: ac.signal, reapBoundMs: s.reapBoundMs };
  const [valid, hostile, idle, slowloris] = await Promise.all([
    validTraffic(s, ac.signal),
    Promise.all(Object.entries(hostileKinds).map(async ([k, def]) => [k, await hostileLoop(def, s, ctx, ac.signal, t0)])).then(Object.fromEntries),
    holdConnections({ ...held, kinds: idleKinds, count: s.idleConnections }),
    holdConnections({ ...held, kinds: slowKinds, count: s.slowConnections, dripEveryMs: s.slowDripMs }),
  ]);
  clearTimeout(timer);
  return { duration_s: Math.round((performance.now() - t0) / 100) / 10, valid, hostile, held: { idle, slowloris }, uploads: ctx.uploads };
}

serveCommands({ run: (msg) => run(msg.spec) });
