// The failed-authentication throttle and the auth.failed coalescer, on a hand-moved clock.
import { describe, expect, it } from 'vitest';
import type { AuditDraft } from '../storage/types.js';
import { authWindowMs, createAuthFailureAudit, createAuthThrottle } from './auth-failures.js';

function fakeClock(start = Date.parse('2026-12-05T12:00:00.000Z')) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => (t += ms) };
}

function draft(orgId: string, sourceIp: string, n: number): AuditDraft {
  return {
    id: `evt_${n}`, type: 'auth.failed', time: '', org_id: orgId, actor: 'agt_a', vault_id: null, secret_id: null, agent_id: 'agt_a',
    target_id: `atk_${n}`, request_id: `req_${n}`, source_ip: sourceIp, outcome: 'denied', reason: 'agent token revoked', details: {},
  };
}

describe('createAuthThrottle', () => {
  it('lets `limit` failures through, then refuses the address until its window ends', () => {
    const clock = fakeClock();
    const t = createAuthThrottle({ clock, limit: 3 });
    for (let i = 0; i < 3; i++) {
      expect(t.retryAfter('10.0.0.1')).toBeNull();
      t.failed('10.0.0.1', 'api');
    }
    expect(t.retryAfter('10.0.0.1')).toBe(60);
    expect(t.retryAfter('10.0.0.2')).toBeNull();
    clock.advance(20_500);
    expect(t.retryAfter('10.0.0.1')).toBe(40);
    clock.advance(39_000);
    expect(t.retryAfter('10.0.0.1')).toBe(1);
    clock.advance(500);
    expect(t.retryAfter('10.0.0.1')).toBeNull();
    // A new window starts from zero.
    t.failed('10.0.0.1', 'api');
    expect(t.retryAfter('10.0.0.1')).toBeNull();
  });

  it('counts failures only: an address under the limit is never refused', () => {
    const clock = fakeClock();
    const t = createAuthThrottle({ clock, limit: 20 });
    for (let i = 0; i < 19; i++) t.failed('::1', 'api');
    expect(t.retryAfter('::1')).toBeNull();
    t.failed('::1', 'api');
    expect(t.retryAfter('::1')).toBe(authWindowMs / 1000);
  });
});

describe('createAuthFailureAudit', () => {
  function setup() {
    const clock = fakeClock();
    const appended: AuditDraft[][] = [];
    const audit = createAuthFailureAudit({ clock, append: async (d) => void appended.push(d), onError: (err) => { throw err; } });
    return { clock, appended, audit };
  }

  it('appends the first failure at once and counts the rest of the minute into the next event', async () => {
    const { clock, appended, audit } = setup();
    for (let i = 1; i <= 300; i++) await audit.record(draft('org_1', '10.0.0.1', i));
    expect(appended).toEqual([[{ ...draft('org_1', '10.0.0.1', 1), details: { count: 1 } }]]);
    clock.advance(authWindowMs);
    await audit.record(draft('org_1', '10.0.0.1', 301));
    expect(appended).toHaveLength(2);
    expect(appended[1]).toEqual([{ ...draft('org_1', '10.0.0.1', 301), details: { count: 300 } }]);
    await audit.close();
  });

  it('keeps one window per org and source address', async () => {
    const { appended, audit } = setup();
    await audit.record(draft('org_1', '10.0.0.1', 1));
    await audit.record(draft('org_2', '10.0.0.1', 2));
    await audit.record(draft('org_1', '10.0.0.2', 3));
    await audit.record(draft('org_1', '10.0.0.1', 4));
    expect(appended.map((batch) => batch.map((d) => [d.org_id, d.source_ip, d.details.count]))).toEqual([
      [['org_1', '10.0.0.1', 1]],
      [['org_2', '10.0.0.1', 1]],
      [['org_1', '10.0.0.2', 1]],
    ]);
    await audit.close();
  });

  it('flushes pending counts on close, naming the newest failure', async () => {
    const { appended, audit } = setup();
    for (let i = 1; i <= 5; i++) await audit.record(draft('org_1', '10.0.0.1', i));
    await audit.close();
    expect(appended).toEqual([[{ ...draft('org_1', '10.0.0.1', 1), details: { count: 1 } }], [{ ...draft('org_1', '10.0.0.1', 5), details: { count: 4 } }]]);
  });

  it('writes nothing when nothing failed', async () => {
    const { appended, audit } = setup();
    await audit.flush();
    await audit.close();
    expect(appended).toEqual([]);
  });
});
