// Rate-limit counters on PostgreSQL: one row per (org, secret, agent), taken by one atomic upsert, exact across nodes.
import type pg from 'pg';
import { periodMs, retryAfterSeconds, takeSlot, windowOf, type RateCounter } from '../../core/rate-limit.js';
import type { RateKey, RateStore } from '../rate-store.js';
import { int, maybe, rowDecoder } from '../rows.js';
import { rowsOf } from './pg-tx.js';

const toCounter = rowDecoder<RateCounter>({ start: int, periodMs: int, count: int });

/**
 * core/rate-limit.ts `takeSlot` in one statement. The row is locked by the upsert, so concurrent
 * takes on any node queue on it and each sees the count the previous one left: never more than
 * `$6` are taken per window. A row of an earlier window or another period starts over at 1; else
 * the count rises only while below the limit. When the WHERE refuses, the upsert returns nothing,
 * and the second branch reads the row as the statement's snapshot saw it, to tell how long the
 * window lasts: that row may be older than the one the upsert locked (or absent, if it was
 * inserted meanwhile), so the caller never answers with a window earlier than its own.
 */
const takeSql = `
  WITH taken AS (
    INSERT INTO rate_windows AS w (org_id, secret_id, agent_id, window_start, period_ms, count)
    VALUES ($1, $2, $3, $4, $5, 1)
    ON CONFLICT (org_id, secret_id, agent_id) DO UPDATE SET
      window_start = CASE WHEN w.period_ms <> EXCLUDED.period_ms OR w.window_start < EXCLUDED.window_start THEN EXCLUDED.window_start ELSE w.window_start END,
      count = CASE WHEN w.period_ms <> EXCLUDED.period_ms OR w.window_start < EXCLUDED.window_start THEN 1 ELSE w.count + 1 END,
      period_ms = EXCLUDED.period_ms
    WHERE w.period_ms <> EXCLUDED.period_ms OR w.window_start < EXCLUDED.window_start OR w.count < $6
    RETURNING window_start AS start, period_ms AS "periodMs", count
  )
  SELECT true AS taken, start, "periodMs", count FROM taken
  UNION ALL
  SELECT false, window_start, period_ms, count FROM rate_windows
   WHERE org_id = $1 AND secret_id = $2 AND agent_id = $3 AND NOT EXISTS (SELECT 1 FROM taken)`;

const peekSql = 'SELECT window_start AS start, period_ms AS "periodMs", count FROM rate_windows WHERE org_id = $1 AND secret_id = $2 AND agent_id = $3';

/** A foreign-key violation: the secret or the agent was deleted while its request was on its way. */
const isGone = (err: unknown) => typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23503';

export function createPgRateMethods(pool: pg.Pool): RateStore {
  return {
    async takeRateSlot(key: RateKey, limit, now) {
      const window = windowOf(limit, now);
      const period = periodMs(limit.per);
      let rows;
      try {
        rows = await rowsOf(pool, takeSql, [key.orgId, key.secretId, key.agentId, window.start, period, limit.requests]);
      } catch (err) {
        // Nothing is left to count against; the next request finds the secret or agent gone.
        if (isGone(err)) return takeSlot(null, limit, now).verdict;
        throw err;
      }
      const row = rows[0];
      const counter = maybe(toCounter, row);
      if (row?.taken === true && counter) return { ok: true, remaining: limit.requests - counter.count };
      const seenEnd = counter && counter.periodMs === period ? counter.start + counter.periodMs : 0;
      return { ok: false, retryAfterSeconds: retryAfterSeconds(Math.max(window.end, seenEnd), now) };
    },
    async peekRateSlot(key, limit, now) {
      const row = (await rowsOf(pool, peekSql, [key.orgId, key.secretId, key.agentId]))[0];
      return takeSlot(maybe(toCounter, row), limit, now).verdict;
    },
  };
}
