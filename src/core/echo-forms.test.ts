// Echo forms: a table per form, then a property: a random value, embedded in random text in each
// form an encoder writes, never survives the compiled scrubber.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64Core, echoForms, jsonForms, minFormLength, scrubForms } from './echo-forms.js';
import { compileScrub } from './scrub.js';

const P = 'vgph_0123456789abcdefghijABCDEFGHIJklmnopqrst';
const scrubberFor = (value: string | Buffer) => compileScrub(scrubForms([{ value: Buffer.from(value), placeholder: Buffer.from(P) }]));
const scrubbed = (value: string | Buffer, text: string) => scrubberFor(value).scrub(Buffer.from(text, 'utf8')).toString('utf8');

/** [form, value, how an upstream wrote it back]. */
const table: [string, string, string][] = [
  ['raw', 'sk_live_abc123', 'sk_live_abc123'],
  ['upper', 'sk_live_abc123', 'SK_LIVE_ABC123'],
  ['lower', 'SK_LIVE_ABC123xyz', 'sk_live_abc123xyz'],
  ['JSON: quote and backslash', 'pa"ss\\word!', 'pa\\"ss\\\\word!'],
  ['JSON: slash as \\/ (PHP)', 'https://user:pw@db/x', 'https:\\/\\/user:pw@db\\/x'],
  ['JSON: non-ASCII as \\u (Python)', 'pässwörd-123', 'p\\u00e4ssw\\u00f6rd-123'],
  ['JSON: non-ASCII as \\u, upper hex', 'pässwörd-123', 'p\\u00E4ssw\\u00F6rd-123'],
  ['JSON: HTML-safe (Go)', 'a<b>&c\'d-secret', 'a\\u003cb\\u003e\\u0026c\\u0027d-secret'],
  ['JSON: control characters as \\u00XX', 'line1\nline2\tx', 'line1\\u000aline2\\u0009x'],
  ['JSON: every non-alphanumeric escaped', 'k-e.y/1', 'k\\u002de\\u002ey\\u002f1'],
  ['JSON: every character escaped', 'secret99', '\\u0073\\u0065\\u0063\\u0072\\u0065\\u0074\\u0039\\u0039'],
  ['JSON: astral character', 'key-😀-value', 'key-\\ud83d\\ude00-value'],
  ['base64 of the bare value, padded', 'sk_live_abcdefgh1', Buffer.from('sk_live_abcdefgh1').toString('base64')],
  ['base64 of the bare value, unpadded', 'sk_live_abcdefgh1', Buffer.from('sk_live_abcdefgh1').toString('base64').replace(/=+$/, '')],
  ['base64url of the bare value', 'sk_live_>>??>>??1', Buffer.from('sk_live_>>??>>??1').toString('base64url')],
  ['hex, lower case', 'sk_live_abc123', Buffer.from('sk_live_abc123').toString('hex')],
  ['hex, upper case', 'sk_live_abc123', Buffer.from('sk_live_abc123').toString('hex').toUpperCase()],
  ['percent (encodeURIComponent)', 'a b/c?d=e&f', encodeURIComponent('a b/c?d=e&f')],
  ['percent, lower-case hex', 'a b/c?d=e&f', encodeURIComponent('a b/c?d=e&f').replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())],
  ['form encoding (space as +)', 'a b/c?d=e&f', new URLSearchParams({ k: 'a b/c?d=e&f' }).toString().slice(2)],
  ['percent, every byte', 'abcdefgh', [...Buffer.from('abcdefgh')].map((b) => `%${b.toString(16).toUpperCase()}`).join('')],
];

describe('each form, embedded in other text, becomes the placeholder', () => {
  it.each(table)('%s', (_form, value, echoed) => {
    expect(scrubbed(value, `{"echo":"${echoed}","n":1}`)).toBe(`{"echo":"${P}","n":1}`);
  });

  it.each([0, 1, 2])('base64 at alignment %i inside a larger blob: the value-only characters are replaced', (align) => {
    const value = Buffer.from('sk_live_0123456789abcdef');
    const blob = Buffer.concat([Buffer.from('xyz'.slice(0, align) + 'prefix-data:'), value, Buffer.from(':suffix')]);
    for (const url of [false, true]) {
      const encoded = blob.toString(url ? 'base64url' : 'base64');
      const out = scrubbed(value, encoded);
      expect(out).toContain(P);
      expect(Buffer.from(out, 'base64').includes(value)).toBe(false);
    }
  });
});

