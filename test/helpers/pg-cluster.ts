// A throwaway PostgreSQL cluster from the installed binaries: initdb into a temp dir, a free port,
// run as the `postgres` user when the tests run as root (PostgreSQL refuses to run as root).
// Used by the Vitest global setup (the shared cluster) and by tests that need a PRIVATE cluster
// they may stop and start again (the database-restart test).
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pgRoot = '/usr/lib/postgresql';

/** The newest installed PostgreSQL's bin directory (with initdb), or null. */
export function findPgBinDir(): string | null {
  if (!existsSync(pgRoot)) return null;
  const versions = readdirSync(pgRoot)
    .filter((v) => existsSync(join(pgRoot, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(pgRoot, versions[0], 'bin') : null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface PgCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  /** The temp dir holding the data directory, the socket and the server log. */
  dir: string;
  /** Stops the server (`fast`: disconnects clients and shuts down cleanly; `immediate`: like a crash). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts the stopped server again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops the server if it runs and removes every file. Synchronous, safe to call twice. */
  destroy(): void;
}

export interface PgClusterOptions {
  maxConnections?: number;
}

function execFileAsync(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

/** initdb + pg_ctl start; throws when no binaries are installed. */
export async function startPgCluster(opts: PgClusterOptions = {}): Promise<PgCluster> {
  const bin = findPgBinDir();
  if (!bin) throw new Error(`no PostgreSQL binaries under ${pgRoot}`);
  const dir = mkdtempSync(join(tmpdir(), 'vg-pg-'));
  const asRoot = process.getuid?.() === 0;
  const argv = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
  const runSync = (cmd: string, args: string[]) => {
    const [c, a] = argv(cmd, args);
    execFileSync(c, a, { stdio: 'pipe' });
  };
  const run = (cmd: string, args: string[]) => execFileAsync(...argv(cmd, args));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const log = join(dir, 'log');
  try {
    runSync('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=${opts.maxConnections ?? 300}`;
  let running = false;
  const cluster: PgCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async start() {
      await run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', options, 'start']);
      running = true;
    },
    async stop(mode = 'fast') {
      await run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    destroy() {
      if (running || existsSync(join(data, 'postmaster.pid'))) {
        try {
          runSync('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } catch {
          // already stopped
        }
        running = false;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await cluster.start();
  } catch (err) {
    cluster.destroy();
    throw err;
  }
  return cluster;
}
