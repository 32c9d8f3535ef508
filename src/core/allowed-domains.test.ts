// Table tests for allowed_domains write-time validation: every refusal rule, every normalization.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeAllowedDomains } from './allowed-domains.js';

const label63 = 'a'.repeat(63);
const host253 = [label63, label63, label63, 'b'.repeat(61)].join('.');
const host254 = `${host253}c`;
const punycodeOver253 = Array.from({ length: 10 }, () => 'ü'.repeat(20)).join('.') + '.com';

/** Single entries that are accepted, with their normalized form. */
const accepted: [entry: string, normalized: string][] = [
  ['api.stripe.com', 'api.stripe.com'],
  ['API.Stripe.COM', 'api.stripe.com'],
  ['api.stripe.com.', 'api.stripe.com'],
  ['*.stripe.com', '*.stripe.com'],
  ['*.Stripe.Com.', '*.stripe.com'],
  ['*.example.co.uk', '*.example.co.uk'],
  ['*.a.github.io', '*.a.github.io'],
  ['*.bucket.s3.amazonaws.com', '*.bucket.s3.amazonaws.com'],
  ['*.foo.internal', '*.foo.internal'],
  ['*.city.kawasaki.jp', '*.city.kawasaki.jp'],
  ['bücher.example', 'xn--bcher-kva.example'],
  ['*.Bücher.Example.', '*.xn--bcher-kva.example'],
  ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
  ['ＡＰＩ.example.com', 'api.example.com'],
  ['api.stripe.com:443', 'api.stripe.com'],
  ['api.stripe.com.:443', 'api.stripe.com'],
  ['api.stripe.com:8443', 'api.stripe.com:8443'],
  ['*.stripe.com:8443', '*.stripe.com:8443'],
  ['*.stripe.com:443', '*.stripe.com'],
  ['localhost', 'localhost'],
  ['localhost:8080', 'localhost:8080'],
  ['host:1', 'host:1'],
  ['host:65535', 'host:65535'],
  ['my_host.example.com', 'my_host.example.com'],
  ['a-b.example.com', 'a-b.example.com'],
  ['1a.example.com', '1a.example.com'],
  ['example.com1', 'example.com1'],
  [`${label63}.com`, `${label63}.com`],
  [host253, host253],
];

/** Single entries that are refused, with the exact reason. */
const refused: [entry: string, reason: string][] = [
  ['', 'empty entry'],
  [host254, 'entry too long'],
  [punycodeOver253, 'host name too long'],
  ['*', 'bare wildcard'],
  ['a.*.com', 'inner wildcard'],
  ['*foo.com', 'inner wildcard'],
  ['foo*.com', 'inner wildcard'],
  ['**.com', 'inner wildcard'],
  ['*.*.stripe.com', 'inner wildcard'],
  ['api.stripe.*', 'inner wildcard'],
  ['https://api.stripe.com', 'scheme not allowed'],
  ['ftp://a.example.com', 'scheme not allowed'],
  ['mailto:ops', 'scheme not allowed'],
  ['https:', 'scheme not allowed'],
  ['api.stripe.com/v1', 'path not allowed'],
  ['api.stripe.com?x=1', 'query not allowed'],
  ['api.stripe.com#frag', 'fragment not allowed'],
  ['user@api.stripe.com', 'userinfo not allowed'],
  ['user:pw@api.stripe.com', 'userinfo not allowed'],
  ['a\\b.example.com', 'invalid character'],
  ['a%41.example.com', 'invalid character'],
  ['a]b.example.com', 'invalid character'],
  ['a b.example.com', 'whitespace'],
  ['a\tb.example.com', 'whitespace'],
  ['api.stripe.com\n', 'whitespace'],
  ['\u00a0api.stripe.com', 'whitespace'],
  ['a\u0000b.example.com', 'control character'],
  ['a\u007fb.example.com', 'control character'],
  ['1.2.3.4', 'ip literals not allowed'],
  ['1.2.3.4:8443', 'ip literals not allowed'],
  ['127.1', 'ip literals not allowed'],
  ['0x7f.0.0.1', 'ip literals not allowed'],
  ['example.123', 'ip literals not allowed'],
  ['example.0x1f', 'ip literals not allowed'],
  ['１２７.０.０.１', 'ip literals not allowed'],
  ['*.10.0.0', 'ip literals not allowed'],
  ['[::1]', 'ip literals not allowed'],
  ['[::1]:443', 'ip literals not allowed'],
  ['::1', 'ip literals not allowed'],
  ['fe80::1', 'ip literals not allowed'],
  ['api.stripe.com:0', 'invalid port'],
  ['api.stripe.com:65536', 'invalid port'],
  ['api.stripe.com:0443', 'invalid port'],
  ['api.stripe.com:+443', 'invalid port'],
  ['api.stripe.com:-1', 'invalid port'],
  ['api.stripe.com:', 'invalid port'],
  ['api.stripe.com:https', 'invalid port'],
  ['api.stripe.com:443:443', 'invalid port'],
  ['api.stripe.com:99999999999999999999', 'invalid port'],
  [':443', 'invalid host name'],
  ['.', 'invalid host name'],
  ['*.', 'invalid host name'],
  ['a!b.example.com', 'invalid host name'],
  ['＊.example.com', 'invalid host name'],
  ['xn--a.example.com', 'invalid host name'],
  ['a..b.example.com', 'empty label'],
  ['.api.stripe.com', 'empty label'],
  ['api.stripe.com..', 'empty label'],
  ['a．．b.example.com', 'empty label'],
  [`${'a'.repeat(64)}.com`, 'label too long'],
  ['-api.stripe.com', 'label starts or ends with a hyphen'],
  ['api-.stripe.com', 'label starts or ends with a hyphen'],
  ['*.com', 'wildcard over a public suffix'],
  ['*.co.uk', 'wildcard over a public suffix'],
  ['*.github.io', 'wildcard over a public suffix'],
  ['*.s3.amazonaws.com', 'wildcard over a public suffix'],
  ['*.foo.kawasaki.jp', 'wildcard over a public suffix'],
  ['*.uk', 'wildcard over a public suffix'],
  ['*.localhost', 'wildcard over a single label'],
  ['*.internal', 'wildcard over a single label'],
];

