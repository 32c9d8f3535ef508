// Per-agent rate limits of secrets: the proxy takes a slot for each request that uses a limited secret.
import type { RateLimit, RateVerdict } from '../core/rate-limit.js';
import type { Store } from '../storage/store.js';

export type RateLimitStore = Pick<Store, 'takeRateSlot' | 'peekRateSlot'>;

export interface RateLimits {
  /** Takes one slot for a request that sends `secretId`'s value (or its signature) for `agentId`. */
  take(orgId: string, secretId: string, agentId: string, limit: RateLimit | null, now: Date): Promise<RateVerdict>;
  /** Whether `take` would refuse now, taking nothing (the explain endpoint). */
  peek(orgId: string, secretId: string, agentId: string, limit: RateLimit | null, now: Date): Promise<RateVerdict>;
}

/** A secret without a limit is always let through, without a store round trip. */
const unlimited: RateVerdict = Object.freeze({ ok: true, remaining: Number.POSITIVE_INFINITY });

export function createRateLimits(deps: { store: RateLimitStore }): RateLimits {
  return {
    async take(orgId, secretId, agentId, limit, now) {
      return limit ? deps.store.takeRateSlot({ orgId, secretId, agentId }, limit, now) : unlimited;
    },
    async peek(orgId, secretId, agentId, limit, now) {
      return limit ? deps.store.peekRateSlot({ orgId, secretId, agentId }, limit, now) : unlimited;
    },
  };
}
