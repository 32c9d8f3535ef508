// Rate limits: a limited secret goes to the store (take or peek), an unlimited one never does.
import { describe, expect, it } from 'vitest';
import { createRateLimits, type RateLimitStore } from './rate-limits.js';

function recordingStore() {
  const calls: string[] = [];
  const store: RateLimitStore = {
    async takeRateSlot(key, limit, now) {
      calls.push(`take ${key.orgId} ${key.secretId} ${key.agentId} ${limit.requests}/${limit.per} ${now.toISOString()}`);
      return { ok: false, retryAfterSeconds: 7 };
    },
    async peekRateSlot(key, limit, now) {
      calls.push(`peek ${key.orgId} ${key.secretId} ${key.agentId} ${limit.requests}/${limit.per} ${now.toISOString()}`);
      return { ok: true, remaining: 3 };
    },
  };
  return { store, calls };
}

const now = new Date('2026-04-25T11:45:00.000Z');

describe('rate limits', () => {
  it('take and peek ask the store with the key, the limit and the time', async () => {
    const { store, calls } = recordingStore();
    const limits = createRateLimits({ store });
    expect(await limits.take('org_1', 'sec_1', 'agt_1', { requests: 5, per: 'minute' }, now)).toEqual({ ok: false, retryAfterSeconds: 7 });
    expect(await limits.peek('org_1', 'sec_1', 'agt_1', { requests: 5, per: 'hour' }, now)).toEqual({ ok: true, remaining: 3 });
    expect(calls).toEqual(['take org_1 sec_1 agt_1 5/minute 2026-04-25T11:45:00.000Z', 'peek org_1 sec_1 agt_1 5/hour 2026-04-25T11:45:00.000Z']);
  });

  it('a secret without a limit is let through without touching the store', async () => {
    const { store, calls } = recordingStore();
    const limits = createRateLimits({ store });
    expect(await limits.take('org_1', 'sec_1', 'agt_1', null, now)).toEqual({ ok: true, remaining: Number.POSITIVE_INFINITY });
    expect(await limits.peek('org_1', 'sec_1', 'agt_1', null, now)).toEqual({ ok: true, remaining: Number.POSITIVE_INFINITY });
    expect(calls).toEqual([]);
  });
});
