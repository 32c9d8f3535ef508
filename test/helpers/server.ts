// Test harness: a real Vaultgate server on 127.0.0.1:0 with a temp data dir and captured logs.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/main.js';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const cliPath = join(repoRoot, 'dist/cli/main.js');

export function tempDir(prefix = 'vg-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function newAdminKey(): string {
  return `test-admin-${randomBytes(16).toString('hex')}`;
}

export interface TestServer {
  url: string;
  api: string;
  apiKey: string;
  dataDir: string;
  /** The env that names this server's store (data dir, and the database on PostgreSQL), for CLI runs. */
  storeEnv: Record<string, string>;
  logs: string[];
  server: RunningServer;
  /** fetch against the operator API with the admin key unless `key` is given (null: no auth header). */
  call(method: string, path: string, opts?: { body?: unknown; raw?: string; key?: string | null; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; text: string; json: any }>;
  close(opts?: { keepData?: boolean }): Promise<void>;
}

export interface TestServerOptions {
  dataDir?: string;
  env?: Record<string, string>;
  apiKey?: string;
  sseHeartbeatMs?: number;
  /** Serve the built dashboard (`dist/web`, made by `npm run build`) at `/`, or the dashboard in this dir. */
  ui?: boolean | string;
}

export const builtUiDir = join(repoRoot, 'dist/web');

/** `VAULTGATE_TEST_BACKEND=postgres` runs a suite against PostgreSQL instead of SQLite. */
export const testBackend = process.env.VAULTGATE_TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';

// A restarted server (same data dir) must find the same database.
const databases = new Map<string, { url: string; drop(): Promise<void> }>();

async function storeEnvFor(dataDir: string): Promise<Record<string, string>> {
  if (testBackend === 'sqlite') return { VAULTGATE_DATA_DIR: dataDir };
  let db = databases.get(dataDir);
  if (!db) {
    const { createTestDatabase } = await import('./postgres.js');
    db = await createTestDatabase();
    databases.set(dataDir, db);
  }
  return { VAULTGATE_DATA_DIR: dataDir, VAULTGATE_DATABASE_URL: db.url };
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const storeEnv = await storeEnvFor(dataDir);
  const apiKey = opts.apiKey ?? newAdminKey();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const config = loadConfig({
    ...storeEnv,
    VAULTGATE_API_ADDR: '127.0.0.1:0',
    VAULTGATE_PROXY_ADDR: '127.0.0.1:0',
    VAULTGATE_ADMIN_KEY: apiKey,
    VAULTGATE_LOG_LEVEL: 'info',
    // Suites that test failed authentication make far more than 20 failures a minute from one
    // address; the throttle has its own tests, which set their limit.
    VAULTGATE_AUTH_FAILURES_PER_MINUTE: '1000000',
    ...opts.env,
  });
  const server = await startServer(config, {
    logger: createLogger('info', sink),
    print: (text) => logs.push(text),
    uiDir: typeof opts.ui === 'string' ? opts.ui : opts.ui ? builtUiDir : null,
    ...(opts.sseHeartbeatMs ? { sseHeartbeatMs: opts.sseHeartbeatMs } : {}),
  });
  const url = server.url;
  const api = `${url}/api/public/v1`;
  return {
    url,
    api,
    apiKey,
    dataDir,
    storeEnv,
    logs,
    server,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const key = o.key === undefined ? apiKey : o.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      let body: string | undefined = o.raw;
      if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
      const res = await fetch(path.startsWith('http') ? path : `${api}${path}`, { method, headers, body });
      const text = await res.text();
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    async close(o = {}) {
      await server.close();
      if (!o.keepData && opts.dataDir === undefined) {
        rmSync(dataDir, { recursive: true, force: true });
        await databases.get(dataDir)?.drop();
        databases.delete(dataDir);
      }
    },
  };
}

export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs the built CLI (`dist/cli/main.js serve`) as a separate process, e.g. to kill -9 it. */
export async function spawnServer(env: Record<string, string>, timeoutMs = 15_000): Promise<SpawnedServer> {
  const child = spawn(process.execPath, [cliPath, 'serve'], {
    env: { PATH: process.env.PATH ?? '', VAULTGATE_API_ADDR: '127.0.0.1:0', VAULTGATE_PROXY_ADDR: '127.0.0.1:0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += String(d)));
  child.stderr?.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`server did not start:\n${out}`)), timeoutMs);
    const check = () => {
      const m = /"address":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        res(m[1]);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  return { child, url, output: () => out, exited };
}
