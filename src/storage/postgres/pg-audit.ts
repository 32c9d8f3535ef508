// The audit chain on PostgreSQL: appends serialized per org by a row lock on its chain head.
import type pg from 'pg';
import type { AuditEvent } from '../../contract/schemas.js';
import { genesisHash, sealEvent } from '../../core/audit-chain.js';
import { int, rowDecoder, text, toAuditEvent } from '../rows.js';
import type { AuditDraft, AuditQuery } from '../types.js';
import { rowsOf } from './pg-tx.js';

export const auditChannel = 'vaultgate_audit';

const columns = ['org_id', 'seq', 'id', 'type', 'time', 'actor', 'vault_id', 'secret_id', 'agent_id', 'target_id', 'request_id', 'source_ip', 'outcome', 'reason', 'details', 'prev_hash', 'hash'] as const;

const toHead = rowDecoder<{ org_id: string; seq: number; hash: string }>({ org_id: text, seq: int, hash: text });

/** Rows per INSERT: 17 parameters each stays well under the protocol's 65,535. */
const insertChunk = 500;

/**
 * Appends inside the caller's transaction. Each org's head row is locked (created first if
 * this is the org's first event) before its next seq is taken, so a concurrent writer on any
 * node waits for this commit and then continues from the new head: the chain cannot fork.
 * Heads are locked in org_id order, so two transactions spanning several orgs cannot deadlock.
 * Each event also queues a NOTIFY, which PostgreSQL delivers to every node only at COMMIT.
 * Returns the (org, seq) pairs written, in order.
 */
export async function appendInTx(c: pg.PoolClient, auditKey: Buffer, drafts: AuditDraft[]): Promise<[string, number][]> {
  if (drafts.length === 0) return [];
  const orgs = [...new Set(drafts.map((d) => d.org_id))];
  await rowsOf(c, 'INSERT INTO audit_heads (org_id, seq, hash) SELECT o, 0, $2::text FROM unnest($1::text[]) AS o ON CONFLICT (org_id) DO NOTHING', [orgs, genesisHash]);
  const locked = await rowsOf(c, 'SELECT org_id, seq, hash FROM audit_heads WHERE org_id = ANY($1::text[]) ORDER BY org_id FOR UPDATE', [orgs]);
  const heads = new Map(locked.map(toHead).map((h) => [h.org_id, { seq: h.seq, hash: h.hash }]));

  const events: AuditEvent[] = drafts.map((draft) => {
    const head = heads.get(draft.org_id) ?? { seq: 0, hash: genesisHash };
    const event = sealEvent(auditKey, head.hash, { ...draft, seq: head.seq + 1 });
    heads.set(draft.org_id, { seq: event.seq, hash: event.hash });
    return event;
  });

  for (let i = 0; i < events.length; i += insertChunk) {
    const chunk = events.slice(i, i + insertChunk);
    const params: unknown[] = [];
    const tuples = chunk.map((e) => {
      const values = columns.map((col) => (col === 'details' ? JSON.stringify(e.details) : e[col]));
      const start = params.push(...values) - values.length;
      return `(${values.map((_, j) => `$${start + j + 1}`).join(', ')})`;
    });
    // pg_notify per row: one round trip queues every wake-up with the rows it announces.
    await rowsOf(
      c,
      `INSERT INTO audit_events (${columns.join(', ')}) VALUES ${tuples.join(', ')}
       RETURNING pg_notify('${auditChannel}', org_id || ':' || seq)`,
      params,
    );
  }

  const final = [...heads];
  await rowsOf(
    c,
    'UPDATE audit_heads h SET seq = n.seq, hash = n.hash FROM unnest($1::text[], $2::bigint[], $3::text[]) AS n(org_id, seq, hash) WHERE h.org_id = n.org_id',
    [final.map(([org]) => org), final.map(([, h]) => h.seq), final.map(([, h]) => h.hash)],
  );
  return events.map((e) => [e.org_id, e.seq]);
}

export async function listAudit(pool: pg.Pool, orgId: string, query: AuditQuery): Promise<AuditEvent[]> {
  const params: unknown[] = [orgId, query.afterSeq ?? 0];
  const where = ['org_id = $1', 'seq > $2'];
  const param = (v: unknown) => `$${params.push(v)}`;
  if (query.type) {
    // As SQLite's LIKE: ASCII case ignored (ILIKE on a "C" column), no escape character.
    where.push(query.type.endsWith('.*') ? `type ILIKE ${param(`${query.type.slice(0, -1)}%`)} ESCAPE ''` : `type = ${param(query.type)}`);
  }
  if (query.actor) where.push(`actor = ${param(query.actor)}`);
  if (query.secretId) where.push(`secret_id = ${param(query.secretId)}`);
  const rows = await rowsOf(pool, `SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${param(query.limit)}`, params);
  return rows.map(toAuditEvent);
}
