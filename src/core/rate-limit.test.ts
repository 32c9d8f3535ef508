// Table and property tests for rate-limit validation and the fixed-window arithmetic.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRateLimitInput, periodMs, ratePers, retryAfterSeconds, takeSlot, windowOf, type RateCounter, type RateLimit, type RateVerdict } from './rate-limit.js';

const RUNS = { numRuns: 500 };
const at = (iso: string) => new Date(iso);

describe('periodMs', () => {
  it.each([
    ['second', 1_000],
    ['minute', 60_000],
    ['hour', 3_600_000],
  ] as const)('%s is %d ms', (per, ms) => {
    expect(periodMs(per)).toBe(ms);
  });
});

describe('windowOf', () => {
  /** [per, now, start, end] */
  const rows: [RateLimit['per'], string, string, string][] = [
    ['second', '2026-04-25T11:45:07.000Z', '2026-04-25T11:45:07.000Z', '2026-04-25T11:45:08.000Z'],
    ['second', '2026-04-25T11:45:07.999Z', '2026-04-25T11:45:07.000Z', '2026-04-25T11:45:08.000Z'],
    ['minute', '2026-04-25T11:45:00.000Z', '2026-04-25T11:45:00.000Z', '2026-04-25T11:46:00.000Z'],
    ['minute', '2026-04-25T11:45:59.999Z', '2026-04-25T11:45:00.000Z', '2026-04-25T11:46:00.000Z'],
    ['hour', '2026-04-25T11:59:59.999Z', '2026-04-25T11:00:00.000Z', '2026-04-25T12:00:00.000Z'],
    ['hour', '2026-04-25T12:00:00.000Z', '2026-04-25T12:00:00.000Z', '2026-04-25T13:00:00.000Z'],
    ['hour', '1970-01-01T00:30:00.000Z', '1970-01-01T00:00:00.000Z', '1970-01-01T01:00:00.000Z'],
  ];
  it.each(rows)('per %s at %s is [%s, %s)', (per, now, start, end) => {
    expect(windowOf({ requests: 1, per }, at(now))).toEqual({ start: Date.parse(start), end: Date.parse(end) });
  });

  it('holds now, is one period long and aligned to the epoch', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ratePers), fc.integer({ min: 0, max: 4_102_444_800_000 }), (per, ms) => {
        const w = windowOf({ requests: 1, per }, new Date(ms));
        expect(w.start).toBeLessThanOrEqual(ms);
        expect(ms).toBeLessThan(w.end);
        expect(w.end - w.start).toBe(periodMs(per));
        expect(w.start % periodMs(per)).toBe(0);
      }),
      RUNS,
    );
  });
});

describe('retryAfterSeconds', () => {
  /** [window end, now, seconds] */
  const rows: [string, string, number][] = [
    ['2026-04-25T11:46:00.000Z', '2026-04-25T11:45:00.000Z', 60],
    ['2026-04-25T11:46:00.000Z', '2026-04-25T11:45:00.001Z', 60],
    ['2026-04-25T11:46:00.000Z', '2026-04-25T11:45:59.000Z', 1],
    ['2026-04-25T11:46:00.000Z', '2026-04-25T11:45:59.001Z', 1],
    ['2026-04-25T11:46:00.000Z', '2026-04-25T11:45:58.999Z', 2],
    // A window already over (a clock behind another node's) still answers at least 1.
    ['2026-04-25T11:46:00.000Z', '2026-04-25T11:46:00.000Z', 1],
    ['2026-04-25T11:46:00.000Z', '2026-04-25T11:47:00.000Z', 1],
  ];
  it.each(rows)('until %s from %s is %d s', (end, now, seconds) => {
    expect(retryAfterSeconds(Date.parse(end), at(now))).toBe(seconds);
  });

  it('is a whole number of seconds in [1, period / 1000] for the window now is in', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ratePers), fc.integer({ min: 0, max: 4_102_444_800_000 }), (per, ms) => {
        const now = new Date(ms);
        const s = retryAfterSeconds(windowOf({ requests: 1, per }, now).end, now);
        expect(Number.isInteger(s)).toBe(true);
        expect(s).toBeGreaterThanOrEqual(1);
        expect(s).toBeLessThanOrEqual(periodMs(per) / 1000);
        // Waiting that long lands in a later window: the slot has freed.
        expect(windowOf({ requests: 1, per }, new Date(ms + s * 1000)).start).toBeGreaterThan(windowOf({ requests: 1, per }, now).start);
      }),
      RUNS,
    );
  });
});

