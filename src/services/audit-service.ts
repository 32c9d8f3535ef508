// Audit: querying the org's chain, verifying it, and following it live.
import { VaultError } from '../contract/errors.js';
import type { AuditEvent, AuditVerifyResult } from '../contract/schemas.js';
import { createChainVerifier } from '../core/audit-chain.js';
import type { Store } from '../storage/store.js';
import type { AuditQuery } from '../storage/types.js';

const verifyBatch = 1000;

export type AuditReadStore = Pick<Store, 'listAudit' | 'onAudit'>;

export function createAuditService(deps: { store: AuditReadStore; auditKey: Buffer }) {
  const { store } = deps;
  return {
    async list(orgId: string, query: AuditQuery): Promise<AuditEvent[]> {
      if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 1000) {
        throw new VaultError('invalid_request', 'limit must be an integer from 1 to 1000');
      }
      return store.listAudit(orgId, query);
    },

    /** One page and the seq to continue after; null when nothing remains (one extra row tells). */
    async page(orgId: string, query: AuditQuery): Promise<{ items: AuditEvent[]; nextAfter: number | null }> {
      const items = await this.list(orgId, query);
      const last = items[items.length - 1];
      if (items.length < query.limit || !last) return { items, nextAfter: null };
      const more = await store.listAudit(orgId, { ...query, afterSeq: last.seq, limit: 1 });
      return { items, nextAfter: more.length > 0 ? last.seq : null };
    },

    async verify(orgId: string, expectedHead?: string): Promise<AuditVerifyResult> {
      const verifier = createChainVerifier(deps.auditKey, expectedHead);
      let after = 0;
      for (;;) {
        const batch = await store.listAudit(orgId, { afterSeq: after, limit: verifyBatch });
        for (const event of batch) if (!verifier.push(event)) return verifier.result();
        const last = batch[batch.length - 1];
        if (!last || batch.length < verifyBatch) return verifier.result();
        after = last.seq;
      }
    },

    /** Wakes `onEvent` for each new seq of this org; the caller reads the events from the store. */
    subscribe(orgId: string, onNew: () => void): () => void {
      return store.onAudit((org) => {
        if (org === orgId) onNew();
      });
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
