// Starting the servers under test: the Vaultgate API (subject) and the hello-world baseline.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { listeningPorts, pinned, removeTempDir, sleep, spawnTracked, stopChild, trackTempDir } from './proc.mjs';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const SERVER_CPU = 1;
export const LOADGEN_CPU = 0;

/**
 * Waits until the child is listening and returns its base URL: the `"address":"http://…"` JSON
 * on stdout when the log level prints it, otherwise a listening socket found through /proc (at
 * warn level Vaultgate does not log its address). When the process listens on several ports
 * (Vaultgate also opens its proxy listener), `probe(url)` picks the right one.
 */
async function waitForAddress(child, name, { probe, timeoutMs = 20_000 } = {}) {
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    if (out.length < 64_000) out += d;
  });
  child.stderr.on('data', (d) => {
    err = (err + d).slice(-8000);
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before listening:\n${out.slice(-4000)}\n${err}`);
    }
    const logged = /"address":"(http:\/\/[^"]+)"/.exec(out)?.[1];
    const candidates = logged ? [logged] : listeningPorts(child.pid).map((port) => `http://127.0.0.1:${port}`);
    for (const url of candidates) {
      if (!probe || (await probe(url))) return url;
    }
    await sleep(50);
  }
  throw new Error(`${name} did not listen within ${timeoutMs} ms:\n${out.slice(-4000)}\n${err}`);
}

/**
 * Which code was measured: HEAD, the files under src/ that differ from it (dist/ is built from
 * the working tree) and when dist/ was last written (the newest file in it).
 */
export function codeVersion() {
  const git = (args) => {
    try {
      return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
    } catch {
      return null;
    }
  };
  const status = git(['status', '--porcelain', '--', 'src']);
  return { head: git(['rev-parse', '--short', 'HEAD']), src_changes_vs_head: status ? status.split('\n').map((l) => l.slice(3)) : [], dist_built_at: newestMtime(join(repoRoot, 'dist')) };
}

function newestMtime(dir) {
  let newest = 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs);
    }
  } catch {
    return null;
  }
  return newest ? new Date(newest).toISOString() : null;
}

/** True when `url` answers Vaultgate's `GET /healthz` with `{"status":"ok"}`. */
export async function isVaultgateApi(url) {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.status === 200 && (await res.json())?.status === 'ok';
  } catch {
    return false;
  }
}

/** The hello-world baseline, pinned to the server CPU. */
export async function startBaseline() {
  const [cmd, args] = pinned(SERVER_CPU, process.execPath, [join(import.meta.dirname, 'hello-server.mjs'), '127.0.0.1:0']);
  const child = spawnTracked(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await waitForAddress(child, 'baseline server');
  return { name: 'baseline', pid: child.pid, url, child, stop: () => stopChild(child) };
}

/**
 * `node dist/cli/main.js serve` on a fresh temp data dir, pinned to the server CPU, log level
 * warn (keeps request logging off the hot path). Returns an API helper bound to the admin key.
 */
export async function startVaultgate({ logLevel = 'warn' } = {}) {
  const cli = join(repoRoot, 'dist/cli/main.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first (npm run bench does)`);
  const dataDir = trackTempDir(mkdtempSync(join(tmpdir(), 'vg-bench-')));
  const adminKey = `bench-admin-${randomBytes(16).toString('hex')}`;
  const env = {
    ...process.env,
    VAULTGATE_DATA_DIR: dataDir,
    VAULTGATE_API_ADDR: '127.0.0.1:0',
    VAULTGATE_PROXY_ADDR: '127.0.0.1:0',
    VAULTGATE_ADMIN_KEY: adminKey,
    VAULTGATE_LOG_LEVEL: logLevel,
  };
  delete env.VAULTGATE_DATABASE_URL;
  delete env.VAULTGATE_MASTER_KEY;
  const [cmd, args] = pinned(SERVER_CPU, process.execPath, [cli, 'serve']);
  const child = spawnTracked(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: repoRoot });
  try {
    const url = await waitForAddress(child, 'vaultgate', { probe: isVaultgateApi });
    const api = apiClient(`${url}/api/public/v1`, adminKey);
    await waitReady(url);
    return {
      name: 'vaultgate',
      pid: child.pid,
      url,
      apiBase: `${url}/api/public/v1`,
      adminKey,
      dataDir,
      api,
      child,
      async stop() {
        await stopChild(child);
        removeTempDir(dataDir);
      },
    };
  } catch (err) {
    await stopChild(child);
    removeTempDir(dataDir);
    throw err;
  }
}

async function waitReady(url, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`vaultgate at ${url} not ready within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Minimal JSON client for setup and checks (not used on the measured path). */
export function apiClient(base, key) {
  const origin = new URL(base).origin;
  return async function call(method, path, body) {
    const url = path.startsWith('http') ? path : path.startsWith('/api/') ? `${origin}${path}` : `${base}${path}`;
    const headers = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  };
}

/** Follows `Link: <…>; rel="next"` from `path`, returning every item. */
export async function fetchAllPages(call, path) {
  const items = [];
  let next = path;
  let pages = 0;
  while (next) {
    const res = await call('GET', next);
    if (res.status !== 200) throw new Error(`GET ${next} -> ${res.status} ${res.text.slice(0, 300)}`);
    items.push(...res.json);
    pages++;
    const link = res.headers.get('link') ?? '';
    const m = /<([^>]+)>\s*;\s*rel="next"/.exec(link);
    next = m ? m[1] : null;
  }
  return { items, pages };
}
