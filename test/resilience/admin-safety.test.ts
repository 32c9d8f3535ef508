// Administration beside a live deployment (SPEC §9): rotate-master-key refuses while a node serves,
// an admin command where no store exists creates nothing, and a port in use is one line on stderr.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli } from '../helpers/kit.js';
import { createTestDatabase, pgAvailable } from '../helpers/postgres.js';
import { newAdminKey, spawnServer, tempDir, type SpawnedServer } from '../helpers/server.js';
import { ephemeralAddrs, exitWithin } from './helpers.js';

const dirs: string[] = [];
const nodes: SpawnedServer[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) n.child.kill('SIGKILL');
  for (const c of cleanups.splice(0)) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function newDir(): string {
  const dir = tempDir('vg-admin-');
  dirs.push(dir);
  return dir;
}

async function serve(env: Record<string, string>): Promise<SpawnedServer> {
  const node = await spawnServer(env, 20_000);
  nodes.push(node);
  return node;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The refusal, as one stderr line; returns the age it reports in seconds. */
function expectRefused(result: { code: number | null; stdout: string; stderr: string }, pid: number | undefined): number {
  expect([result.code, result.stdout], result.stderr).toEqual([1, '']);
  const line = new RegExp(`^vaultgate: a node is serving this store \\(pid ${pid} on ${escapeRegExp(hostname())}, last seen (\\d+)s ago\\): stop every node first\\n$`);
  const m = line.exec(result.stderr);
  expect(m, result.stderr).not.toBeNull();
  return Number(m![1]);
}

const rotate = (env: Record<string, string>) => runCli(['admin', 'rotate-master-key', '--json'], { env: { ...ephemeralAddrs, ...env }, timeoutMs: 20_000 });

describe('admin rotate-master-key beside serving nodes (SQLite)', () => {
  it('refuses while a serve process runs, changing nothing; goes ahead once it stopped', { timeout: 60_000 }, async () => {
    requireBuiltCli();
    const dir = newDir();
    const env = { VAULTGATE_DATA_DIR: dir, VAULTGATE_ADMIN_KEY: newAdminKey() };
    const node = await serve(env);
    const key = readFileSync(join(dir, 'master.key'), 'utf8');

    const refused = await rotate(env);
    expect(expectRefused(refused, node.child.pid)).toBeLessThan(15);
    expect(readFileSync(join(dir, 'master.key'), 'utf8')).toBe(key);
    expect(existsSync(join(dir, 'master.key.next'))).toBe(false);

    node.child.kill('SIGTERM');
    expect(await exitWithin(node.exited, 10_000)).toBe(0);
    const rotated = await rotate(env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout)).toMatchObject({ rewrapped: 0, pendingFile: null });
    expect(readFileSync(join(dir, 'master.key'), 'utf8')).not.toBe(key);
  });

  it('a SIGKILLed node leaves its row behind, which blocks until its heartbeat is 15 s old', { timeout: 60_000 }, async () => {
    requireBuiltCli();
    const dir = newDir();
    const env = { VAULTGATE_DATA_DIR: dir, VAULTGATE_ADMIN_KEY: newAdminKey() };
    const node = await serve(env);
    node.child.kill('SIGKILL');
    await exitWithin(node.exited, 10_000);

    const db = new Database(join(dir, 'vaultgate.db'));
    cleanups.push(async () => void db.close());
    expect(db.prepare('SELECT pid, hostname FROM serving_nodes').all()).toEqual([{ pid: node.child.pid, hostname: hostname() }]);
    const age = (seconds: number) => db.prepare('UPDATE serving_nodes SET heartbeat_at = ?').run(new Date(Date.now() - seconds * 1000).toISOString());

    age(10);
    const seen = expectRefused(await rotate(env), node.child.pid);
    expect(seen).toBeGreaterThanOrEqual(10);
    expect(seen).toBeLessThan(15);
    expect(existsSync(join(dir, 'master.key.next'))).toBe(false);

    age(16);
    const rotated = await rotate(env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout)).toMatchObject({ rewrapped: 0, pendingFile: null });
  });
});

const adminCommands = [
  ['admin', 'org', 'create', 'acme', '--json'],
  ['admin', 'key', 'create', '--name', 'ci', '--json'],
  ['admin', 'key', 'revoke', 'key_01KQ27AQH800XQTQPJZ0DH14SJ'],
  ['admin', 'rotate-master-key'],
];

const noStoreLine = (where: string) =>
  `vaultgate: no Vaultgate store in ${where} (only "vaultgate serve" creates one; set VAULTGATE_DATA_DIR or VAULTGATE_DATABASE_URL)\n`;

