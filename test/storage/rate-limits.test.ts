// Rate-limit slots on both backends: one behaviour, plus several nodes on PostgreSQL and bounded memory on SQLite.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIdFactory } from '../../src/core/ids.js';
import type { RateLimit } from '../../src/core/rate-limit.js';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.js';
import type { RateKey } from '../../src/storage/rate-store.js';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { createSqliteRateCounters } from '../../src/storage/sqlite/sqlite-rates.js';
import type { Store } from '../../src/storage/store.js';
import { createTestDatabase, pgAvailable } from '../helpers/postgres.js';
import { tempDir } from '../helpers/server.js';

const auditKey = Buffer.alloc(32, 3);
const keyring = { kek_id: 'mk_test', wrapped_root: Buffer.from('root') };
const ids = createIdFactory();
const created = '2026-04-25T11:00:00.000Z';
const at = (hms: string) => new Date(`2026-04-25T${hms}Z`);
const perMinute = (requests: number): RateLimit => ({ requests, per: 'minute' });

/** An org with one vault, two secrets and two agents: the foreign keys PostgreSQL's counters point at. */
async function seed(store: Store) {
  const orgId = ids('org');
  await store.createOrg({ id: orgId, name: `acme-${orgId}`, is_default: false, created_at: created }, { id: ids('apiKey'), org_id: orgId, name: null, hash: `h-${orgId}`, created_at: created, revoked_at: null }, []);
  const vaultId = ids('vault');
  await store.createVault({ id: vaultId, org_id: orgId, name: 'v', description: null, created_at: created, updated_at: created }, []);
  const secrets: string[] = [];
  for (const envKey of ['ONE', 'TWO']) {
    const id = ids('secret');
    const row = { id, org_id: orgId, vault_id: vaultId, env_key: envKey, allowed_domains: [], inject_in: ['header' as const], description: null, labels: {}, revealable: false, version: 1, created_at: created, updated_at: created, type: 'static' as const, rules: null, rate_limit: null, signing: null };
    const version = { secret_id: id, version: 1, created_at: created, actor: 'admin', changed: ['value'], allowed_domains: [], inject_in: ['header' as const], description: null, kek_id: 'mk_test', wrapped_key: Buffer.from('w'), ciphertext: Buffer.from('c'), fingerprint: 'f' };
    expect(await store.createSecret(row, version, [])).toMatchObject({ ok: true });
    secrets.push(id);
  }
  const agents: string[] = [];
  for (const name of ['a', 'b']) {
    const id = ids('agent');
    expect(await store.createAgent({ id, org_id: orgId, name, env: {}, status: 'deployed', created_at: created, updated_at: created }, [], [], [])).toMatchObject({ ok: true });
    agents.push(id);
  }
  const key = (secret = 0, agent = 0): RateKey => ({ orgId, secretId: secrets[secret]!, agentId: agents[agent]! });
  return { orgId, secrets, agents, key };
}

type Opened = { store: Store; cleanup: () => Promise<void> };