describe('normalizeAllowedDomains: single entries', () => {
  it.each(accepted)('accepts %j as %j', (entry, normalized) => {
    expect(normalizeAllowedDomains([entry])).toEqual({ ok: true, domains: [normalized] });
  });

  it.each(refused)('refuses %j: %s', (entry, reason) => {
    expect(normalizeAllowedDomains([entry])).toEqual({ ok: false, index: 0, reason });
    if (entry.length >= 4) expect(reason).not.toContain(entry);
  });
});

describe('normalizeAllowedDomains: lists', () => {
  const many = (n: number): string[] => Array.from({ length: n }, (_, i) => `h${i}.example.com`);
  const lists: [name: string, input: string[], expected: unknown][] = [
    ['empty list', [], { ok: true, domains: [] }],
    ['a non-string entry from untyped JSON', ['a.example.com', 42 as unknown as string], { ok: false, index: 1, reason: 'entry must be a string' }],
    [
      'dedupes after normalization, keeping the first',
      ['a.example.com', 'A.example.com', 'a.example.com.', 'a.example.com:443', 'b.example.com'],
      { ok: true, domains: ['a.example.com', 'b.example.com'] },
    ],
    ['keeps original order', ['b.example.com', 'a.example.com', 'b.example.com'], { ok: true, domains: ['b.example.com', 'a.example.com'] }],
    ['a non-default port is a different entry', ['a.example.com:8443', 'a.example.com'], { ok: true, domains: ['a.example.com:8443', 'a.example.com'] }],
    ['unicode and punycode forms are duplicates', ['bücher.example', 'xn--bcher-kva.example'], { ok: true, domains: ['xn--bcher-kva.example'] }],
    ['reports the first bad index', ['a.example.com', '*.com', 'https://x'], { ok: false, index: 1, reason: 'wildcard over a public suffix' }],
    ['100 entries is the limit', many(100), { ok: true, domains: many(100) }],
    ['101 entries is too many', many(101), { ok: false, index: 100, reason: 'too many entries (limit 100)' }],
    ['101 duplicates are still too many', Array(101).fill('a.example.com'), { ok: false, index: 100, reason: 'too many entries (limit 100)' }],
    ['a bad entry before the limit wins', ['a.example.com', '*', ...many(200)], { ok: false, index: 1, reason: 'bare wildcard' }],
  ];

  it.each(lists)('%s', (_name, input, expected) => {
    expect(normalizeAllowedDomains(input)).toEqual(expected);
  });
});

describe('normalizeAllowedDomains: properties', () => {
  const domainish = fc.string({
    unit: fc.constantFrom(...'abcXYZ019.-_*:/@%[]\\?# ü．＊\t'.split('')),
    maxLength: 24,
  });
  const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), domainish);

  it('never throws, and a reason never contains the entry', () => {
    fc.assert(
      fc.property(anyString, (entry) => {
        const result = normalizeAllowedDomains([entry]);
        if (!result.ok && entry.length >= 4) expect(result.reason).not.toContain(entry);
      }),
      { numRuns: 2000 },
    );
  });

  it('never echoes an entry cut from a reason phrase (exhaustive)', () => {
    const reasons = new Set([...refused.map(([, reason]) => reason), 'too many entries (limit 100)']);
    for (const phrase of reasons) {
      for (let start = 0; start < phrase.length; start++) {
        for (let end = start + 4; end <= phrase.length; end++) {
          const entry = phrase.slice(start, end);
          const result = normalizeAllowedDomains([entry]);
          if (!result.ok) expect(result.reason, entry).not.toContain(entry);
        }
      }
    }
  });

  it('is idempotent on what it accepts', () => {
    fc.assert(
      fc.property(fc.array(anyString, { maxLength: 5 }), (entries) => {
        const first = normalizeAllowedDomains(entries);
        if (first.ok) expect(normalizeAllowedDomains(first.domains)).toEqual(first);
      }),
      { numRuns: 2000 },
    );
  });
});
