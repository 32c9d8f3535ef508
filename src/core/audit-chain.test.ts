import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../contract/schemas.js';
import { chainHash, createChainVerifier, genesisHash, sealEvent, type UnsealedEvent } from './audit-chain.js';

const key = Buffer.alloc(32, 7);

function draft(seq: number, type = 'secret.created'): UnsealedEvent {
  return {
    id: `evt_${String(seq).padStart(26, '0')}`,
    seq,
    type,
    time: '2026-04-25T11:45:19.000Z',
    org_id: 'org_01KQ27AQH800XQTQPJZ0DH14SJ',
    actor: 'key_01KQ27AQH800XQTQPJZ0DH14SJ',
    vault_id: null,
    secret_id: null,
    agent_id: null,
    target_id: null,
    request_id: null,
    source_ip: '127.0.0.1',
    outcome: 'success',
    reason: null,
    details: { n: seq },
  };
}

function chain(n: number): AuditEvent[] {
  const out: AuditEvent[] = [];
  let prev = genesisHash;
  for (let i = 1; i <= n; i++) {
    const e = sealEvent(key, prev, draft(i));
    out.push(e);
    prev = e.hash;
  }
  return out;
}

function verify(events: AuditEvent[], expectedHead?: string) {
  const v = createChainVerifier(key, expectedHead);
  for (const e of events) if (!v.push(e)) break;
  return v.result();
}

describe('audit chain', () => {
  it('hash covers prev_hash and every field, with the HMAC key', () => {
    const e = draft(1);
    const h = chainHash(key, genesisHash, e);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(chainHash(key, '1'.repeat(64), e)).not.toBe(h);
    expect(chainHash(Buffer.alloc(32, 8), genesisHash, e)).not.toBe(h);
    expect(chainHash(key, genesisHash, { ...e, details: { n: 2 } })).not.toBe(h);
    expect(chainHash(key, genesisHash, { ...e, seq: 2 })).not.toBe(h);
    // Field order in the object does not matter: the hash covers canonical JSON.
    const reordered = Object.fromEntries(Object.entries(e).reverse()) as UnsealedEvent;
    expect(chainHash(key, genesisHash, reordered)).toBe(h);
  });

  it('verifies an intact chain and reports its head', () => {
    const events = chain(5);
    expect(verify(events)).toEqual({ ok: true, events: 5, head: events[4]!.hash, head_seq: 5 });
    expect(verify([])).toEqual({ ok: true, events: 0, head: null, head_seq: 0 });
  });

  const cases: [string, (events: AuditEvent[]) => AuditEvent[], number, string][] = [
    ['edited field', (es) => es.map((e) => (e.seq === 3 ? { ...e, type: 'vault.deleted' } : e)), 3, 'hash mismatch: event was altered'],
    ['deleted middle event', (es) => es.filter((e) => e.seq !== 3), 3, 'missing event'],
    ['reordered events', (es) => [es[0]!, es[2]!, es[1]!, es[3]!, es[4]!], 2, 'missing event'],
    ['duplicated event', (es) => [es[0]!, es[1]!, es[1]!, es[2]!], 3, 'out of order'],
    ['prev_hash relinked', (es) => es.map((e) => (e.seq === 4 ? { ...e, prev_hash: genesisHash } : e)), 4, 'prev_hash does not match the previous event'],
    [
      'recomputed with plain sha-less key',
      (es) => {
        const forged = sealEvent(Buffer.alloc(32, 1), es[1]!.hash, { ...draft(3), details: { n: 999 } });
        return [es[0]!, es[1]!, forged, es[3]!, es[4]!];
      },
      3,
      'hash mismatch: event was altered',
    ],
  ];

  it.each(cases)('names the first broken link: %s', (_name, tamper, brokenAt, reason) => {
    const result = verify(tamper(chain(5)));
    expect(result.ok).toBe(false);
    expect(result.broken_at).toBe(brokenAt);
    expect(result.reason).toBe(reason);
  });

  it('a truncated tail is a valid prefix, caught only by the anchored head', () => {
    const events = chain(5);
    const head = events[4]!.hash;
    expect(verify(events.slice(0, 3)).ok).toBe(true);
    expect(verify(events.slice(0, 3), head)).toMatchObject({ ok: false, reason: 'expected head not found: chain truncated or replaced' });
    expect(verify(events, head).ok).toBe(true);
    expect(verify(events, events[1]!.hash).ok).toBe(true);
  });
});
