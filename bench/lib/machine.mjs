// Facts about the machine a run was made on, and a small fsync probe of the temp filesystem.
import { execFileSync } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { median } from './measure.mjs';
import { removeTempDir, taskset, trackTempDir } from './proc.mjs';

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function machineInfo() {
  const cpuinfo = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const tmp = os.tmpdir();
  const df = sh('df', ['-PT', tmp])?.split('\n')[1]?.split(/\s+/);
  return {
    nproc: Number(sh('nproc', [])) || os.availableParallelism(),
    cpu_model: model,
    ram_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    tmpdir: tmp,
    tmp_fs: df ? `${df[1]} on ${df[0]}` : null,
    taskset: taskset() !== null,
  };
}

/** Median µs of append 4 KiB + fdatasync on the temp filesystem (where the bench data dir lives). */
export function fsyncProbe(iterations = 200) {
  const dir = trackTempDir(mkdtempSync(join(os.tmpdir(), 'vg-bench-fsync-')));
  try {
    const fd = openSync(join(dir, 'probe'), 'a');
    const buf = Buffer.alloc(4096, 1);
    const times = [];
    try {
      for (let i = 0; i < iterations; i++) {
        const t0 = process.hrtime.bigint();
        writeSync(fd, buf);
        fdatasyncSync(fd);
        times.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
    } finally {
      closeSync(fd);
    }
    return { iterations, median_us: Math.round(median(times)), max_commits_per_s: Math.round(1e6 / median(times)) };
  } finally {
    removeTempDir(dir);
  }
}