function runRateContract(name: string, open: () => Promise<Opened>): void {
  describe(`rate slots: ${name}`, () => {
    let opened: Opened;
    let store: Store;
    let key: Awaited<ReturnType<typeof seed>>['key'];
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      ({ key } = await seed(store));
    });
    afterEach(async () => {
      await store.close();
      await opened.cleanup();
    });

    it('N takes succeed, counting down; the next is refused until the window ends; a new window starts over', async () => {
      const takes = [];
      for (const s of ['11:45:20.000', '11:45:21.000', '11:45:22.000', '11:45:20.000', '11:45:59.001']) takes.push(await store.takeRateSlot(key(), perMinute(3), at(s)));
      expect(takes).toEqual([
        { ok: true, remaining: 2 },
        { ok: true, remaining: 1 },
        { ok: true, remaining: 0 },
        { ok: false, retryAfterSeconds: 40 },
        { ok: false, retryAfterSeconds: 1 },
      ]);
      expect(await store.takeRateSlot(key(), perMinute(3), at('11:46:00.000'))).toEqual({ ok: true, remaining: 2 });
      expect(await store.takeRateSlot(key(), { requests: 1, per: 'second' }, at('11:46:00.500'))).toEqual({ ok: true, remaining: 0 });
      expect(await store.takeRateSlot(key(), { requests: 1, per: 'second' }, at('11:46:00.999'))).toEqual({ ok: false, retryAfterSeconds: 1 });
    });

    it('peek gives the answer a take would, and takes nothing', async () => {
      const now = at('11:45:30.000');
      expect(await store.peekRateSlot(key(), perMinute(2), now)).toEqual({ ok: true, remaining: 1 });
      for (let i = 0; i < 5; i++) expect(await store.peekRateSlot(key(), perMinute(2), now)).toEqual({ ok: true, remaining: 1 });
      expect(await store.takeRateSlot(key(), perMinute(2), now)).toEqual({ ok: true, remaining: 1 });
      expect(await store.peekRateSlot(key(), perMinute(2), now)).toEqual({ ok: true, remaining: 0 });
      expect(await store.takeRateSlot(key(), perMinute(2), now)).toEqual({ ok: true, remaining: 0 });
      expect(await store.peekRateSlot(key(), perMinute(2), now)).toEqual({ ok: false, retryAfterSeconds: 30 });
      expect(await store.takeRateSlot(key(), perMinute(2), now)).toEqual({ ok: false, retryAfterSeconds: 30 });
      // Peeking from the next window sees the count start over, and changes nothing.
      expect(await store.peekRateSlot(key(), perMinute(2), at('11:46:00.000'))).toEqual({ ok: true, remaining: 1 });
      expect(await store.takeRateSlot(key(), perMinute(2), now)).toEqual({ ok: false, retryAfterSeconds: 30 });
    });

    it('each (secret, agent) has its own count', async () => {
      const now = at('11:45:00.000');
      expect(await store.takeRateSlot(key(0, 0), perMinute(1), now)).toEqual({ ok: true, remaining: 0 });
      expect(await store.takeRateSlot(key(0, 0), perMinute(1), now)).toEqual({ ok: false, retryAfterSeconds: 60 });
      expect(await store.takeRateSlot(key(0, 1), perMinute(1), now)).toEqual({ ok: true, remaining: 0 });
      expect(await store.takeRateSlot(key(1, 0), perMinute(1), now)).toEqual({ ok: true, remaining: 0 });
      expect(await store.takeRateSlot(key(1, 1), perMinute(1), now)).toEqual({ ok: true, remaining: 0 });
      expect(await store.takeRateSlot(key(1, 1), perMinute(1), now)).toEqual({ ok: false, retryAfterSeconds: 60 });
    });

    it('an edited limit applies at the next take: lowered refuses at once, raised lets the difference through', async () => {
      const now = at('11:45:10.000');
      for (let i = 0; i < 3; i++) await store.takeRateSlot(key(), perMinute(5), now);
      expect(await store.peekRateSlot(key(), perMinute(2), now)).toEqual({ ok: false, retryAfterSeconds: 50 });
      expect(await store.takeRateSlot(key(), perMinute(2), now)).toEqual({ ok: false, retryAfterSeconds: 50 });
      expect(await store.takeRateSlot(key(), perMinute(3), now)).toEqual({ ok: false, retryAfterSeconds: 50 });
      expect(await store.takeRateSlot(key(), perMinute(5), now)).toEqual({ ok: true, remaining: 1 });
      // A changed period starts a fresh count in the new period's window.
      expect(await store.takeRateSlot(key(), { requests: 4, per: 'hour' }, now)).toEqual({ ok: true, remaining: 3 });
      expect(await store.takeRateSlot(key(), { requests: 1, per: 'hour' }, now)).toEqual({ ok: false, retryAfterSeconds: 890 });
    });
  });
}

