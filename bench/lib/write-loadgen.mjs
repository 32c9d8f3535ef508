// The write scenario's load generator: bench/lib/loadgen.mjs with a worker that also has a rotate body.
import { join } from 'node:path';
import { LOADGEN_CPU } from './servers.mjs';
import { pinned, spawnTracked, stopChild } from './proc.mjs';

export async function startLoadgen() {
  const [cmd, args] = pinned(LOADGEN_CPU, process.execPath, [join(import.meta.dirname, 'write-loadgen-worker.mjs')]);
  const child = spawnTracked(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let nextId = 1;
  let ready;
  const readyP = new Promise((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code, signal) => reject(new Error(`load generator exited early (${code ?? signal})`)));
  });
  child.on('message', (msg) => {
    if (msg?.ready) return ready();
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`load generator: ${msg.error}`));
    else p.resolve(msg.result);
  });
  child.on('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`load generator exited (${code ?? signal})`));
    pending.clear();
  });
  await readyP;
  return {
    pid: child.pid,
    /** Runs one autocannon load (spec: url, method, path, headers, body|bodyGen, connections, duration, collectIds). */
    run(spec) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, spec });
      });
    },
    async stop() {
      if (child.connected) child.send({ cmd: 'exit' });
      await stopChild(child, 2000);
    },
  };
}