describe('admin commands where no store exists', () => {
  it.each(adminCommands.map((args) => [args.slice(1, 3).join(' '), args] as const))('%s: says so and creates nothing', async (_name, args) => {
    requireBuiltCli();
    const parent = newDir();
    const missing = join(parent, 'data');
    const r1 = await runCli(args, { env: { ...ephemeralAddrs, VAULTGATE_DATA_DIR: missing } });
    expect([r1.code, r1.stdout, r1.stderr]).toEqual([1, '', noStoreLine(missing)]);
    expect(readdirSync(parent)).toEqual([]);

    const empty = join(parent, 'empty');
    mkdirSync(empty);
    const r2 = await runCli(args, { env: { ...ephemeralAddrs, VAULTGATE_DATA_DIR: empty } });
    expect([r2.code, r2.stdout, r2.stderr]).toEqual([1, '', noStoreLine(empty)]);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('the default data dir (./.vaultgate) is not created either', async () => {
    requireBuiltCli();
    const cwd = realpathSync(newDir());
    const r = await runCli(['admin', 'org', 'create', 'acme'], { cwd, timeoutMs: 15_000 });
    expect([r.code, r.stdout, r.stderr]).toEqual([1, '', noStoreLine(join(cwd, '.vaultgate'))]);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

async function occupyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as { port: number }).port, server };
}

describe('serve on a port already in use', () => {
  it.each(['VAULTGATE_API_ADDR', 'VAULTGATE_PROXY_ADDR'])('%s: one line on stderr, exit 1, the store closed', async (setting) => {
    requireBuiltCli();
    const { port } = await occupyPort();
    const dir = newDir();
    const r = await runCli(['serve'], { env: { ...ephemeralAddrs, VAULTGATE_DATA_DIR: dir, VAULTGATE_ADMIN_KEY: newAdminKey(), [setting]: `127.0.0.1:${port}` }, timeoutMs: 20_000 });
    expect([r.code, r.signal, r.stderr], r.stdout).toEqual([1, null, `vaultgate: cannot listen on 127.0.0.1:${port} (${setting}): address already in use\n`]);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stdout).not.toMatch(/vaultgate api listening/);
    // Closed, not abandoned: SQLite removes its -wal and -shm files when the last connection closes.
    expect(readdirSync(dir).sort()).toEqual(['master.key', 'vaultgate.db']);
  });
});

describe.skipIf(!pgAvailable())('on PostgreSQL', () => {
  async function tableCount(url: string): Promise<number> {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const r = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')");
      return r.rows[0]!.n;
    } finally {
      await c.end();
    }
  }

  const location = (url: string) => {
    const u = new URL(url);
    return `the database ${u.protocol}//${u.host}${u.pathname}`;
  };

  it('admin commands on a database without a store create no table; one that does not exist says the same', { timeout: 60_000 }, async () => {
    requireBuiltCli();
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const dataDir = join(newDir(), 'data');
    const env = { VAULTGATE_DATABASE_URL: db.url, VAULTGATE_DATA_DIR: dataDir, VAULTGATE_MASTER_KEY: randomBytes(32).toString('base64') };
    for (const args of [adminCommands[0]!, adminCommands[3]!]) {
      const r = await runCli(args, { env: { ...ephemeralAddrs, ...env } });
      expect([r.code, r.stdout, r.stderr]).toEqual([1, '', noStoreLine(location(db.url))]);
    }
    expect(await tableCount(db.url)).toBe(0);
    expect(existsSync(dataDir)).toBe(false);

    const gone = new URL(db.url);
    gone.pathname = '/vg_no_such_database';
    const r = await runCli(adminCommands[0]!, { env: { ...ephemeralAddrs, ...env, VAULTGATE_DATABASE_URL: gone.toString() } });
    expect([r.code, r.stdout, r.stderr]).toEqual([1, '', noStoreLine(location(gone.toString()))]);
  });

  it('rotate-master-key refuses while a node serves the database, and goes ahead once it stopped', { timeout: 60_000 }, async () => {
    requireBuiltCli();
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const store = { VAULTGATE_DATABASE_URL: db.url, VAULTGATE_MASTER_KEY: randomBytes(32).toString('base64') };
    const node = await serve({ ...store, VAULTGATE_DATA_DIR: newDir(), VAULTGATE_ADMIN_KEY: newAdminKey() });
    const rotateEnv = { ...store, VAULTGATE_DATA_DIR: newDir() };

    expectRefused(await rotate(rotateEnv), node.child.pid);
    expect(readdirSync(rotateEnv.VAULTGATE_DATA_DIR)).toEqual([]);

    node.child.kill('SIGTERM');
    expect(await exitWithin(node.exited, 10_000)).toBe(0);
    const rotated = await rotate(rotateEnv);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout)).toMatchObject({ rewrapped: 0, pendingFile: join(rotateEnv.VAULTGATE_DATA_DIR, 'master.key.next') });
  });
});
