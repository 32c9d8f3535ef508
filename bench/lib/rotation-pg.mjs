// The rotation scenario's multi-node set-up: a throwaway PostgreSQL cluster (start/stop logic
// copied from test/helpers/pg-cluster.ts) and `vaultgate serve` nodes sharing its database.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, listeningPorts, pinned, removeTempDir, sleep, spawnTracked, stopChild, trackTempDir } from './proc.mjs';
import { apiClient, isVaultgateApi, repoRoot, SERVER_CPU } from './servers.mjs';

const pgRoot = '/usr/lib/postgresql';

/** The newest installed PostgreSQL's bin directory (with initdb), or null. */
export function findPgBinDir() {
  if (!existsSync(pgRoot)) return null;
  const versions = readdirSync(pgRoot)
    .filter((v) => existsSync(join(pgRoot, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(pgRoot, versions[0], 'bin') : null;
}

const execFileAsync = (cmd, args) =>
  new Promise((resolve, reject) =>
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`)) : resolve())),
  );

// Clusters still running when the process exits (failure, signal) are stopped synchronously.
const live = new Set();
process.on('exit', () => {
  for (const c of live) c.destroy();
});

/** initdb + pg_ctl start in a temp dir on a free port; throws when no binaries are installed. */
export async function startPgCluster({ maxConnections = 100 } = {}) {
  const bin = findPgBinDir();
  if (!bin) throw new Error(`no PostgreSQL binaries under ${pgRoot}`);
  // Not a tracked temp dir: proc.mjs's cleanup would remove it under a running server. destroy()
  // (called by the scenario, or by the 'exit' handler above) stops the server first, then removes it.
  const dir = mkdtempSync(join(tmpdir(), 'vg-bench-pg-'));
  const asRoot = process.getuid?.() === 0;
  const argv = (cmd, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args]);
  const runSync = (cmd, args) => {
    const [c, a] = argv(cmd, args);
    execFileSync(c, a, { stdio: 'pipe' });
  };
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
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=${maxConnections}`;
  const cluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    version: bin.split('/').at(-2),
    /** Stops the server (immediate) if it runs and removes every file. Synchronous, safe to call twice. */
    destroy() {
      live.delete(cluster);
      if (existsSync(join(data, 'postmaster.pid'))) {
        try {
          runSync('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } catch {
          // already stopped
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(cluster);
  try {
    await execFileAsync(...argv('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', options, 'start']));
  } catch (err) {
    cluster.destroy();
    throw err;
  }
  return cluster;
}

/** What every node of one deployment shares. */
export function newDeployment(databaseUrl, env = {}) {
  return { databaseUrl, masterKey: randomBytes(32).toString('base64'), adminKey: `bench-admin-${randomBytes(16).toString('hex')}`, env };
}

/**
 * `node dist/cli/main.js serve` for deployment `d` (own temp data dir), pinned to the server CPU,
 * log level warn like the other scenarios; the API address is found through /proc (the listening
 * port that answers /healthz), as bench/lib/servers.mjs does at warn level.
 */
export async function startNode(name, d, { timeoutMs = 20_000 } = {}) {
  const dataDir = trackTempDir(mkdtempSync(join(tmpdir(), `vg-bench-node-${name}-`)));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VAULTGATE_')));
  Object.assign(env, {
    VAULTGATE_DATABASE_URL: d.databaseUrl,
    VAULTGATE_MASTER_KEY: d.masterKey,
    VAULTGATE_ADMIN_KEY: d.adminKey,
    VAULTGATE_DATA_DIR: dataDir,
    VAULTGATE_API_ADDR: '127.0.0.1:0',
    VAULTGATE_PROXY_ADDR: '127.0.0.1:0',
    VAULTGATE_LOG_LEVEL: 'warn',
    ...d.env,
  });
  const [cmd, args] = pinned(SERVER_CPU, process.execPath, [join(repoRoot, 'dist/cli/main.js'), 'serve']);
  const child = spawnTracked(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: repoRoot });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (s) => (out = (out + s).slice(-8000)));
  child.stderr.on('data', (s) => (out = (out + s).slice(-8000)));
  const stop = async () => {
    await stopChild(child);
    removeTempDir(dataDir);
  };
  try {
    const deadline = Date.now() + timeoutMs;
    let url = null;
    while (!url) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`node ${name} exited (${child.exitCode ?? child.signalCode}):\n${out}`);
      if (Date.now() > deadline) throw new Error(`node ${name} did not listen within ${timeoutMs} ms:\n${out}`);
      for (const port of listeningPorts(child.pid)) {
        if (await isVaultgateApi(`http://127.0.0.1:${port}`)) url = `http://127.0.0.1:${port}`;
      }
      if (!url) await sleep(50);
    }
    for (;;) {
      const res = await fetch(`${url}/readyz`).catch(() => null);
      if (res?.ok) break;
      if (Date.now() > deadline) throw new Error(`node ${name} not ready within ${timeoutMs} ms:\n${out}`);
      await sleep(50);
    }
    return { name, pid: child.pid, url, dataDir, api: apiClient(`${url}/api/public/v1`, d.adminKey), output: () => out, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
