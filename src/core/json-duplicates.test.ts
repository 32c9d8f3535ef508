// Table and property tests for duplicate-key detection in JSON text.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDuplicateKey } from './json-duplicates.js';

const DEPTH = 10_000;
const deepDuplicate = '{"a":'.repeat(DEPTH - 1) + '{"k":1,"k":2}' + '}'.repeat(DEPTH - 1);
const deepArrays = '['.repeat(DEPTH) + '{"k":1,"k":2}' + ']'.repeat(DEPTH);
const deepClean = '{"a":'.repeat(DEPTH) + '{"k":1}' + '}'.repeat(DEPTH);

const rows: [name: string, text: string, expected: string | null][] = [
  ['scalar', '42', null],
  ['string', '"a"', null],
  ['empty object', '{}', null],
  ['empty array', '[]', null],
  ['distinct keys', '{"a":1,"b":2}', null],
  ['root duplicate', '{"a":1,"a":2}', '/'],
  ['root duplicate with whitespace', '{ "a" : 1 ,\n "a" : 2 }', '/'],
  ['duplicate in nested object', '{"labels":{"env":"x","env":"y"}}', '/labels'],
  ['deeper nesting', '{"a":{"b":{"c":1,"c":1}}}', '/a/b'],
  ['array of objects', '{"items":[{"a":1},{"b":1,"b":2}]}', '/items/1'],
  ['root array', '[{"a":1,"a":1}]', '/0'],
  ['same key in sibling objects is fine', '{"x":{"a":1},"y":{"a":2}}', null],
  ['same key in parent and child is fine', '{"a":{"a":{"a":1}}}', null],
  ['objects inside arrays are separate', '[{"a":1},{"a":1}]', null],
  ['key equal to a value is fine', '{"a":"b","b":"a"}', null],
  ['unicode escape equals plain key', '{"a":1,"\\u0061":2}', '/'],
  ['escaped quote inside key', '{"a\\"b":1,"a\\"b":2}', '/'],
  ['escaped quote makes keys differ', '{"a\\"":1,"a":2}', null],
  ['escaped backslash before closing quote', '{"a\\\\":1,"a\\\\":2}', '/'],
  ['braces and quotes inside strings', '{"s":"{\\"a\\":1,\\"a\\":2}","t":"}]["}', null],
  ['brace-looking key then duplicate', '{"{":1,"}":2,"{":3}', '/'],
  ['surrogate pair escape equals literal', '{"😀":1,"\\ud83d\\ude00":2}', '/'],
  ['escaped slash equals plain slash', '{"a/b":1,"a\\/b":2}', '/'],
  ['first hit in text order wins', '{"x":{"a":1,"a":2},"x":3}', '/x'],
  ['outer duplicate found before inner', '{"x":1,"x":{"a":1,"a":2}}', '/'],
  ['pointer escapes ~ and /', '{"a/b~c":{"k":1,"k":2}}', '/a~1b~0c'],
  ['empty key segment', '{"":{"k":1,"k":2}}', '/'],
  ['key that needs decoding in path', '{"\\u0078":{"k":1,"k":2}}', '/x'],
  ['deep nesting without duplicates', deepClean, null],
  ['deep nesting with duplicate at the bottom', deepDuplicate, '/a'.repeat(DEPTH - 1)],
  ['deep arrays with duplicate at the bottom', deepArrays, '/0'.repeat(DEPTH)],
];

describe('findDuplicateKey', () => {
  it.each(rows)('%s', (_name, text, expected) => {
    expect(() => JSON.parse(text) as unknown).not.toThrow();
    expect(findDuplicateKey(text)).toBe(expected);
  });

  it('never returns the repeated key', () => {
    expect(findDuplicateKey('{"sk_live_secret":1,"sk_live_secret":2}')).toBe('/');
  });
});

describe('findDuplicateKey: properties', () => {
  it('finds nothing in JSON.stringify output', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(findDuplicateKey(JSON.stringify(value))).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  const escapeAll = (key: string): string =>
    `"${[...key].map((c) => [...c].map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')).join('')}"`;

  it('finds a key inserted twice, escaped or not, at its object path', () => {
    const object = fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 });
    const path = fc.array(fc.string(), { maxLength: 4 });
    fc.assert(
      fc.property(object, path, fc.nat(), fc.boolean(), fc.jsonValue(), (obj, segments, pick, escape, extra) => {
        const keys = Object.keys(obj);
        const key = keys[pick % keys.length] ?? '';
        const inner = JSON.stringify(obj);
        const repeated = escape ? escapeAll(key) : JSON.stringify(key);
        const withDuplicate = `${inner.slice(0, -1)},${repeated}:${JSON.stringify(extra)}}`;
        const text = segments.reduceRight((acc, segment) => `{${JSON.stringify(segment)}:${acc}}`, withDuplicate);
        const expected =
          segments.length === 0 ? '/' : segments.map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
        expect(() => JSON.parse(text) as unknown).not.toThrow();
        expect(findDuplicateKey(text)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});
