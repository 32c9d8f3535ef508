import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson } from './canonical-json.js';
import { isValidEnvKey } from './env-key.js';
import { createIdFactory, isId } from './ids.js';

describe('env_key', () => {
  it.each([
    ['DATABASE_URL', true],
    ['_x', true],
    ['a1', true],
    ['A'.repeat(256), true],
    ['A'.repeat(257), false],
    ['', false],
    ['1ABC', false],
    ['A-B', false],
    ['A B', false],
    ['A=B', false],
    ['É', false],
    ['A\n', false],
  ])('%j → %s', (key, ok) => expect(isValidEnvKey(key)).toBe(ok));
});

describe('ids', () => {
  it('are prefix + 26 Crockford base32 chars and sort in creation order', () => {
    const ids = createIdFactory(() => 1_700_000_000_000);
    const a = ids('secret');
    const b = ids('secret');
    expect(a).toMatch(/^sec_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(a < b).toBe(true);
    expect(isId('secret', a)).toBe(true);
    expect(isId('vault', a)).toBe(false);
  });

  it.each(['sec_', 'sec_01KQ27AQH800XQTQPJZ0DH14S', 'sec_01KQ27AQH800XQTQPJZ0DH14SJX', 'sec_01KQ27AQH800XQTQPJZ0DH14SI', 'SEC_01KQ27AQH800XQTQPJZ0DH14SJ', 'sec_01kq27aqh800xqtqpjz0dh14sj'])(
    'rejects %s',
    (id) => expect(isId('secret', id)).toBe(false),
  );
});

describe('canonical JSON', () => {
  it('sorts keys recursively and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null }, u: undefined })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('is stable under key reordering and parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});
