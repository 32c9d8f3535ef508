// Substitution: table tests for every token rule and surface, fast-check properties for any chunking.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placeholderFor } from './placeholders.js';
import {
  createSubstituter,
  encodeBytesURIComponent,
  headerValueRefused,
  substituteAll,
  substituteHeaderValue,
  substitutePercentEncoded,
  substitutionHoldback,
  type Block,
  type Resolution,
  type Resolve,
  type SubstitutionResult,
} from './substitution.js';

const key = Buffer.alloc(32, 7);
const ph = (secret: string, agent = 'agt_1'): string => placeholderFor(key, agent, secret);

const A = ph('sec_a');
const B = ph('sec_b');
const U = ph('sec_unicode');
const V = ph('sec_nested');
const E = ph('sec_empty');
const CR = ph('sec_crlf');
const LF = ph('sec_lf');
const CRONLY = ph('sec_cr');
const NUL = ph('sec_nul');
const SLASH = ph('sec_slash');
const RAW = ph('sec_raw');
const OTHER = ph('sec_a', 'agt_2');
const WRONG = ph('sec_wrong_host');
const UNKNOWN = `vgph_${'Z'.repeat(40)}`;

const values: Record<string, [secretId: string, value: Buffer]> = {
  [A]: ['sec_a', Buffer.from('[sk_live_A]')],
  [B]: ['sec_b', Buffer.from('<tok B>')],
  [U]: ['sec_unicode', Buffer.from('«pässwörd✓»')],
  [V]: ['sec_nested', Buffer.from(`(${A})`)],
  [E]: ['sec_empty', Buffer.alloc(0)],
  [CR]: ['sec_crlf', Buffer.from('a\r\nb')],
  [LF]: ['sec_lf', Buffer.from('a\nb')],
  [CRONLY]: ['sec_cr', Buffer.from('a\rb')],
  [NUL]: ['sec_nul', Buffer.from('a\0b')],
  [SLASH]: ['sec_slash', Buffer.from('a/b?c&d=e#f g+%')],
  [RAW]: ['sec_raw', Buffer.from([0xff, 0x80, 0x41, 0xe9])],
};

const resolve: Resolve = (p) => {
  if (p === OTHER) return { kind: 'block', reason: "another agent's placeholder", secretId: null };
  if (p === WRONG) return { kind: 'block', reason: 'host not allowed', secretId: 'sec_wrong_host' };
  const known = values[p];
  if (!known) return { kind: 'block', reason: 'unknown placeholder', secretId: null };
  return { kind: 'inject', secretId: known[0], value: known[1] };
};

const b62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const run = (n: number): string => Array.from({ length: n }, (_, i) => b62[(i * 7) % 62]).join('');
const val = (p: string): string => (values[p] as [string, Buffer])[1].toString('utf8');

/** Streams `input` through a substituter cut at `cuts` (positions), collecting everything. */
function streamed(input: Buffer, cuts: number[], r: Resolve = resolve): SubstitutionResult {
  const s = createSubstituter(r);
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of [...points, input.length]) {
    out.push(s.push(input.subarray(last, p)));
    last = p;
  }
  out.push(s.end());
  return { output: Buffer.concat(out), blocked: s.blocked, injected: s.injected };
}

const everyByte = (input: Buffer): number[] => Array.from({ length: input.length }, (_, i) => i);

type Expect = { out: string; injected?: string[] } | { blocked: Block; before: string; injected?: string[] };

