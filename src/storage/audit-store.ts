// The audit half of the Store: appends, queries and live wake-ups of the per-org chains.
import type { AuditEvent } from '../contract/schemas.js';
import type { AuditDraft, AuditListener, AuditQuery } from './types.js';

export interface AuditStore {
  appendAudit(audit: AuditDraft[]): Promise<void>;
  listAudit(orgId: string, query: AuditQuery): Promise<AuditEvent[]>;
  /** Live wake-ups after commits; listeners then read from the store, so nothing is lost. */
  onAudit(listener: AuditListener): () => void;
}