describe('checkRateLimitInput', () => {
  const requestsMessage = 'rate_limit.requests must be an integer from 1 to 1000000';
  const perMessage = 'rate_limit.per must be one of second, minute, hour';
  const objectMessage = 'rate_limit must be an object with requests and per';
  const unknownMessage = 'rate_limit may only hold requests and per';

  it.each([
    [{ requests: 1, per: 'second' }],
    [{ requests: 100, per: 'minute' }],
    [{ requests: 1_000_000, per: 'hour' }],
  ])('accepts %j', (input) => {
    expect(checkRateLimitInput(input)).toEqual({ ok: true, value: input });
  });

  /** [input, message] */
  const refused: [unknown, string][] = [
    [null, objectMessage],
    [undefined, objectMessage],
    [5, objectMessage],
    ['10/minute', objectMessage],
    [[10, 'minute'], objectMessage],
    [{ per: 'minute' }, requestsMessage],
    [{ requests: 0, per: 'minute' }, requestsMessage],
    [{ requests: -1, per: 'minute' }, requestsMessage],
    [{ requests: 1.5, per: 'minute' }, requestsMessage],
    [{ requests: 1_000_001, per: 'minute' }, requestsMessage],
    [{ requests: '10', per: 'minute' }, requestsMessage],
    [{ requests: Number.NaN, per: 'minute' }, requestsMessage],
    [{ requests: Number.POSITIVE_INFINITY, per: 'minute' }, requestsMessage],
    [{ requests: 10 }, perMessage],
    [{ requests: 10, per: 'day' }, perMessage],
    [{ requests: 10, per: 'Minute' }, perMessage],
    [{ requests: 10, per: 60 }, perMessage],
    [{ requests: 10, per: 'minute', burst: 5 }, unknownMessage],
    [JSON.parse('{"requests": 10, "per": "minute", "__proto__": {}}'), unknownMessage],
  ];
  it.each(refused)('refuses %j', (input, message) => {
    expect(checkRateLimitInput(input)).toEqual({ ok: false, message });
  });

  it('never echoes what it refuses', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 12 }).map((s) => `secret-${s}`), (s) => {
        for (const input of [{ requests: s, per: 'minute' }, { requests: 1, per: s }, { [s]: 1, requests: 1, per: 'minute' }]) {
          const result = checkRateLimitInput(input);
          expect(result.ok).toBe(false);
          if (!result.ok) expect(result.message).not.toContain(s);
        }
      }),
      RUNS,
    );
  });
});

describe('takeSlot', () => {
  const now = at('2026-04-25T11:45:20.000Z');
  const minute = Date.parse('2026-04-25T11:45:00.000Z');
  const counter = (start: number, count: number, period = 60_000): RateCounter => ({ start, periodMs: period, count });
  /** [name, counter held, limit, verdict, counter after] */
  const rows: [string, RateCounter | null, RateLimit, RateVerdict, RateCounter][] = [
    ['none yet', null, { requests: 3, per: 'minute' }, { ok: true, remaining: 2 }, counter(minute, 1)],
    ['below the limit', counter(minute, 1), { requests: 3, per: 'minute' }, { ok: true, remaining: 1 }, counter(minute, 2)],
    ['the last slot', counter(minute, 2), { requests: 3, per: 'minute' }, { ok: true, remaining: 0 }, counter(minute, 3)],
    ['full', counter(minute, 3), { requests: 3, per: 'minute' }, { ok: false, retryAfterSeconds: 40 }, counter(minute, 3)],
    ['over a lowered limit', counter(minute, 3), { requests: 1, per: 'minute' }, { ok: false, retryAfterSeconds: 40 }, counter(minute, 3)],
    ['below a raised limit', counter(minute, 3), { requests: 5, per: 'minute' }, { ok: true, remaining: 1 }, counter(minute, 4)],
    ['an earlier window starts over', counter(minute - 60_000, 3), { requests: 3, per: 'minute' }, { ok: true, remaining: 2 }, counter(minute, 1)],
    ['another period starts over', counter(minute, 3, 1_000), { requests: 3, per: 'minute' }, { ok: true, remaining: 2 }, counter(minute, 1)],
    ['a later window (a clock ahead) keeps counting there', counter(minute + 60_000, 3), { requests: 3, per: 'minute' }, { ok: false, retryAfterSeconds: 100 }, counter(minute + 60_000, 3)],
  ];
  it.each(rows)('%s', (_name, held, limit, verdict, after) => {
    const copy = held && { ...held };
    expect(takeSlot(held, limit, now)).toEqual({ verdict, counter: after });
    expect(held).toEqual(copy);
  });

  it('lets exactly `requests` through in one window, then refuses until it ends', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.constantFrom(...ratePers), fc.integer({ min: 0, max: 4_102_444_800_000 }), (requests, per, ms) => {
        const limit = { requests, per };
        const when = new Date(ms);
        let held: RateCounter | null = null;
        const verdicts: RateVerdict[] = [];
        for (let i = 0; i <= requests; i++) {
          const r = takeSlot(held, limit, when);
          verdicts.push(r.verdict);
          held = r.counter;
        }
        expect(verdicts.filter((v) => v.ok)).toHaveLength(requests);
        expect(verdicts.at(-1)).toEqual({ ok: false, retryAfterSeconds: retryAfterSeconds(windowOf(limit, when).end, when) });
      }),
      RUNS,
    );
  });
});
