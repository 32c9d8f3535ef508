// Response scrubbing: table tests for overlaps and prefixes, fast-check properties for any chunking.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chainScrubs, compileScrub, createScrubber, scrubAll, type ScrubValue } from './scrub.js';

const v = (value: string | Buffer, placeholder: string): ScrubValue => ({ value: Buffer.from(value), placeholder: Buffer.from(placeholder) });

/** Streams `input` through a scrubber cut at `cuts`, collecting everything. */
function streamed(input: Buffer, values: ScrubValue[], cuts: number[]): Buffer {
  const s = createScrubber(values);
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of [...points, input.length]) {
    out.push(s.push(input.subarray(last, p)));
    last = p;
  }
  out.push(s.end());
  return Buffer.concat(out);
}

const everyByte = (input: Buffer): number[] => Array.from({ length: input.length }, (_, i) => i);

const secret = v('secret', '<S>');
const sec = v('sec', '<s>');

/** Rows: [name, values, input, expected]. Each is checked whole, streamed whole, and in 1-byte chunks. */
const rows: [string, ScrubValue[], string | Buffer, string | Buffer][] = [
  ['no values', [], 'secret stuff', 'secret stuff'],
  ['empty input', [secret], '', ''],
  ['one value once', [secret], 'the secret is out', 'the <S> is out'],
  ['at start and end', [secret], 'secret and secret', '<S> and <S>'],
  ['back to back', [secret], 'secretsecret', '<S><S>'],
  ['near miss', [secret], 'secre t secreT', 'secre t secreT'],
  ['prefix values: the longest wins', [sec, secret], 'secret', '<S>'],
  ['prefix values, listed the other way', [secret, sec], 'secret', '<S>'],
  ['prefix values: only the short one completes', [sec, secret], 'secre', '<s>re'],
  ['prefix values at the very end', [sec, secret], 'x sec', 'x <s>'],
  ['overlapping values: leftmost wins', [v('abc', '<abc>'), v('bcd', '<bcd>')], 'abcd', '<abc>d'],
  ['overlapping values: leftmost even when shorter', [v('bcd', '<bcd>'), v('ab', '<ab>')], 'abcd', '<ab>cd'],
  ['chain of prefixes', [v('ab', '1'), v('abc', '2'), v('abcd', '3')], 'abcabcdab', '231'],
  ['equal values: the first listed wins', [v('tok', '<first>'), v('tok', '<second>')], 'a tok', 'a <first>'],
  ['self-overlapping value', [v('aa', '<aa>')], 'aaa', '<aa>a'],
  ['self-overlapping value, even count', [v('aa', '<aa>')], 'aaaa', '<aa><aa>'],
  ['one-byte value', [v('a', '_')], 'banana', 'b_n_n_'],
  ['a placeholder holding the value is not re-scanned', [v('x', 'xx')], 'axb', 'axxb'],
  ['unicode value', [v('pässwörd', 'vgph_P')], '{"pw":"pässwörd"}', '{"pw":"vgph_P"}'],
  ['binary value with NUL bytes', [v(Buffer.from([0, 255, 0]), '#')], Buffer.from([1, 0, 255, 0, 0, 255, 0, 0]), Buffer.from([1, 0x23, 0x23, 0])],
  ['value longer than the input', [v('a long secret value', 'X')], 'a long', 'a long'],
];

describe('scrub table', () => {
  it('has enough rows', () => expect(rows.length).toBeGreaterThanOrEqual(15));

  it.each(rows)('%s', (_name, values, text, expected) => {
    const input = Buffer.from(text);
    const want = Buffer.from(expected);
    expect(scrubAll(input, values).equals(want)).toBe(true);
    expect(streamed(input, values, []).equals(want)).toBe(true);
    expect(streamed(input, values, everyByte(input)).equals(want)).toBe(true);
  });
});

