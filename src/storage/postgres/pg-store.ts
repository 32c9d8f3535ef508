// The shared Store on PostgreSQL (pg pool): one transaction per method, for any number of nodes.
import pg from 'pg';
import type { Store } from '../store.js';
import type { AuditDraft, KeyringRow } from '../types.js';
import { migrate } from './migrations.js';
import { createPgAgentMethods } from './pg-agents.js';
import { appendInTx, listAudit } from './pg-audit.js';
import { startAuditHub, type AuditHub } from './pg-listen.js';
import { createPgMetaMethods, ensureKeyring } from './pg-meta.js';
import { createPgNodeMethods } from './pg-nodes.js';
import { createPgRateMethods } from './pg-rates.js';
import { createPgSecretMethods } from './pg-secrets.js';
import { createPgTokenMethods } from './pg-tokens.js';
import { isUniqueViolation, rowsOf, transaction, type Write } from './pg-tx.js';

export { inspectPostgresStore } from './pg-meta.js';

export interface PostgresStoreOptions {
  url: string;
  auditKey: Buffer;
  /** Written on first open; on later opens (by any node) it must equal the stored one. */
  keyring: KeyringRow;
  poolSize?: number;
}

export async function openPostgresStore(opts: PostgresStoreOptions): Promise<Store> {
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, connectionTimeoutMillis: 10_000, application_name: 'vaultgate' });
  // An idle pooled connection that dies (database restart) is dropped by the pool; unheard, its
  // error event would crash the process. The next checkout opens a fresh connection.
  pool.on('error', () => undefined);
  let hub: AuditHub;
  try {
    await migrate(pool);
    await ensureKeyring(pool, opts.keyring);
    hub = await startAuditHub({ url: opts.url, pool });
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }

  const write: Write = async (fn, conflicts) => {
    let announced: [string, number][] = [];
    try {
      const result = await transaction(pool, async (c) => {
        const work = await fn(c);
        announced = await appendInTx(c, opts.auditKey, work.audit);
        return work.result;
      });
      // Committed: wake this node's listeners now; other nodes hear the NOTIFY sent at COMMIT.
      hub.announce(announced);
      return result;
    } catch (err) {
      if (conflicts && isUniqueViolation(err) && Object.hasOwn(conflicts, err.constraint)) return conflicts[err.constraint]!;
      throw err;
    }
  };

  /**
   * Group commit for stand-alone audit appends (reveals, reads, proxy injections), as in SQLite:
   * callers of one event-loop turn share a transaction, batches run one after another so the
   * chain keeps call order, and a failing batch is retried one caller at a time.
   */
  type Pending = { audit: AuditDraft[]; resolve: () => void; reject: (err: unknown) => void };
  let pendingAudit: Pending[] = [];
  let draining: Promise<void> | null = null;
  async function drainAudit(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (pendingAudit.length > 0) {
      const batch = pendingAudit;
      pendingAudit = [];
      try {
        await write(async () => ({ result: undefined, audit: batch.flatMap((b) => b.audit) }));
        for (const b of batch) b.resolve();
      } catch {
        for (const b of batch) {
          await write(async () => ({ result: undefined, audit: b.audit })).then(b.resolve, b.reject);
        }
      }
    }
    draining = null;
  }

  let closing: Promise<void> | null = null;

  const store: Store = {
    ...createPgSecretMethods(pool, write),
    ...createPgAgentMethods(pool, write),
    ...createPgMetaMethods(pool, write),
    ...createPgNodeMethods(pool),
    ...createPgRateMethods(pool),
    ...createPgTokenMethods(pool),
    backend: 'postgres',
    close() {
      closing ??= (async () => {
        await draining;
        await hub.close();
        await pool.end();
      })();
      return closing;
    },
    async ping() {
      await rowsOf(pool, 'SELECT 1');
    },

    appendAudit(audit) {
      return new Promise<void>((resolve, reject) => {
        pendingAudit.push({ audit, resolve, reject });
        draining ??= drainAudit();
      });
    },
    async listAudit(orgId, query) {
      return listAudit(pool, orgId, query);
    },
    /**
     * Wake-ups arrive after COMMIT: at once for this node's own writes, and through NOTIFY
     * (one round trip later) for every other node's.
     */
    onAudit(listener) {
      return hub.add(listener);
    },
  };
  return store;
}
