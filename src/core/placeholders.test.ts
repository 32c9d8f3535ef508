import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isPlaceholder, placeholderFor } from './placeholders.js';

const key = Buffer.alloc(32, 9);

describe('placeholders', () => {
  it('are vgph_ + 40 base62 characters', () => {
    const p = placeholderFor(key, 'agt_1', 'sec_1');
    expect(p).toMatch(/^vgph_[0-9A-Za-z]{40}$/);
    expect(isPlaceholder(p)).toBe(true);
  });

  it('are stable for one (agent, secret) and differ across agents, secrets and keys', () => {
    const p = placeholderFor(key, 'agt_1', 'sec_1');
    expect(placeholderFor(key, 'agt_1', 'sec_1')).toBe(p);
    expect(placeholderFor(key, 'agt_2', 'sec_1')).not.toBe(p);
    expect(placeholderFor(key, 'agt_1', 'sec_2')).not.toBe(p);
    expect(placeholderFor(Buffer.alloc(32, 1), 'agt_1', 'sec_1')).not.toBe(p);
    // The separator keeps (agent, secret) pairs from colliding by concatenation.
    expect(placeholderFor(key, 'agt_1s', 'ec_1')).not.toBe(placeholderFor(key, 'agt_1', 'sec_1'));
  });

  it('always have the full length', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => isPlaceholder(placeholderFor(key, a, b))), { numRuns: 300 });
  });

  it.each(['vgph_', 'vgph_' + 'a'.repeat(39), 'vgph_' + 'a'.repeat(41), 'vgph_' + '-'.repeat(40), 'VGPH_' + 'a'.repeat(40)])('rejects %s', (t) => {
    expect(isPlaceholder(t)).toBe(false);
  });
});
