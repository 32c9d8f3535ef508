// Rate-limit counters on SQLite: kept in this process's memory, which is the one node of an SQLite deployment.
import { takeSlot, type RateCounter } from '../../core/rate-limit.js';
import type { RateKey, RateStore } from '../rate-store.js';

/**
 * The most (secret, agent) counters held at once: about 33 MB of heap when full (measured with
 * real ids). Beyond it the least recently used counter is forgotten, so that pair may take up to
 * its limit again in its current window: the price of bounded memory, paid only when more pairs
 * than this are in use within one window (at most an hour).
 */
export const defaultMaxRateCounters = 50_000;

export interface SqliteRateCounters {
  methods: RateStore;
  /** How many counters are held (tests show the bound with it). */
  readonly size: () => number;
}

/**
 * Counters live in a Map kept in least-recently-used order (a take moves its key to the end).
 * Each take first drops the expired counters at the front and then the oldest beyond the cap,
 * so the work per take stays constant on average. An expired counter behind a live one at the
 * front waits there until the cap or its turn at the front removes it; it never counts again,
 * since a counter of an earlier window starts over (`takeSlot`).
 */
export function createSqliteRateCounters(maxCounters = defaultMaxRateCounters): SqliteRateCounters {
  const counters = new Map<string, RateCounter>();
  const keyOf = (k: RateKey) => `${k.orgId}\0${k.secretId}\0${k.agentId}`;

  function evict(now: number): void {
    for (const [key, c] of counters) {
      if (c.start + c.periodMs > now && counters.size < maxCounters) return;
      counters.delete(key);
    }
  }

  return {
    methods: {
      async takeRateSlot(key, limit, now) {
        const k = keyOf(key);
        const held = counters.get(k) ?? null;
        counters.delete(k);
        evict(now.getTime());
        const { verdict, counter } = takeSlot(held, limit, now);
        counters.set(k, counter);
        return verdict;
      },
      async peekRateSlot(key, limit, now) {
        return takeSlot(counters.get(keyOf(key)) ?? null, limit, now).verdict;
      },
    },
    size: () => counters.size,
  };
}
