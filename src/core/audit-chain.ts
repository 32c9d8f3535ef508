// The audit hash chain: hash = HMAC(audit key, prev_hash ‖ canonical JSON of the event).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AuditEvent, AuditVerifyResult } from '../contract/schemas.js';
import { canonicalJson } from './canonical-json.js';

export const genesisHash = '0'.repeat(64);

export type UnsealedEvent = Omit<AuditEvent, 'hash' | 'prev_hash'>;

export function chainHash(auditKey: Buffer, prevHash: string, event: UnsealedEvent): string {
  const { hash: _h, prev_hash: _p, ...fields } = event as AuditEvent;
  return createHmac('sha256', auditKey).update(prevHash).update('\n').update(canonicalJson(fields)).digest('hex');
}

export function sealEvent(auditKey: Buffer, prevHash: string, event: UnsealedEvent): AuditEvent {
  return { ...event, prev_hash: prevHash, hash: chainHash(auditKey, prevHash, event) };
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface ChainVerifier {
  /** Feed events in seq order; returns false once the chain is broken (stop feeding). */
  push(event: AuditEvent): boolean;
  result(): AuditVerifyResult;
}

/**
 * Walks one org's chain from seq 1. Cutting the tail leaves a valid prefix, so the caller
 * may pass the head it anchored elsewhere; a chain that no longer reaches it is reported.
 */
export function createChainVerifier(auditKey: Buffer, expectedHead?: string): ChainVerifier {
  let prev = genesisHash;
  let count = 0;
  let broken: { at: number; reason: string } | null = null;
  let sawExpectedHead = false;

  return {
    push(event) {
      if (broken) return false;
      const expectedSeq = count + 1;
      if (event.seq !== expectedSeq) {
        broken = { at: expectedSeq, reason: event.seq > expectedSeq ? 'missing event' : 'out of order' };
      } else if (!sameHash(event.prev_hash, prev)) {
        broken = { at: event.seq, reason: 'prev_hash does not match the previous event' };
      } else if (!sameHash(event.hash, chainHash(auditKey, prev, event))) {
        broken = { at: event.seq, reason: 'hash mismatch: event was altered' };
      }
      if (broken) return false;
      if (expectedHead !== undefined && event.hash === expectedHead) sawExpectedHead = true;
      prev = event.hash;
      count = expectedSeq;
      return true;
    },
    result() {
      const head = count === 0 ? null : prev;
      if (broken) return { ok: false, events: count, head, head_seq: count, broken_at: broken.at, reason: broken.reason };
      if (expectedHead !== undefined && !sawExpectedHead) {
        return { ok: false, events: count, head, head_seq: count, broken_at: count + 1, reason: 'expected head not found: chain truncated or replaced' };
      }
      return { ok: true, events: count, head, head_seq: count };
    },
  };
}