runRateContract('sqlite', async () => {
  const dir = tempDir('vg-rate-');
  const store = openSqliteStore({ path: join(dir, 'vaultgate.db'), auditKey, keyring });
  return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

describe('rate slots on SQLite: memory', () => {
  it('holds at most the cap of counters; expired ones go first, and a forgotten pair starts over', async () => {
    const { methods: counters, size } = createSqliteRateCounters(1_000);
    const k = (i: number): RateKey => ({ orgId: 'org_1', secretId: `sec_${i}`, agentId: 'agt_1' });
    const now = at('11:45:00.000');
    for (let i = 0; i < 20_000; i++) await counters.takeRateSlot(k(i), perMinute(1), now);
    expect(size()).toBe(1_000);
    // The 1,000 most recent pairs are still counted; the older ones were forgotten (the cap's price).
    expect(await counters.peekRateSlot(k(19_999), perMinute(1), now)).toEqual({ ok: false, retryAfterSeconds: 60 });
    expect(await counters.peekRateSlot(k(19_000), perMinute(1), now)).toEqual({ ok: false, retryAfterSeconds: 60 });
    expect(await counters.peekRateSlot(k(18_999), perMinute(1), now)).toEqual({ ok: true, remaining: 0 });
    // A minute later every counter held is expired: the next take drops them all.
    expect(await counters.takeRateSlot(k(0), perMinute(1), at('11:46:00.000'))).toEqual({ ok: true, remaining: 0 });
    expect(size()).toBe(1);
  });

  it('a counter taken again moves to the back and outlives newer idle ones', async () => {
    const { methods: counters, size } = createSqliteRateCounters(3);
    const k = (i: number): RateKey => ({ orgId: 'org_1', secretId: `sec_${i}`, agentId: 'agt_1' });
    const now = at('11:45:00.000');
    for (const i of [1, 2, 3, 1, 4]) await counters.takeRateSlot(k(i), perMinute(5), now);
    expect(size()).toBe(3);
    expect(await counters.peekRateSlot(k(1), perMinute(5), now)).toEqual({ ok: true, remaining: 2 });
    expect(await counters.peekRateSlot(k(2), perMinute(5), now)).toEqual({ ok: true, remaining: 4 });
    expect(await counters.peekRateSlot(k(3), perMinute(5), now)).toEqual({ ok: true, remaining: 3 });
  });
});

// Skipped only where no PostgreSQL can be had (the global setup then warns loudly); CI sets VAULTGATE_TEST_REQUIRE_PG=1, which fails instead of skipping.
describe.skipIf(!pgAvailable())('rate slots on PostgreSQL', () => {
  runRateContract('postgres', async () => {
    const db = await createTestDatabase();
    const store = await openPostgresStore({ url: db.url, auditKey, keyring, poolSize: 4 });
    return { store, cleanup: () => db.drop() };
  });

  describe('several nodes on one database', () => {
    const opened: Store[] = [];
    const dropped: (() => Promise<void>)[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
      for (const drop of dropped.splice(0)) await drop();
    });
    async function database(): Promise<string> {
      const db = await createTestDatabase();
      dropped.push(() => db.drop());
      return db.url;
    }
    async function node(url: string): Promise<Store> {
      const store = await openPostgresStore({ url, auditKey, keyring, poolSize: 8 });
      opened.push(store);
      return store;
    }
    async function countRows(url: string): Promise<number> {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM rate_windows')).rows[0]!.n;
      } finally {
        await c.end();
      }
    }

    it('50 concurrent takes split across two nodes against a limit of 20: exactly 20 succeed', async () => {
      const url = await database();
      const [a, b] = [await node(url), await node(url)];
      const { key } = await seed(a);
      const now = at('11:45:15.000');
      const verdicts = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).takeRateSlot(key(), perMinute(20), now)));
      const remaining = verdicts.flatMap((v) => (v.ok ? [v.remaining] : []));
      expect(remaining.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(verdicts.filter((v) => !v.ok)).toEqual(Array(30).fill({ ok: false, retryAfterSeconds: 45 }));
      expect(await a.peekRateSlot(key(), perMinute(20), now)).toEqual({ ok: false, retryAfterSeconds: 45 });
      expect(await b.peekRateSlot(key(), perMinute(20), now)).toEqual({ ok: false, retryAfterSeconds: 45 });
    });

    it('deleting a secret or an agent deletes its counters; a take racing the deletion is let through', async () => {
      const url = await database();
      const store = await node(url);
      const { orgId, secrets, agents, key } = await seed(store);
      const now = at('11:45:00.000');
      for (const [s, g] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) await store.takeRateSlot(key(s, g), perMinute(1), now);
      expect(await countRows(url)).toBe(4);
      expect(await store.deleteSecret(orgId, secrets[0]!, null, [])).toMatchObject({ ok: true });
      expect(await countRows(url)).toBe(2);
      expect(await store.deleteAgent(orgId, agents[1]!, [])).toBe(true);
      expect(await countRows(url)).toBe(1);
      expect(await store.takeRateSlot(key(0, 0), perMinute(1), now)).toEqual({ ok: true, remaining: 0 });
      expect(await countRows(url)).toBe(1);
    });
  });
});
