// Chain tampering with direct database access: every edit, deletion, reorder, truncation,
// re-computation without the audit key and forged insert is named by GET /audit/verify.
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { AuditEvent } from '../../src/contract/schemas.js';
import { chainHash } from '../../src/core/audit-chain.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { openVaultgate } from '../../src/main.js';
import { toAuditEvent } from '../../src/storage/rows.js';
import { newAdminKey, startTestServer, tempDir } from '../helpers/server.js';
import { ephemeralAddrs } from './helpers.js';

const adminKey = newAdminKey();
const pristine = tempDir('vg-chain-');
const dirs = [pristine];
let events = 0;
let head = '';

beforeAll(async () => {
  const srv = await startTestServer({ dataDir: pristine, apiKey: adminKey, env: ephemeralAddrs });
  const vault = await srv.call('POST', '/vaults', { body: { name: 'chain' } });
  for (let i = 0; i < 6; i++) {
    const s = await srv.call('POST', `/vaults/${vault.json.id}/secrets`, { body: { env_key: `K${i}`, value: `v-${i}`, revealable: i % 2 === 0 } });
    await srv.call('PATCH', `/secrets/${s.json.id}`, { body: { value: `w-${i}` } });
    await srv.call('POST', `/secrets/${s.json.id}/reveal`);
  }
  const verify = await srv.call('GET', '/audit/verify');
  await srv.close();
  expect(verify.json.ok).toBe(true);
  events = verify.json.events;
  head = verify.json.head;
  expect(events).toBeGreaterThanOrEqual(20);
});

afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of the pristine data dir (after a clean stop the database is one file). */
function copyPristine(): string {
  const dir = tempDir('vg-chain-case-');
  dirs.push(dir);
  for (const f of ['vaultgate.db', 'master.key']) copyFileSync(join(pristine, f), join(dir, f));
  return dir;
}

/** What an attacker holding the database can do: drop the triggers, then write. */
function tamper(dir: string, fn: (db: Database.Database) => void): void {
  const db = new Database(join(dir, 'vaultgate.db'));
  try {
    db.exec('DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;');
    db.transaction(() => fn(db))();
  } finally {
    db.close();
  }
}

function readChain(db: Database.Database): AuditEvent[] {
  return (db.prepare('SELECT * FROM audit_events ORDER BY seq').all() as Record<string, unknown>[]).map(toAuditEvent);
}

async function verifyOn(dir: string, query = ''): Promise<{ ok: boolean; events: number; head: string | null; head_seq: number; broken_at?: number; reason?: string }> {
  const srv = await startTestServer({ dataDir: dir, apiKey: adminKey, env: ephemeralAddrs });
  try {
    const res = await srv.call('GET', `/audit/verify${query}`);
    expect(res.status, res.text).toBe(200);
    return res.json;
  } finally {
    await srv.close();
  }
}

type Hasher = (prev: string, event: AuditEvent) => string;
const plainSha: Hasher = (prev, e) => {
  const { hash: _h, prev_hash: _p, ...fields } = e;
  return createHash('sha256').update(prev).update('\n').update(canonicalJson(fields)).digest('hex');
};
const hmacWith = (key: Buffer): Hasher => (prev, e) => chainHash(key, prev, e);

/** Edits event `seq` (details), then re-links and re-hashes it and every later event with `hasher`. */
function editAndRecompute(db: Database.Database, seq: number, hasher: Hasher): void {
  const chain = readChain(db);
  let prev = chain[seq - 2]?.hash ?? '0'.repeat(64);
  const update = db.prepare('UPDATE audit_events SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?');
  for (const e of chain.slice(seq - 1)) {
    const event = e.seq === seq ? { ...e, details: { ...e.details, note: 'rewritten history' } } : e;
    const hash = hasher(prev, { ...event, prev_hash: prev });
    update.run(JSON.stringify(event.details), prev, hash, e.seq);
    prev = hash;
  }
}