describe('streaming scrubber', () => {
  it('passes chunks through untouched (same Buffer) when there are no values', () => {
    const s = createScrubber([]);
    const chunk = Buffer.from('anything');
    expect(s.push(chunk)).toBe(chunk);
    expect(s.end().length).toBe(0);
  });

  it('holds back only a tail that is a proper prefix of a value', () => {
    const s = createScrubber([secret]);
    expect(s.push(Buffer.from('xx sec')).toString()).toBe('xx ');
    expect(s.push(Buffer.from('re')).toString()).toBe('');
    expect(s.push(Buffer.from('t!')).toString()).toBe('<S>!');
    expect(s.push(Buffer.from('no match here')).toString()).toBe('no match here');
    expect(s.push(Buffer.from('secre')).toString()).toBe('');
    expect(s.end().toString()).toBe('secre');
  });

  it('holds a complete shorter value while a longer one may still complete', () => {
    const s = createScrubber([sec, secret]);
    expect(s.push(Buffer.from('a sec')).toString()).toBe('a ');
    expect(s.push(Buffer.from('x')).toString()).toBe('<s>x');
  });

  it('refuses empty values and push after end', () => {
    expect(() => createScrubber([v('', 'x')])).toThrow(RangeError);
    expect(() => scrubAll(Buffer.from('a'), [v('', 'x')])).toThrow(RangeError);
    const s = createScrubber([secret]);
    s.end();
    expect(() => s.push(Buffer.from('x'))).toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

/** A small alphabet makes overlaps, prefixes and near misses frequent. */
const small = fc.constantFrom(0x00, 0x01, 0x02, 0xff);
const bytesOf = (arb: fc.Arbitrary<number>, min: number, max: number): fc.Arbitrary<Buffer> =>
  fc.array(arb, { minLength: min, maxLength: max }).map((a) => Buffer.from(a));
const valueList = fc.array(
  fc.record({ value: bytesOf(small, 1, 6), placeholder: bytesOf(fc.integer({ min: 0x41, max: 0x5a }), 1, 4) }),
  { maxLength: 5 },
);
const payload = (values: ScrubValue[]): fc.Arbitrary<Buffer> =>
  fc
    .array(fc.oneof(bytesOf(small, 0, 8), ...(values.length > 0 ? [fc.constantFrom(...values.map((x) => x.value))] : [])), { maxLength: 12 })
    .map((parts) => Buffer.concat(parts));
const chunking = fc.oneof(fc.array(fc.nat()), fc.constant<number[] | 'bytes'>('bytes'));
const cutsFor = (input: Buffer, c: number[] | 'bytes'): number[] => (c === 'bytes' ? everyByte(input) : c);
const withInput = valueList.chain((values) => fc.tuple(fc.constant(values), payload(values), chunking));

describe('scrub properties', () => {
  it('streaming equals scrubAll for any chunking', () => {
    fc.assert(
      fc.property(withInput, ([values, input, c]) => {
        expect(streamed(input, values, cutsFor(input, c)).equals(scrubAll(input, values))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never lets a value through', () => {
    // Placeholders are non-empty and share no byte with values (real ones are vgph_ + 40 base62),
    // so a value can neither span a placeholder nor be formed by joining bytes around one.
    fc.assert(
      fc.property(withInput, ([values, input, c]) => {
        const out = streamed(input, values, cutsFor(input, c));
        for (const x of values) expect(out.includes(x.value)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('holds back at most maxValueLength - 1 bytes', () => {
    fc.assert(
      fc.property(withInput, ([values, input, c]) => {
        // Each placeholder equals its value, so output length = input consumed.
        const identity = values.map((x) => ({ value: x.value, placeholder: x.value }));
        const max = Math.max(1, ...values.map((x) => x.value.length));
        const s = createScrubber(identity);
        const points = [...new Set(cutsFor(input, c).map((x) => x % (input.length + 1)))].sort((a, b) => a - b);
        let last = 0;
        let emitted = 0;
        for (const p of [...points, input.length]) {
          emitted += s.push(input.subarray(last, p)).length;
          last = p;
          expect(p - emitted).toBeLessThanOrEqual(max - 1);
        }
        expect(emitted + s.end().length).toBe(input.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('chainScrubs', () => {
  it('streams the same as scrubbing with the first, then the second, whole (any chunking)', () => {
    const first = [v('Basic dXNlcjpzZWNyZXQ=', 'Basic <agent>'), v('sec', '<s>')];
    const second = [v('secret', '<S>'), v('user', '<U>')];
    const input = Buffer.from('a: Basic dXNlcjpzZWNyZXQ= b: secret c: user sec');
    const want = scrubAll(scrubAll(input, first), second);
    const chained = chainScrubs(compileScrub(first), compileScrub(second));
    expect(chained.scrub(input).equals(want)).toBe(true);
    for (const cuts of [[], everyByte(input), [3, 9, 27]]) {
      const s = chained.stream();
      const points = [...cuts, input.length];
      const out: Buffer[] = [];
      let last = 0;
      for (const p of points) {
        out.push(s.push(input.subarray(last, p)));
        last = p;
      }
      out.push(s.end());
      expect(Buffer.concat(out).toString()).toBe(want.toString());
    }
  });
});
