// Multi-node harness: several `vaultgate serve` processes (built CLI) on one PostgreSQL database,
// each with its own data dir, the same master key and the same admin key. A node looks enough like
// a TestServer (url, api, apiKey, call, server.proxyUrl) for the agents/proxy/SSE helpers.
import { createTestDatabase } from '../helpers/postgres.js';
import { connectTo, makePki, startUpstream, type Pki, type Upstream } from '../proxy/helpers.js';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import pg from 'pg';
import { expect } from 'vitest';
import { requireBuiltCli, sleep } from '../helpers/kit.js';
import { cliPath, newAdminKey, tempDir, type SpawnedServer, type TestServer } from '../helpers/server.js';
import { apiClient, type Call, type HttpResult } from '../resilience/helpers.js';

/** What every node of one deployment shares. */
export interface Deployment {
  databaseUrl: string;
  masterKey: string;
  adminKey: string;
  /** Extra env for every node (proxy settings, …). */
  env: Record<string, string>;
}

export function newDeployment(databaseUrl: string, env: Record<string, string> = {}): Deployment {
  return { databaseUrl, masterKey: randomBytes(32).toString('base64'), adminKey: newAdminKey(), env };
}

export interface Node {
  name: string;
  url: string;
  api: string;
  apiKey: string;
  proxyUrl: string;
  dataDir: string;
  env: Record<string, string>;
  proc: SpawnedServer;
  call: Call;
  /** The same node typed as a TestServer, for the helpers of the other suites (call, url, api, server.proxyUrl). */
  ts: TestServer;
  output(): string;
  alive(): boolean;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const started = new Set<Node>();
const dirs = new Set<string>();

/** The env of a node of `d` with its own data dir (`overrides` may drop a key by setting it to undefined). */
export function nodeEnv(d: Deployment, dataDir: string, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    VAULTGATE_DATABASE_URL: d.databaseUrl,
    VAULTGATE_DATA_DIR: dataDir,
    VAULTGATE_MASTER_KEY: d.masterKey,
    VAULTGATE_ADMIN_KEY: d.adminKey,
    // spawnServer finds the address in the `vaultgate api listening` line, logged at info.
    VAULTGATE_LOG_LEVEL: 'info',
    ...d.env,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

export function nodeDir(name: string): string {
  const dir = tempDir(`vg-mn-${name}-`);
  dirs.add(dir);
  return dir;
}

/**
 * `node dist/cli/main.js serve` like test/helpers/server.ts `spawnServer`, but a node that does not
 * come up is killed rather than left running (a start that hangs would otherwise outlive the test).
 */
function spawnServe(env: Record<string, string>, timeoutMs: number): Promise<SpawnedServer> {
  const child = spawn(process.execPath, [cliPath, 'serve'], {
    env: { PATH: process.env.PATH ?? '', VAULTGATE_API_ADDR: '127.0.0.1:0', VAULTGATE_PROXY_ADDR: '127.0.0.1:0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return new Promise<SpawnedServer>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${timeoutMs} ms (killed):\n${out}`));
    }, timeoutMs);
    child.stdout.on('data', () => {
      const m = /"address":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({ child, url: m[1], output: () => out, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
}

/** Spawns `vaultgate serve` for deployment `d`; `dataDir` defaults to a fresh one. */
export async function startNode(name: string, d: Deployment, opts: { dataDir?: string; overrides?: Record<string, string | undefined> } = {}): Promise<Node> {
  const dataDir = opts.dataDir ?? nodeDir(name);
  const env = nodeEnv(d, dataDir, opts.overrides);
  const proc = await spawnServe(env, 20_000);
  const proxyUrl = /"proxy":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(proc.output())?.[1];
  if (!proxyUrl) throw new Error(`node ${name}: no proxy address in the start-up log:\n${proc.output()}`);
  let exitCode: number | null | undefined;
  void proc.exited.then((c) => (exitCode = c));
  const raw = apiClient(proc.url, d.adminKey);
  // A refused connection names the node, and shows how it ended if it is gone.
  const call: Call = async (method, path, o) => {
    try {
      return await raw(method, path, o);
    } catch (err) {
      const state = node.alive() ? 'running' : `exited (${exitCode ?? proc.child.signalCode}); last output:\n${proc.output().slice(-2000)}`;
      throw new Error(`node ${name}: ${method} ${path} failed: ${String((err as Error).cause ?? err)}; the node is ${state}`, { cause: err });
    }
  };
  const node: Node = {
    name,
    url: proc.url,
    api: `${proc.url}/api/public/v1`,
    apiKey: d.adminKey,
    proxyUrl,
    dataDir,
    env,
    proc,
    call,
    ts: undefined as unknown as TestServer,
    output: proc.output,
    alive: () => exitCode === undefined && proc.child.exitCode === null && proc.child.signalCode === null,
    async kill(signal = 'SIGTERM') {
      started.delete(node);
      if (!node.alive()) return exitCode ?? null;
      proc.child.kill(signal);
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), 8000);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
  node.ts = {
    url: node.url,
    api: node.api,
    apiKey: node.apiKey,
    dataDir,
    storeEnv: env,
    logs: [],
    server: { proxyUrl },
    call: (method: string, path: string, o?: Parameters<Call>[2]) => call(method, path, o),
    close: async () => void (await node.kill()),
  } as unknown as TestServer;
  started.add(node);
  return node;
}

/** Kills every node still running (SIGKILL: these are throwaway) and removes their data dirs. */
export async function stopAllNodes(): Promise<void> {
  await Promise.all([...started].map((n) => n.kill('SIGKILL')));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** Status and body, for assertion messages. */
export const show = (r: HttpResult) => `${r.status} ${r.text.slice(0, 400)}`;

export async function ok(res: Promise<HttpResult>, status: number): Promise<any> {
  const r = await res;
  expect(r.status, show(r)).toBe(status);
  return r.json;
}

/** Polls `fn` until it returns true, or throws with `what` after `ms`. */
export async function waitFor(what: string, fn: () => Promise<boolean>, ms: number, every = 100): Promise<number> {
  const start = Date.now();
  let last: unknown = null;
  for (;;) {
    try {
      if (await fn()) return Date.now() - start;
    } catch (err) {
      last = err;
    }
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
    await sleep(every);
  }
}

/**
 * A fingerprint of everything in the database's public schema: the table and column list and
 * an md5 of each table's rows. Equal fingerprints mean nothing was written.
 */
export async function databaseFingerprint(url: string): Promise<Record<string, string>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: Record<string, string> = {};
    const cols = await c.query(
      `SELECT table_name, string_agg(column_name || ':' || data_type, ',' ORDER BY ordinal_position) AS cols
         FROM information_schema.columns WHERE table_schema = 'public' GROUP BY table_name ORDER BY table_name`,
    );
    for (const row of cols.rows as { table_name: string; cols: string }[]) {
      const data = await c.query(`SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h FROM "${row.table_name}" t`);
      out[row.table_name] = `${row.cols} rows=${data.rows[0].n} md5=${data.rows[0].h}`;
    }
    const seqs = await c.query(`SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public' ORDER BY 1`);
    for (const { sequence_name: name } of seqs.rows as { sequence_name: string }[]) {
      const v = await c.query(`SELECT last_value::text AS v, is_called FROM "${name}"`);
      out[`sequence ${name}`] = `${v.rows[0].v} ${v.rows[0].is_called}`;
    }
    return out;
  } finally {
    await c.end();
  }
}

/** One PostgreSQL database, a recording upstream behind the proxies, and nodes `a` and `b` on it. */
export interface TwoNodes {
  db: Awaited<ReturnType<typeof createTestDatabase>>;
  pki: Pki;
  up: Upstream;
  a: Node;
  b: Node;
  close(): Promise<void>;
}

/** Both nodes start at once on the empty database: migrations, bootstrap and the CA must not race. */
export async function startTwoNodes(): Promise<TwoNodes> {
  requireBuiltCli();
  const db = await createTestDatabase();
  const pki = await makePki();
  const up = await startUpstream(pki);
  const d = newDeployment(db.url, { VAULTGATE_PROXY_CONNECT_TO: connectTo(up), VAULTGATE_UPSTREAM_CA_FILE: pki.caFile, VAULTGATE_PROXY_ALLOW_PRIVATE: '1' });
  const [a, b] = await Promise.all([startNode('a', d), startNode('b', d)]);
  return {
    db, pki, up, a, b,
    async close() {
      await stopAllNodes();
      await up.close();
      await db.drop();
    },
  };
}
