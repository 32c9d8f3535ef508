// A secret's rate limit per agent: its validation and the fixed-window arithmetic both backends count with.

export type RatePer = 'second' | 'minute' | 'hour';
export type RateLimit = { requests: number; per: RatePer };

export const ratePers: readonly RatePer[] = ['second', 'minute', 'hour'];
export const maxRateRequests = 1_000_000;

const periods: Record<RatePer, number> = { second: 1_000, minute: 60_000, hour: 3_600_000 };

export function periodMs(per: RatePer): number {
  return periods[per];
}

/**
 * The window `now` falls in: fixed windows aligned to the Unix epoch, `start = floor(now / period)
 * * period`, `end = start + period` (exclusive), in milliseconds.
 *
 * Exactness, stated honestly: at most `requests` are let through per calendar window, but a burst
 * at the end of one window and another at the start of the next can pass up to 2 × `requests`
 * within one period's length. One counter per (secret, agent) counts a window exactly with one
 * atomic upsert: on PostgreSQL the count is exact across every node sharing the database; on
 * SQLite it is kept in the process, which is the node (an SQLite deployment is one node).
 */
export function windowOf(limit: RateLimit, now: Date): { start: number; end: number } {
  const period = periodMs(limit.per);
  const start = Math.floor(now.getTime() / period) * period;
  return { start, end: start + period };
}

/** Whole seconds until `windowEnd` (ms), rounded up and never below 1: what `Retry-After` says. */
export function retryAfterSeconds(windowEnd: number, now: Date): number {
  return Math.max(1, Math.ceil((windowEnd - now.getTime()) / 1000));
}

export type RateLimitCheck = { ok: true; value: RateLimit } | { ok: false; message: string };

const known = new Set(['requests', 'per']);

/**
 * Validates an operator's `rate_limit` object. Messages name the field and never echo the input;
 * the caller turns a refusal into its own error.
 */
export function checkRateLimitInput(input: unknown): RateLimitCheck {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, message: 'rate_limit must be an object with requests and per' };
  }
  if (Object.keys(input).some((k) => !known.has(k))) {
    return { ok: false, message: 'rate_limit may only hold requests and per' };
  }
  const { requests, per } = input as { requests?: unknown; per?: unknown };
  if (typeof requests !== 'number' || !Number.isInteger(requests) || requests < 1 || requests > maxRateRequests) {
    return { ok: false, message: `rate_limit.requests must be an integer from 1 to ${maxRateRequests}` };
  }
  if (typeof per !== 'string' || !(ratePers as readonly string[]).includes(per)) {
    return { ok: false, message: `rate_limit.per must be one of ${ratePers.join(', ')}` };
  }
  return { ok: true, value: { requests, per: per as RatePer } };
}

/** `remaining`: the slots left in the window after this one. `retryAfterSeconds`: whole seconds, at least 1. */
export type RateVerdict = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

/** One (secret, agent)'s count: `count` slots taken in the window from `start` (ms), `periodMs` long. */
export interface RateCounter {
  start: number;
  periodMs: number;
  count: number;
}

/**
 * Taking one slot at `now`: the verdict and the counter after it (the same one when refused).
 * A counter of an earlier window, or of another period (the operator changed `per`), starts over;
 * one of a later window (a clock behind another node's) keeps counting there. The limit is read
 * afresh at every take, so a lowered one refuses at once what is already over it. PostgreSQL's
 * upsert (storage/postgres/pg-rates.ts) is this rule in SQL.
 */
export function takeSlot(counter: RateCounter | null, limit: RateLimit, now: Date): { verdict: RateVerdict; counter: RateCounter } {
  const current = windowOf(limit, now);
  const period = periodMs(limit.per);
  const live = counter !== null && counter.periodMs === period && counter.start >= current.start ? counter : { start: current.start, periodMs: period, count: 0 };
  if (live.count >= limit.requests) {
    return { verdict: { ok: false, retryAfterSeconds: retryAfterSeconds(live.start + live.periodMs, now) }, counter: live };
  }
  const taken = { ...live, count: live.count + 1 };
  return { verdict: { ok: true, remaining: limit.requests - taken.count }, counter: taken };
}
