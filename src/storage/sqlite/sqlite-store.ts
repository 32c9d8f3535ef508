// The embedded Store on better-sqlite3: WAL, synchronous=FULL, one transaction per method.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Store } from '../store.js';
import type { AuditDraft, AuditListener, KeyringRow } from '../types.js';
import { migrate } from './migrations.js';
import { createReadCache } from './read-cache.js';
import { createSqliteAgentMethods } from './sqlite-agents.js';
import { listAudit, prepareAuditAppend } from './sqlite-audit.js';
import { createSqliteMetaMethods, ensureKeyring } from './sqlite-meta.js';
import { createSqliteNodeMethods } from './sqlite-nodes.js';
import { createSqliteRateCounters } from './sqlite-rates.js';
import { createSqliteSecretMethods } from './sqlite-secrets.js';
import { createSqliteTokenMethods } from './sqlite-tokens.js';
import type { Tx } from './tx.js';
import { createWalSync } from './wal-sync.js';

export { inspectSqliteStore } from './sqlite-meta.js';

export interface SqliteStoreOptions {
  path: string;
  auditKey: Buffer;
  /** Written on first open; on later opens it must equal the stored one. */
  keyring: KeyringRow;
}

export function openSqliteStore(opts: SqliteStoreOptions): Store {
  mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
  const db = new Database(opts.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  ensureKeyring(db, opts.keyring);

  const listeners = new Set<AuditListener>();
  const appendInTx = prepareAuditAppend(db, opts.auditKey);
  const cache = createReadCache(db);

  const announce = (announced: [string, number][]) => {
    for (const [org, seq] of announced) for (const l of listeners) l(org, seq);
  };

  /** Runs `fn` and its audit drafts in one IMMEDIATE transaction; returns what to announce. */
  function transact<T>(fn: () => Tx<T>): { result: T; announced: [string, number][] } {
    let announced: [string, number][] = [];
    const result = db
      .transaction(() => {
        const r = fn();
        announced = appendInTx(r.audit);
        return r.result;
      })
      .immediate();
    return { result, announced };
  }

  /** One durable transaction (`synchronous = FULL`); then drops cached reads and wakes live listeners. */
  function write<T>(fn: () => Tx<T>): T {
    let done: { result: T; announced: [string, number][] };
    try {
      done = transact(fn);
    } finally {
      cache.invalidate();
    }
    announce(done.announced);
    return done.result;
  }

  /**
   * Group commit for stand-alone audit appends (reveals, reads, proxy injections). Appends wait in
   * `pendingAudit` and are committed together, without waiting for the disk, in one transaction;
   * their callers are answered (and live listeners woken) only after the WAL fsync that follows
   * (see wal-sync.ts), which runs on the thread pool. While one fsync runs, new appends keep
   * collecting; they are committed and synced together as soon as it ends, so the batch grows with
   * the load. A failing batch is retried one caller at a time, so one bad record fails only its own
   * request.
   */
  const walSync = createWalSync(opts.path);
  type PendingAppend = { audit: AuditDraft[]; resolve: () => void; reject: (err: unknown) => void };
  let pendingAudit: PendingAppend[] = [];
  let syncing: Promise<void> | null = null;

  /** Commits the pending appends (relaxed); returns the callers whose records landed and what to announce. */
  function commitPending(): { committed: PendingAppend[]; announced: [string, number][] } {
    const batch = pendingAudit;
    pendingAudit = [];
    db.pragma('synchronous = NORMAL');
    try {
      try {
        return { committed: batch, announced: transact(() => ({ result: undefined, audit: batch.flatMap((b) => b.audit) })).announced };
      } catch {
        const committed: PendingAppend[] = [];
        const announced: [string, number][] = [];
        for (const append of batch) {
          try {
            announced.push(...transact(() => ({ result: undefined, audit: append.audit })).announced);
            committed.push(append);
          } catch (err) {
            append.reject(err);
          }
        }
        return { committed, announced };
      }
    } finally {
      db.pragma('synchronous = FULL');
    }
  }

  function flushAudit(): void {
    if (syncing || pendingAudit.length === 0) return;
    const { committed, announced } = commitPending();
    if (committed.length === 0) return;
    syncing = walSync.sync().then(
      () => {
        announce(announced);
        for (const c of committed) c.resolve();
      },
      (err: unknown) => {
        for (const c of committed) c.reject(err);
      },
    );
    void syncing.finally(() => {
      syncing = null;
      flushAudit();
    });
  }

  /** Settles every append made so far (used when closing). */
  async function drainAudit(): Promise<void> {
    while (syncing || pendingAudit.length > 0) {
      flushAudit();
      await syncing;
    }
  }

  const store: Store = {
    ...createSqliteSecretMethods(db, write, cache),
    ...createSqliteAgentMethods(db, write, cache),
    ...createSqliteMetaMethods(db, write),
    ...createSqliteNodeMethods(db),
    ...createSqliteRateCounters().methods,
    ...createSqliteTokenMethods(db),
    backend: 'sqlite',
    async close() {
      await drainAudit();
      db.close();
      walSync.close();
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },

    appendAudit(audit) {
      return new Promise<void>((resolve, reject) => {
        pendingAudit.push({ audit, resolve, reject });
        if (pendingAudit.length === 1) setImmediate(flushAudit);
      });
    },
    async listAudit(orgId, query) {
      return listAudit(db, orgId, query);
    },
    onAudit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return store;
}
