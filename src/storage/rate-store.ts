// The rate-limit half of the Store: one counter per (org, secret, agent) in the current fixed window.
import type { RateLimit, RateVerdict } from '../core/rate-limit.js';

export type { RateVerdict } from '../core/rate-limit.js';

export interface RateKey {
  orgId: string;
  secretId: string;
  agentId: string;
}

export interface RateStore {
  /**
   * Takes one slot of `limit` in the window `now` falls in (core/rate-limit.ts `windowOf`), or
   * refuses once `limit.requests` are taken. The limit given is the one applied, so an edited
   * limit counts from the next take on; a changed `per` starts a fresh count. PostgreSQL counts
   * across every node on the database; SQLite in this process (the one node).
   */
  takeRateSlot(key: RateKey, limit: RateLimit, now: Date): Promise<RateVerdict>;
  /** The answer `takeRateSlot` would give now, taking nothing. */
  peekRateSlot(key: RateKey, limit: RateLimit, now: Date): Promise<RateVerdict>;
}