describe('audit chain tampering', () => {
  it('a pristine copy verifies and reports its head', async () => {
    expect(await verifyOn(copyPristine())).toEqual({ ok: true, events, head, head_seq: events });
  });

  it('(a) an edited details field is named with its seq', async () => {
    const dir = copyPristine();
    tamper(dir, (db) => db.prepare("UPDATE audit_events SET details = json_set(details, '$.version', 99) WHERE seq = 7").run());
    expect(await verifyOn(dir)).toMatchObject({ ok: false, broken_at: 7, events: 6, reason: expect.stringMatching(/altered/) });
  });

  it('(a) an edited event type is named with its seq', async () => {
    const dir = copyPristine();
    tamper(dir, (db) => db.prepare("UPDATE audit_events SET type = 'vault.updated' WHERE seq = 4").run());
    expect(await verifyOn(dir)).toMatchObject({ ok: false, broken_at: 4, reason: expect.stringMatching(/altered/) });
  });

  it('(b) a deleted middle event is a missing event at its seq', async () => {
    const dir = copyPristine();
    tamper(dir, (db) => db.prepare('DELETE FROM audit_events WHERE seq = 9').run());
    expect(await verifyOn(dir)).toMatchObject({ ok: false, broken_at: 9, events: 8, reason: 'missing event' });
  });

  it('(c) two events with swapped seq break the chain at the first of them', async () => {
    const dir = copyPristine();
    tamper(dir, (db) => {
      const set = db.prepare('UPDATE audit_events SET seq = ? WHERE seq = ?');
      set.run(-1, 5);
      set.run(5, 12);
      set.run(12, -1);
    });
    expect(await verifyOn(dir)).toMatchObject({ ok: false, broken_at: 5, events: 4 });
  });

  it('(d) a truncated tail verifies as a prefix, but not against the anchored head', async () => {
    const dir = copyPristine();
    tamper(dir, (db) => db.prepare('DELETE FROM audit_events WHERE seq > ?').run(events - 4));
    const prefix = await verifyOn(dir);
    expect(prefix).toMatchObject({ ok: true, events: events - 4, head_seq: events - 4 });
    expect(prefix.head).not.toBe(head);
    expect(await verifyOn(dir, `?expected_head=${head}`)).toMatchObject({ ok: false, events: events - 4, reason: expect.stringMatching(/expected head/) });
    // Control: the head the truncated chain really has is accepted.
    expect(await verifyOn(dir, `?expected_head=${prefix.head}`)).toMatchObject({ ok: true });
  });

  it('(e) an edit re-hashed with plain SHA-256 breaks at the edited seq', async () => {
    const dir = copyPristine();
    tamper(dir, (db) => editAndRecompute(db, 10, plainSha));
    expect(await verifyOn(dir)).toMatchObject({ ok: false, broken_at: 10, events: 9, reason: expect.stringMatching(/altered/) });
  });

  it('(e) an edit re-hashed with a wrong HMAC key breaks at the edited seq', async () => {
    const dir = copyPristine();
    const guessedKey = createHash('sha256').update(adminKey).digest(); // any key but the real one
    tamper(dir, (db) => editAndRecompute(db, 10, hmacWith(guessedKey)));
    expect(await verifyOn(dir)).toMatchObject({ ok: false, broken_at: 10, reason: expect.stringMatching(/altered/) });
  });

  it('(e) control: the same re-hash with the real audit key would pass, so only the key protects the chain', async () => {
    const dir = copyPristine();
    const vg = await openVaultgate(loadConfig({ VAULTGATE_DATA_DIR: dir }));
    const auditKey = vg.keyring.auditKey;
    await vg.close();
    tamper(dir, (db) => editAndRecompute(db, 10, hmacWith(auditKey)));
    expect(await verifyOn(dir)).toEqual({ ok: true, events, head: expect.not.stringMatching(head), head_seq: events });
  });

  it('(f) a forged event appended after the head is named', async () => {
    const dir = copyPristine();
    tamper(dir, (db) => {
      const last = readChain(db).at(-1)!;
      const forged: AuditEvent = { ...last, seq: last.seq + 1, id: `evt_${randomBytes(8).toString('hex')}`, type: 'secret.deleted', prev_hash: last.hash, hash: '' };
      forged.hash = plainSha(last.hash, forged);
      db.prepare(
        `INSERT INTO audit_events (org_id, seq, id, type, time, actor, vault_id, secret_id, agent_id, target_id, request_id, source_ip, outcome, reason, details, prev_hash, hash)
         VALUES (@org_id, @seq, @id, @type, @time, @actor, @vault_id, @secret_id, @agent_id, @target_id, @request_id, @source_ip, @outcome, @reason, @details, @prev_hash, @hash)`,
      ).run({ ...forged, details: JSON.stringify(forged.details) });
    });
    expect(await verifyOn(dir)).toMatchObject({ ok: false, broken_at: events + 1, events, reason: expect.stringMatching(/altered/) });
  });

  it('(f) a forged event inserted in the middle (later events shifted) is named', async () => {
    const dir = copyPristine();
    tamper(dir, (db) => {
      const chain = readChain(db);
      db.prepare('UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 8').run();
      db.prepare('UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1008').run();
      const copy = chain[2]!; // replay event 3 as seq 8, linked to event 7
      db.prepare(
        `INSERT INTO audit_events (org_id, seq, id, type, time, actor, vault_id, secret_id, agent_id, target_id, request_id, source_ip, outcome, reason, details, prev_hash, hash)
         SELECT org_id, 8, 'evt_forged', type, time, actor, vault_id, secret_id, agent_id, target_id, request_id, source_ip, outcome, reason, details, ?, hash FROM audit_events WHERE seq = ?`,
      ).run(chain[6]!.hash, copy.seq);
    });
    expect(await verifyOn(dir)).toMatchObject({ ok: false, broken_at: 8, events: 7 });
  });

  it('with the triggers in place, UPDATE and DELETE of audit events are refused', () => {
    const db = new Database(join(copyPristine(), 'vaultgate.db'));
    try {
      expect(() => db.prepare("UPDATE audit_events SET type = 'x' WHERE seq = 1").run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit_events WHERE seq = 1').run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit_events').run()).toThrow(/append-only/);
      expect((db.prepare('SELECT COUNT(*) AS n FROM audit_events').get() as { n: number }).n).toBe(events);
    } finally {
      db.close();
    }
  });
});