/** Rows: [name, input, expected]. Each is checked whole, streamed whole, and in 1-byte chunks. */
const rows: [string, string, Expect][] = [
  ['empty input', '', { out: '' }],
  ['no placeholder', 'hello world', { out: 'hello world' }],
  ['placeholder alone', A, { out: val(A), injected: ['sec_a'] }],
  ['at start', `${A} rest`, { out: `${val(A)} rest` }],
  ['at end', `x=${A}`, { out: `x=${val(A)}` }],
  ['adjacent with a comma', `${A},${B}`, { out: `${val(A)},${val(B)}`, injected: ['sec_a', 'sec_b'] }],
  ['adjacent with a newline', `${A}\n${B}\n`, { out: `${val(A)}\n${val(B)}\n` }],
  ['back-to-back is one 85-character run: malformed', `${A}${B}`, { blocked: { reason: 'malformed placeholder', secretId: null }, before: '' }],
  ['same placeholder twice', `${A} ${A}`, { out: `${val(A)} ${val(A)}`, injected: ['sec_a'] }],
  ['inside JSON', `{"key":"${A}","b":["${B}"]}`, { out: `{"key":"${val(A)}","b":["${val(B)}"]}` }],
  ['bearer header text', `Bearer ${A}`, { out: `Bearer ${val(A)}` }],
  ['inside a URL', `https://x.test/p/${A}?k=${B}&z=1`, { out: `https://x.test/p/${val(A)}?k=${val(B)}&z=1` }],
  ['partial prefix v', 'v', { out: 'v' }],
  ['partial prefix vgp', 'a vgp', { out: 'a vgp' }],
  ['partial prefix vgph', 'vgph b', { out: 'vgph b' }],
  ['bare vgph_', 'vgph_', { out: 'vgph_' }],
  ['vgph_ then a space', 'vgph_ x', { out: 'vgph_ x' }],
  ['39 base62 then space: not a token', `vgph_${run(39)} x`, { out: `vgph_${run(39)} x` }],
  ['39 base62 at end of input: not a token', `x vgph_${run(39)}`, { out: `x vgph_${run(39)}` }],
  ['40 base62 unknown: blocked', `${UNKNOWN}`, { blocked: { reason: 'unknown placeholder', secretId: null }, before: '' }],
  ['41 base62: malformed', `vgph_${run(41)}`, { blocked: { reason: 'malformed placeholder', secretId: null }, before: '' }],
  ['known placeholder plus one base62 char: malformed', `ok ${A}0`, { blocked: { reason: 'malformed placeholder', secretId: null }, before: 'ok ' }],
  ['known placeholder plus 100 base62 chars: malformed', `${A}${run(100)}`, { blocked: { reason: 'malformed placeholder', secretId: null }, before: '' }],
  ['underscore after the token ends it', `${A}_x`, { out: `${val(A)}_x` }],
  ['dash after the token ends it', `${A}-x`, { out: `${val(A)}-x` }],
  ['base62 before is fine (no left boundary)', `x${A}`, { out: `x${val(A)}` }],
  ['underscore before', `_${A}`, { out: `_${val(A)}` }],
  ['vgph_ right before a placeholder', `vgph_${A}`, { out: `vgph_${val(A)}` }],
  ['short run containing vgph then a placeholder', `vgph_abc${A}`, { out: `vgph_abc${val(A)}` }],
  ['upper case prefix is text', `VGPH_${A.slice(5)}`, { out: `VGPH_${A.slice(5)}` }],
  ['vgph- is text', `vgph-${A.slice(5)}`, { out: `vgph-${A.slice(5)}` }],
  ['non-ASCII inside the 40 chars', `vgph_${run(20)}é${run(20)}`, { out: `vgph_${run(20)}é${run(20)}` }],
  ['unicode around', `é${A}✓ 日本`, { out: `é${val(A)}✓ 日本` }],
  ['unicode value', `[${U}]`, { out: `[${val(U)}]`, injected: ['sec_unicode'] }],
  ['a value holding a placeholder is not re-scanned', `${V}`, { out: `(${A})`, injected: ['sec_nested'] }],
  ['empty value', `a ${E}.b`, { out: 'a .b', injected: ['sec_empty'] }],
  ["another agent's placeholder", `x ${OTHER}`, { blocked: { reason: "another agent's placeholder", secretId: null }, before: 'x ' }],
  ['wrong host names the secret', `${A} ${WRONG}`, { blocked: { reason: 'host not allowed', secretId: 'sec_wrong_host' }, before: `${val(A)} `, injected: ['sec_a'] }],
  ['first block wins, nothing after it is resolved', `${WRONG} ${A} ${UNKNOWN}`, { blocked: { reason: 'host not allowed', secretId: 'sec_wrong_host' }, before: '', injected: [] }],
];

