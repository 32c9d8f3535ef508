// The audit chain on SQLite: appends inside the caller's transaction, and filtered reads.
import type Database from 'better-sqlite3';
import type { AuditEvent } from '../../contract/schemas.js';
import { genesisHash, sealEvent } from '../../core/audit-chain.js';
import { int, maybe, rowDecoder, text, toAuditEvent } from '../rows.js';
import type { AuditDraft, AuditQuery } from '../types.js';

/** Appends inside the caller's transaction; returns the (org, seq) pairs to announce after commit. */
export type AppendInTx = (drafts: AuditDraft[]) => [string, number][];

const toHead = rowDecoder<{ seq: number; hash: string }>({ seq: int, hash: text });

export function prepareAuditAppend(db: Database.Database, auditKey: Buffer): AppendInTx {
  const auditHead = db.prepare('SELECT seq, hash FROM audit_events WHERE org_id = ? ORDER BY seq DESC LIMIT 1');
  const insertAudit = db.prepare(
    `INSERT INTO audit_events (org_id, seq, id, type, time, actor, vault_id, secret_id, agent_id, target_id, request_id, source_ip, outcome, reason, details, prev_hash, hash)
     VALUES (@org_id, @seq, @id, @type, @time, @actor, @vault_id, @secret_id, @agent_id, @target_id, @request_id, @source_ip, @outcome, @reason, @details, @prev_hash, @hash)`,
  );
  return (drafts) => {
    const out: [string, number][] = [];
    // Each org's head is read once per transaction (which holds the write lock), then carried along.
    const heads = new Map<string, { seq: number; hash: string }>();
    for (const draft of drafts) {
      const head = heads.get(draft.org_id) ?? maybe(toHead, auditHead.get(draft.org_id));
      const event = sealEvent(auditKey, head?.hash ?? genesisHash, { ...draft, seq: (head?.seq ?? 0) + 1 });
      insertAudit.run({ ...event, details: JSON.stringify(event.details) });
      heads.set(event.org_id, { seq: event.seq, hash: event.hash });
      out.push([event.org_id, event.seq]);
    }
    return out;
  };
}

export function listAudit(db: Database.Database, orgId: string, query: AuditQuery): AuditEvent[] {
  const where = ['org_id = ?', 'seq > ?'];
  const params: unknown[] = [orgId, query.afterSeq ?? 0];
  if (query.type) {
    where.push(query.type.endsWith('.*') ? 'type LIKE ?' : 'type = ?');
    params.push(query.type.endsWith('.*') ? `${query.type.slice(0, -1)}%` : query.type);
  }
  if (query.actor) {
    where.push('actor = ?');
    params.push(query.actor);
  }
  if (query.secretId) {
    where.push('secret_id = ?');
    params.push(query.secretId);
  }
  return db.prepare(`SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...params, query.limit).map(toAuditEvent);
}