describe('form generation', () => {
  it('puts the raw value first and drops duplicates', () => {
    const forms = echoForms(Buffer.from('abcdefgh'), Buffer.from(P));
    expect(forms[0]!.form).toBe('raw');
    const keys = forms.map((f) => f.value.toString('latin1'));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it(`leaves out derived forms shorter than ${minFormLength} bytes (they would match innocent text)`, () => {
    const forms = echoForms(Buffer.from('abc'), Buffer.from(P));
    // 'ABC', 'YWJj', '616263' are too short; fully \u- or %-escaped forms are long enough to be specific.
    expect(forms.map((f) => f.value.toString())).toEqual(['abc', '\\u0061\\u0062\\u0063', '%61%62%63']);
    expect(forms.slice(1).every((f) => f.value.length >= minFormLength)).toBe(true);
  });

  it('gives no JSON forms for bytes that are not UTF-8 text', () => {
    expect(echoForms(Buffer.from([0xff, 0xfe, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46]), Buffer.from(P)).some((f) => f.form === 'json')).toBe(false);
  });

  it('base64Core keeps only characters that depend on the value alone', () => {
    const value = Buffer.from('0123456789');
    for (const align of [0, 1, 2] as const) {
      const core = base64Core(value, align, false);
      for (const fill of [0x00, 0xff, 0x41]) {
        const blob = Buffer.concat([Buffer.alloc(align, fill), value, Buffer.alloc(3, fill)]).toString('base64');
        expect(blob).toContain(core);
      }
    }
  });

  it('jsonForms includes what JSON.stringify writes', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', minLength: 1 }), (text) => jsonForms(text).includes(JSON.stringify(text).slice(1, -1))));
  });
});

/** The encoders an upstream may use, applied to a whole echoed text; each with its decoder. */
const encoders: [string, (b: Buffer) => string, (s: string) => Buffer][] = [
  ['raw', (b) => b.toString('utf8'), (s) => Buffer.from(s, 'utf8')],
  ['JSON', (b) => JSON.stringify(b.toString('utf8')), (s) => Buffer.from(JSON.parse(s) as string, 'utf8')],
  ['JSON, ASCII only', (b) => JSON.stringify(b.toString('utf8')).replace(/[^\x00-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), (s) => Buffer.from(JSON.parse(s) as string, 'utf8')],
  ['JSON, \\/', (b) => JSON.stringify(b.toString('utf8')).replace(/\//g, '\\/'), (s) => Buffer.from(JSON.parse(s) as string, 'utf8')],
  ['base64', (b) => b.toString('base64'), (s) => Buffer.from(s, 'base64')],
  ['base64url', (b) => b.toString('base64url'), (s) => Buffer.from(s, 'base64url')],
  ['hex', (b) => b.toString('hex'), (s) => Buffer.from(s.replace(/[^0-9a-f]/g, ''), 'hex')],
  ['HEX', (b) => b.toString('hex').toUpperCase(), (s) => Buffer.from(s.replace(/[^0-9A-F]/g, ''), 'hex')],
  ['percent', (b) => encodeURIComponent(b.toString('utf8')), (s) => Buffer.from(decodeURIComponent(s.replace(/%(?![0-9A-Fa-f]{2})/g, '%25')), 'utf8')],
];

describe('property: an echoed value never survives', () => {
  const valueArb = fc.string({ unit: 'grapheme', minLength: 8, maxLength: 40 }).filter((v) => Buffer.byteLength(v) >= 8);
  const textArb = fc.string({ unit: 'grapheme', maxLength: 30 });
  for (const [name, encode, decode] of encoders) {
    it(`${name}: value inside random text, encoded whole, streamed in random chunks`, () => {
      fc.assert(
        fc.property(valueArb, textArb, textArb, fc.array(fc.nat(), { maxLength: 6 }), (value, before, after, cuts) => {
          const secret = Buffer.from(value, 'utf8');
          const echoed = Buffer.from(encode(Buffer.from(before + value + after, 'utf8')), 'latin1');
          const stream = scrubberFor(secret).stream();
          const points = [...new Set(cuts.map((c) => c % (echoed.length + 1)))].sort((a, b) => a - b);
          const parts: Buffer[] = [];
          let last = 0;
          for (const p of [...points, echoed.length]) {
            parts.push(stream.push(echoed.subarray(last, p)));
            last = p;
          }
          parts.push(stream.end());
          const out = Buffer.concat(parts).toString('latin1');
          let decoded: Buffer;
          try {
            decoded = decode(out);
          } catch {
            decoded = Buffer.from(out, 'latin1');
          }
          expect(decoded.includes(secret)).toBe(false);
          expect(Buffer.from(out, 'latin1').includes(secret)).toBe(false);
        }),
        { numRuns: 150 },
      );
    });
  }
});