describe('substitution table', () => {
  it('has enough rows', () => expect(rows.length).toBeGreaterThanOrEqual(30));

  it.each(rows)('%s', (_name, text, expected) => {
    const input = Buffer.from(text);
    for (const result of [substituteAll(input, resolve), streamed(input, []), streamed(input, everyByte(input))]) {
      if ('out' in expected) {
        expect(result.blocked).toBeNull();
        expect(result.output.toString('utf8')).toBe(expected.out);
      } else {
        expect(result.blocked).toEqual(expected.blocked);
        expect(result.output.toString('utf8')).toBe(expected.before);
      }
      if (expected.injected) expect([...result.injected].sort()).toEqual(expected.injected);
    }
  });

  it('is byte-exact for bytes that are not UTF-8', () => {
    const input = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), Buffer.from(RAW), Buffer.from([0x80, 0xc3])]);
    const expected = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), Buffer.from([0xff, 0x80, 0x41, 0xe9]), Buffer.from([0x80, 0xc3])]);
    expect(substituteAll(input, resolve).output.equals(expected)).toBe(true);
    expect(streamed(input, everyByte(input)).output.equals(expected)).toBe(true);
  });
});

describe('streaming substituter', () => {
  it('passes text without a possible placeholder start through at once', () => {
    const s = createSubstituter(resolve);
    expect(s.push(Buffer.from('hello world')).toString()).toBe('hello world');
  });

  it('holds back only a suffix that could start a placeholder', () => {
    const s = createSubstituter(resolve);
    expect(s.push(Buffer.from('hello v')).toString()).toBe('hello ');
    expect(s.push(Buffer.from('gp')).toString()).toBe('');
    expect(s.push(Buffer.from('x')).toString()).toBe('vgpx');
    expect(s.push(Buffer.from(`ab vgph_${run(10)}`)).toString()).toBe('ab ');
    expect(s.push(Buffer.from(' ')).toString()).toBe(`vgph_${run(10)} `);
    expect(s.end().toString()).toBe('');
  });

  it('waits for the 41st character before injecting, then flushes at end', () => {
    const s = createSubstituter(resolve);
    expect(s.push(Buffer.from(A)).toString()).toBe('');
    expect(s.end().toString()).toBe(val(A));
    const t = createSubstituter(resolve);
    expect(t.push(Buffer.from(`x${A}`)).toString()).toBe('x');
    expect(t.push(Buffer.from(' ')).toString()).toBe(`${val(A)} `);
  });

  it('splits inside the prefix and inside the 40 characters give the whole-buffer result', () => {
    const s = createSubstituter(resolve);
    const out = [s.push(Buffer.from('a vg')), s.push(Buffer.from(A.slice(2, 20))), s.push(Buffer.from(A.slice(20))), s.push(Buffer.from('!')), s.end()];
    expect(Buffer.concat(out).toString()).toBe(`a ${val(A)}!`);
    expect([...s.injected]).toEqual(['sec_a']);
  });

  it('emits nothing after a block, and end() is empty too', () => {
    const s = createSubstituter(resolve);
    expect(s.push(Buffer.from(`ok ${UNKNOWN} `)).toString()).toBe('ok ');
    expect(s.blocked).toEqual({ reason: 'unknown placeholder', secretId: null });
    expect(s.push(Buffer.from(`more ${A} `)).length).toBe(0);
    expect(s.end().length).toBe(0);
    expect(s.injected.size).toBe(0);
  });

  it('blocks a malformed run as soon as the 41st character arrives', () => {
    const s = createSubstituter(resolve);
    expect(s.push(Buffer.from(`x ${A}`)).toString()).toBe('x ');
    expect(s.blocked).toBeNull();
    expect(s.push(Buffer.from('Q tail')).length).toBe(0);
    expect(s.blocked).toEqual({ reason: 'malformed placeholder', secretId: null });
  });

  it('refuses push after end', () => {
    const s = createSubstituter(resolve);
    s.end();
    expect(() => s.push(Buffer.from('x'))).toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const known = [A, B, U, V, E, RAW, OTHER, WRONG, UNKNOWN];
const segment = fc.oneof(
  fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)),
  fc.constantFrom(...known).map((p) => Buffer.from(p)),
  fc.constantFrom('v', 'vg', 'vgp', 'vgph', 'vgph_', ' ', '\n', 'é', '"', '_').map((s) => Buffer.from(s)),
  fc.string({ unit: fc.constantFrom(...b62), maxLength: 45 }).map((s) => Buffer.from(s)),
  fc.nat({ max: 44 }).chain((n) => fc.constantFrom(...known).map((p) => Buffer.from(p.slice(0, n)))),
);
const payload = fc.array(segment, { maxLength: 12 }).map((parts) => Buffer.concat(parts));
const chunking = fc.oneof(fc.array(fc.nat()), fc.constant<number[] | 'bytes'>('bytes'));
const cutsFor = (input: Buffer, c: number[] | 'bytes'): number[] => (c === 'bytes' ? everyByte(input) : c);

describe('substitution properties', () => {
  it('streaming equals whole-buffer substitution for any chunking', () => {
    fc.assert(
      fc.property(payload, chunking, (input, c) => {
        const whole = substituteAll(input, resolve);
        const s = streamed(input, cutsFor(input, c));
        expect(s.output.equals(whole.output)).toBe(true);
        expect(s.blocked).toEqual(whole.blocked);
        expect([...s.injected].sort()).toEqual([...whole.injected].sort());
      }),
      { numRuns: 500 },
    );
  });

  it('never emits a placeholder that resolved to inject', () => {
    // Values here start and end with a non-base62 byte and hold no placeholder, so a placeholder in
    // the output could only be one copied from the input.
    const injectable = [A, B, U];
    const guarded: Resolve = (p) => (injectable.includes(p) ? resolve(p) : { kind: 'block', reason: 'unknown placeholder', secretId: null });
    fc.assert(
      fc.property(payload, chunking, (input, c) => {
        const out = streamed(input, cutsFor(input, c), guarded).output;
        for (const p of injectable) expect(out.includes(Buffer.from(p))).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('holds back exactly the undecided tail, never more than 45 bytes', () => {
    // With each value equal to its placeholder, output length = input consumed.
    const identity: Resolve = (p) => ({ kind: 'inject', value: Buffer.from(p), secretId: p });
    /** Independent model: the undecided suffix after the last token that is already terminated. */
    const expectedHold = (text: string): number => {
      let from = 0;
      const token = /vgph_[0-9A-Za-z]{40}(?=[^0-9A-Za-z])/g;
      for (let m = token.exec(text); m; m = token.exec(text)) from = m.index + m[0].length;
      const m = /(?:vgph_[0-9A-Za-z]{0,40}|vgph|vgp|vg|v)$/.exec(text.slice(from));
      return m ? m[0].length : 0;
    };
    fc.assert(
      fc.property(payload, fc.array(fc.nat()), (input, cuts) => {
        const s = createSubstituter(identity);
        const points = [...new Set(cuts.map((x) => x % (input.length + 1)))].sort((a, b) => a - b);
        let last = 0;
        let emitted = 0;
        for (const p of [...points, input.length]) {
          emitted += s.push(input.subarray(last, p)).length;
          last = p;
          if (s.blocked) return;
          const held = p - emitted;
          expect(held).toBe(expectedHold(input.toString('latin1', 0, p)));
          expect(held).toBeLessThanOrEqual(substitutionHoldback);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('consults resolve once per token, in order, and never after a block', () => {
    fc.assert(
      fc.property(payload, chunking, (input, c) => {
        const seen: string[] = [];
        const spy: Resolve = (p): Resolution => {
          seen.push(p);
          return resolve(p);
        };
        const wholeSeen: string[] = [];
        substituteAll(input, (p) => {
          wholeSeen.push(p);
          return resolve(p);
        });
        streamed(input, cutsFor(input, c), spy);
        expect(seen).toEqual(wholeSeen);
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Header values

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const latin1 = (s: string): string => Buffer.from(s).toString('latin1');
const refused = { blocked: { reason: headerValueRefused, secretId: expect.any(String) } };

const headerRows: [string, string, { value: string; injected?: string[] } | { blocked: unknown }][] = [
  ['no placeholder', 'application/json', { value: 'application/json', injected: [] }],
  ['bearer', `Bearer ${A}`, { value: `Bearer ${val(A)}`, injected: ['sec_a'] }],
  ['raw header value with a unicode value (latin1 string)', `Token ${U}`, { value: latin1(`Token ${val(U)}`) }],
  ['Basic user:placeholder', `Basic ${b64(`user:${A}`)}`, { value: `Basic ${b64(`user:${val(A)}`)}`, injected: ['sec_a'] }],
  ['Basic placeholder:x', `Basic ${b64(`${A}:x`)}`, { value: `Basic ${b64(`${val(A)}:x`)}`, injected: ['sec_a'] }],
  ['Basic with both parts', `Basic ${b64(`${A}:${B}`)}`, { value: `Basic ${b64(`${val(A)}:${val(B)}`)}`, injected: ['sec_a', 'sec_b'] }],
  ['basic scheme in lower case', `basic ${b64(`u:${A}`)}`, { value: `basic ${b64(`u:${val(A)}`)}` }],
  // git: `x-access-token:` + a placeholder is 63 bytes, whose base64 needs no padding; the value's may.
  ['Basic that needed no padding, value needing one =', `Basic ${b64(`x-access-token:${A}`)}`, { value: `Basic ${b64(`x-access-token:${val(A)}`)}` }],
  ['Basic that needed no padding, value needing two', `Basic ${b64(`x-access-token:${B}`)}`, { value: `Basic ${b64(`x-access-token:${val(B)}`)}` }],
  ['Basic unpadded stays unpadded', `Basic ${b64(`u:${A}`).replace(/=+$/, '')}`, { value: `Basic ${b64(`u:${val(A)}`).replace(/=+$/, '')}` }],
  ['Basic without a placeholder keeps its bytes', 'Basic dXNlcjpwYXNzMQ', { value: 'Basic dXNlcjpwYXNzMQ', injected: [] }],
  ['Basic with a 39-char run keeps its bytes', `Basic ${b64(`u:vgph_${run(39)}`)}`, { value: `Basic ${b64(`u:vgph_${run(39)}`)}` }],
  ['Basic with a malformed run', `Basic ${b64(`u:${A}0`)}`, { blocked: { reason: 'malformed placeholder', secretId: null } }],
  ['Basic with a wrong-host placeholder', `Basic ${b64(`u:${WRONG}`)}`, { blocked: { reason: 'host not allowed', secretId: 'sec_wrong_host' } }],
  ['Basic with a CRLF value', `Basic ${b64(`u:${CR}`)}`, refused],
  ['CRLF value', `Bearer ${CR}`, refused],
  ['CR value', `Bearer ${CRONLY}`, refused],
  ['LF value', `Bearer ${LF}`, refused],
  ['NUL value', `Bearer ${NUL}`, refused],
  ['unknown placeholder', `Bearer ${UNKNOWN}`, { blocked: { reason: 'unknown placeholder', secretId: null } }],
  ['not base64 is plain text', `Basic ${A}`, { value: `Basic ${val(A)}` }],
  ['non-canonical base64 is left alone', 'Basic dXNlcjpwYXNzMR', { value: 'Basic dXNlcjpwYXNzMR', injected: [] }],
];

describe('substituteHeaderValue', () => {
  it.each(headerRows)('%s', (_name, value, expected) => {
    const result = substituteHeaderValue(value, resolve);
    if ('blocked' in expected) {
      expect(result).toEqual(expected);
      return;
    }
    if (!('value' in result)) throw new Error(`blocked: ${result.blocked.reason}`);
    expect(result.value).toBe(expected.value);
    if (expected.injected) expect([...result.injected].sort()).toEqual(expected.injected);
  });

  it('writes non-UTF-8 values byte-exact as latin1', () => {
    const result = substituteHeaderValue(`X ${RAW}`, resolve);
    if (!('value' in result)) throw new Error('blocked');
    expect(Buffer.from(result.value, 'latin1').equals(Buffer.concat([Buffer.from('X '), Buffer.from([0xff, 0x80, 0x41, 0xe9])]))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Path and query

const pctAll = (s: string): string => [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
const enc = (p: string): string => encodeURIComponent(val(p));

const percentRows: [string, string, { value: string; injected?: string[] } | { blocked: Block }][] = [
  ['literal in a path', `/v1/${A}/x`, { value: `/v1/${enc(A)}/x`, injected: ['sec_a'] }],
  ['literal in a query', `?k=${A}&j=${B}`, { value: `?k=${enc(A)}&j=${enc(B)}`, injected: ['sec_a', 'sec_b'] }],
  ['underscore encoded upper case', `/p/vgph%5F${A.slice(5)}`, { value: `/p/${enc(A)}` }],
  ['underscore encoded lower case', `/p/vgph%5f${A.slice(5)}`, { value: `/p/${enc(A)}` }],
  ['every character encoded', `/p/${pctAll(A)}`, { value: `/p/${enc(A)}` }],
  ['every character encoded, mixed hex case', `/p/${pctAll(A).replace(/%([0-9a-f])([0-9a-f])/g, (_m, x: string, y: string) => `%${x}${y.toUpperCase()}`)}`, { value: `/p/${enc(A)}` }],
  ['other escapes are kept byte for byte', `/a%2Fb/${A}?q=%2f%20+`, { value: `/a%2Fb/${enc(A)}?q=%2f%20+` }],
  ['a value with reserved characters is encoded', `/x/${SLASH}`, { value: `/x/${encodeURIComponent('a/b?c&d=e#f g+%')}` }],
  ['a unicode value is encoded like encodeURIComponent', `/x/${U}`, { value: `/x/${enc(U)}` }],
  ['a non-UTF-8 value is encoded byte by byte', `/x/${RAW}`, { value: '/x/%FF%80A%E9' }],
  ['double encoding is not decoded twice', `/p/vgph%255F${A.slice(5)}`, { value: `/p/vgph%255F${A.slice(5)}`, injected: [] }],
  ['39 characters encoded: not a token', `/p/vgph%5F${run(39)}`, { value: `/p/vgph%5F${run(39)}` }],
  ['41 characters encoded: malformed', `/p/vgph%5F${run(41)}`, { blocked: { reason: 'malformed placeholder', secretId: null } }],
  ['placeholder then an encoded base62 char: malformed', `/p/${A}%30`, { blocked: { reason: 'malformed placeholder', secretId: null } }],
  ['placeholder then an encoded space ends it', `/p/${A}%20x`, { value: `/p/${enc(A)}%20x` }],
  ['unknown encoded placeholder blocks', `/p/${pctAll(UNKNOWN)}`, { blocked: { reason: 'unknown placeholder', secretId: null } }],
  ['invalid escapes are text', `/p/%zz/${A}/%`, { value: `/p/%zz/${enc(A)}/%` }],
  ['raw non-ASCII characters are kept', `/é/${A}/✓`, { value: `/é/${enc(A)}/✓` }],
  ['no placeholder at all', '/v1/charges?limit=10', { value: '/v1/charges?limit=10', injected: [] }],
];

describe('substitutePercentEncoded', () => {
  it.each(percentRows)('%s', (_name, text, expected) => {
    const result = substitutePercentEncoded(text, resolve);
    if ('blocked' in expected) {
      expect(result).toEqual(expected);
      return;
    }
    if (!('value' in result)) throw new Error(`blocked: ${result.blocked.reason}`);
    expect(result.value).toBe(expected.value);
    if (expected.injected) expect([...result.injected].sort()).toEqual(expected.injected);
  });

  it('encodes bytes exactly like encodeURIComponent encodes UTF-8 text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        expect(encodeBytesURIComponent(Buffer.from(s))).toBe(encodeURIComponent(s));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves text without placeholders unchanged', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        fc.pre(!/vgph|%/i.test(s));
        expect(substitutePercentEncoded(s, resolve)).toEqual({ value: s, injected: new Set() });
      }),
      { numRuns: 300 },
    );
  });
});
