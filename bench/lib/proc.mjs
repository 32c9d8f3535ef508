// Process plumbing for the benchmarks: pinning, /proc readers, child tracking and cleanup.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let tasksetPath;
/** Absolute path of `taskset` if it exists and works here, else null. */
export function taskset() {
  if (tasksetPath !== undefined) return tasksetPath;
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    tasksetPath = 'taskset';
  } catch {
    tasksetPath = null;
  }
  return tasksetPath;
}

/** [command, args] that runs `cmd args` pinned to `cpu` when taskset is available (taskset execs, so the pid is cmd's). */
export function pinned(cpu, cmd, args) {
  return taskset() ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
}

let clkTck;
export function ticksPerSecond() {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime and stime of a process (all its threads), in microseconds. */
export function cpuTimes(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) may contain spaces; fields after the closing paren are space separated.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const k = 1e6 / ticksPerSecond();
  return { user: Number(rest[11]) * k, sys: Number(rest[12]) * k };
}

/** utime+stime of a process (all its threads), in microseconds. */
export function cpuMicros(pid) {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

/** Resident set size of a process (VmRSS from /proc/<pid>/status) in KiB, or null when it is gone. */
export function rssKiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Aggregate CPU counters from /proc/stat (all CPUs): total, busy and steal jiffies. */
export function cpuCounters() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '));
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice (guest is already in user)
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const steal = v[7] ?? 0;
  return { total, steal, busy: total - v[3] - v[4] - steal };
}

export function stealPercent(before, after) {
  const dt = after.total - before.total;
  return dt > 0 ? (100 * (after.steal - before.steal)) / dt : 0;
}

/** Inodes of the sockets the process holds open (none when it is gone). */
export function socketInodes(pid) {
  const inodes = new Set();
  let fds = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // fd closed meanwhile
    }
  }
  return inodes;
}

/** The machine's TCP sockets in `state` (0A LISTEN, 01 ESTABLISHED): { local, remote, inode } with ports as numbers. */
export function tcpSockets(state) {
  const out = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== state) continue;
      out.push({ local: parseInt(f[1].split(':').at(-1), 16), remote: parseInt(f[2].split(':').at(-1), 16), inode: f[9] });
    }
  }
  return out;
}

/** Local ports of the process's TCP sockets in `state` (0A LISTEN, 01 ESTABLISHED), one entry per socket. */
export function socketPorts(pid, state) {
  const inodes = socketInodes(pid);
  if (inodes.size === 0) return [];
  return tcpSockets(state)
    .filter((s) => inodes.has(s.inode))
    .map((s) => s.local);
}

/** TCP ports the process is listening on. */
export function listeningPorts(pid) {
  return socketPorts(pid, '0A');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until none of `pids` (null ones skipped) used more than 2 ms of CPU in 100 ms (queues drained), at most `maxMs`. */
export async function waitQuiet(pids, maxMs = 2000) {
  const t0 = Date.now();
  const live = pids.filter(Boolean);
  let last = live.map(cpuMicros);
  for (;;) {
    await sleep(100);
    const now = live.map(cpuMicros);
    if (now.every((v, i) => v - last[i] <= 2000) || Date.now() - t0 > maxMs) return Date.now() - t0;
    last = now;
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for servers that must be told their port). */
export async function freePort() {
  const srv = net.createServer();
  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

// ---- tracked children and temp dirs, removed on exit, signal or failure ----

const children = new Set();
const tempDirs = new Set();

export function trackTempDir(dir) {
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/**
 * Runs `fn(keep)`, where `keep(x)` registers x (anything with stop()) and returns it; afterwards,
 * success or not, everything kept is stopped, the last first, its failures ignored.
 */
export async function withStarted(fn) {
  const started = [];
  try {
    return await fn((x) => (started.push(x), x));
  } finally {
    for (const s of started.reverse()) await s.stop().catch(() => {});
  }
}

/** `withStarted` in a fresh temp dir named `prefix…`: `fn({ dir, keep })`; the dir goes once everything kept has stopped. */
export async function withScratch(prefix, fn) {
  const dir = trackTempDir(mkdtempSync(join(tmpdir(), prefix)));
  try {
    return await withStarted((keep) => fn({ dir, keep }));
  } finally {
    removeTempDir(dir);
  }
}

/** spawn() whose child is killed by cleanup() if still running. */
export function spawnTracked(cmd, args, options) {
  const child = spawn(cmd, args, options);
  children.add(child);
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.exited.then(() => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopChild(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export async function cleanup() {
  await Promise.all([...children].map((c) => stopChild(c, 2000)));
  for (const dir of [...tempDirs]) removeTempDir(dir);
}

/** Synchronous last resort for process 'exit': kill by pid (only our own children) and remove temp dirs. */
function cleanupSync() {
  for (const c of children) {
    try {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

let installed = false;
export function installCleanupHandlers() {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
      cleanup().finally(() => process.exit(130));
    });
  }
}
