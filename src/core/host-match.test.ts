// Table and property tests for proxy destination parsing and allowed_domains matching.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Destination } from './host-match.js';
import { formatAuthority, isAllowedDestination, matchAllowedDomain, parseAuthority } from './host-match.js';

const RUNS = { numRuns: 500 };
const label63 = 'a'.repeat(63);
const label64 = 'a'.repeat(64);
const host253 = [label63, label63, label63, 'b'.repeat(61)].join('.');
const host254 = `${host253}c`;

/** Parses an authority that must be accepted, for match rows written as wire text. */
function dest(authority: string, defaultPort?: number): Destination {
  const parsed = parseAuthority(authority, defaultPort);
  if (!parsed.ok) throw new Error(`test authority refused: ${parsed.reason}`);
  return { host: parsed.host, port: parsed.port, isIp: parsed.isIp };
}

/** [authority, defaultPort, host, port, isIp] */
const accepted: [string, number | undefined, string, number, boolean][] = [
  ['api.stripe.com', undefined, 'api.stripe.com', 443, false],
  ['api.stripe.com:443', undefined, 'api.stripe.com', 443, false],
  ['api.stripe.com:8443', undefined, 'api.stripe.com', 8443, false],
  ['API.Stripe.COM', undefined, 'api.stripe.com', 443, false],
  ['api.stripe.com.', undefined, 'api.stripe.com', 443, false],
  ['API.STRIPE.COM.:8443', undefined, 'api.stripe.com', 8443, false],
  ['xn--bcher-kva.example', undefined, 'xn--bcher-kva.example', 443, false],
  ['XN--BCHER-KVA.EXAMPLE.', undefined, 'xn--bcher-kva.example', 443, false],
  ['localhost', undefined, 'localhost', 443, false],
  ['localhost:8080', undefined, 'localhost', 8080, false],
  ['my_host.example.com', undefined, 'my_host.example.com', 443, false],
  ['a-b.example.com', undefined, 'a-b.example.com', 443, false],
  ['1a.example.com', undefined, '1a.example.com', 443, false],
  ['example.com1', undefined, 'example.com1', 443, false],
  ['example.0xg', undefined, 'example.0xg', 443, false],
  [`${label63}.com`, undefined, `${label63}.com`, 443, false],
  [host253, undefined, host253, 443, false],
  [`${host253}.`, undefined, host253, 443, false],
  ['host:1', undefined, 'host', 1, false],
  ['host:65535', undefined, 'host', 65535, false],
  ['example.com', 80, 'example.com', 80, false],
  ['example.com:443', 80, 'example.com', 443, false],
  ['1.2.3.4', undefined, '1.2.3.4', 443, true],
  ['1.2.3.4:8443', undefined, '1.2.3.4', 8443, true],
  ['1.2.3.4.', undefined, '1.2.3.4', 443, true],
  ['127.1', undefined, '127.1', 443, true],
  ['a.b.123', undefined, 'a.b.123', 443, true],
  ['0x7f000001', undefined, '0x7f000001', 443, true],
  ['0X7F000001', undefined, '0x7f000001', 443, true],
  ['0x7f.1', undefined, '0x7f.1', 443, true],
  ['example.0x1f', undefined, 'example.0x1f', 443, true],
  ['2130706433', undefined, '2130706433', 443, true],
  ['[::1]', undefined, '::1', 443, true],
  ['[::1]:443', undefined, '::1', 443, true],
  ['[::1]', 80, '::1', 80, true],
  ['[2001:DB8::1]:8443', undefined, '2001:db8::1', 8443, true],
  ['[::ffff:127.0.0.1]', undefined, '::ffff:127.0.0.1', 443, true],
];

/** [authority, reason] */
const refused: [string, string][] = [
  ['', 'empty authority'],
  [' api.stripe.com', 'whitespace'],
  ['api.stripe.com ', 'whitespace'],
  ['api .stripe.com', 'whitespace'],
  ['a\tb.com', 'whitespace'],
  ['api.stripe.com\r\n', 'whitespace'],
  ['\u00a0api.stripe.com', 'whitespace'],
  ['a\u0000.com', 'control character'],
  ['a\u001b.com', 'control character'],
  ['api.stripe.com\u007f', 'control character'],
  ['bücher.example', 'non ascii character'],
  ['\u0430pi.stripe.com', 'non ascii character'], // Cyrillic а homoglyph
  ['api.stripe.com\u3002', 'non ascii character'], // ideographic full stop
  ['ａpi.stripe.com', 'non ascii character'], // full-width a
  ['api.stripe.com\u200b', 'non ascii character'], // zero-width space
  ['api.stripe.com\u0085', 'non ascii character'],
  ['%2e', 'percent encoding'],
  ['api%2estripe.com', 'percent encoding'],
  ['api.stripe.com%2eevil.com', 'percent encoding'],
  ['api.stripe.com%00', 'percent encoding'],
  ['evil.com\\api.stripe.com', 'backslash'],
  ['api.stripe.com\\@evil.com', 'backslash'],
  ['user@api.stripe.com', 'userinfo'],
  ['user:pass@api.stripe.com', 'userinfo'],
  ['api.stripe.com@evil.com', 'userinfo'],
  ['@api.stripe.com', 'userinfo'],
  ['https://api.stripe.com', 'scheme or path'],
  ['//api.stripe.com', 'scheme or path'],
  ['api.stripe.com/v1', 'scheme or path'],
  ['api.stripe.com:443/v1', 'scheme or path'],
  ['api.stripe.com?x=1', 'scheme or path'],
  ['api.stripe.com#x', 'scheme or path'],
  ['api.stripe.com:443:443', 'too many colons'],
  ['::1', 'too many colons'],
  ['::1:443', 'too many colons'],
  ['api.stripe.com:0', 'invalid port'],
  ['api.stripe.com:65536', 'invalid port'],
  ['api.stripe.com:99999999999', 'invalid port'],
  ['api.stripe.com:+443', 'invalid port'],
  ['api.stripe.com:-443', 'invalid port'],
  ['api.stripe.com:0443', 'invalid port'],
  ['api.stripe.com:', 'invalid port'],
  ['api.stripe.com:44a', 'invalid port'],
  ['api.stripe.com:0x1bb', 'invalid port'],
  ['api.stripe.com:1e3', 'invalid port'],
  ['https:api.stripe.com', 'invalid port'],
  ['[::1]:0', 'invalid port'],
  ['[::1]:', 'invalid port'],
  ['[::1]:0443', 'invalid port'],
  ['[::1', 'invalid ip literal'],
  ['[]', 'invalid ip literal'],
  ['[1.2.3.4]', 'invalid ip literal'],
  ['[v1.abc]', 'invalid ip literal'],
  ['[::g]', 'invalid ip literal'],
  ['[::1]x', 'invalid ip literal'],
  ['[::1]]', 'invalid ip literal'],
  ['[api.stripe.com]', 'invalid ip literal'],
  [':443', 'empty host'],
  ['.', 'empty host'],
  ['.:443', 'empty host'],
  ['a..b', 'empty label'],
  ['api.stripe.com..', 'empty label'],
  ['api.stripe.com..:443', 'empty label'],
  ['.api.stripe.com', 'empty label'],
  ['..', 'empty label'],
  [`${label64}.com`, 'label too long'],
  [host254, 'host name too long'],
  [`${host254}.`, 'host name too long'],
  ['*.stripe.com', 'invalid host name'],
  ['a*b.com', 'invalid host name'],
  ['-a.com', 'invalid host name'],
  ['a-.com', 'invalid host name'],
  ['a,b.com', 'invalid host name'],
  ['a;b.com', 'invalid host name'],
  ["a'b.com", 'invalid host name'],
  ['a]b.com', 'invalid host name'],
  ['a[b.com', 'invalid host name'],
  ['a<b>.com', 'invalid host name'],
];

/** [entry, destination authority, expected] */
const matches: [string, string, boolean][] = [
  // exact
  ['api.stripe.com', 'api.stripe.com', true],
  ['api.stripe.com', 'API.STRIPE.COM', true],
  ['api.stripe.com', 'Api.Stripe.Com.', true],
  ['api.stripe.com', 'api.stripe.com:443', true],
  ['api.stripe.com', 'stripe.com', false],
  ['api.stripe.com', 'x.api.stripe.com', false],
  ['api.stripe.com', 'api.stripe.co', false],
  ['api.stripe.com', 'api.stripe.com.evil.com', false],
  ['api.stripe.com', 'evilapi.stripe.com', false],
  ['api.stripe.com', 'api-stripe.com', false],
  ['api.stripe.com', 'apistripe.com', false],
  ['api.stripe.com', 'pi.stripe.com', false],
  ['stripe.com', 'stripe.com', true],
  ['stripe.com', 'api.stripe.com', false],
  ['stripe.com', 'evilstripe.com', false],
  ['stripe.com', 'stripe.com.evil.com', false],
  ['localhost', 'localhost', true],
  ['github.io', 'github.io', true],
  ['github.io', 'user.github.io', false],
  // wildcard
  ['*.stripe.com', 'api.stripe.com', true],
  ['*.stripe.com', 'a.b.stripe.com', true],
  ['*.stripe.com', 'a.b.c.d.e.f.stripe.com', true],
  ['*.stripe.com', 'API.Stripe.Com.', true],
  ['*.stripe.com', 'x-y_z.stripe.com', true],
  ['*.stripe.com', 'stripe.com', false],
  ['*.stripe.com', 'stripe.com.', false],
  ['*.stripe.com', 'STRIPE.COM', false],
  ['*.stripe.com', 'evilstripe.com', false],
  ['*.stripe.com', 'api.evilstripe.com', false],
  ['*.stripe.com', 'stripe.com.evil.com', false],
  ['*.stripe.com', 'api.stripe.com.evil.com', false],
  ['*.stripe.com', 'api-stripe.com', false],
  ['*.stripe.com', 'apistripe.com', false],
  ['*.stripe.com', 'stripe.co', false],
  ['*.stripe.com', 'tripe.com', false],
  ['*.api.stripe.com', 'api.stripe.com', false],
  ['*.api.stripe.com', 'v1.api.stripe.com', true],
  ['*.api.stripe.com', 'other.stripe.com', false],
  ['*.example.co.uk', 'a.example.co.uk', true],
  ['*.example.co.uk', 'example.co.uk', false],
  ['*.example.co.uk', 'a.other.co.uk', false],
  // ports
  ['api.x.com:8443', 'api.x.com:8443', true],
  ['api.x.com:8443', 'api.x.com', false],
  ['api.x.com:8443', 'api.x.com:443', false],
  ['api.x.com', 'api.x.com:8443', false],
  ['api.x.com', 'api.x.com:80', false],
  ['api.x.com:443', 'api.x.com', true],
  ['api.x.com:0443', 'api.x.com', false],
  ['api.x.com:', 'api.x.com', false],
  ['api.x.com:8443:1', 'api.x.com:8443', false],
  ['*.stripe.com', 'api.stripe.com:8443', false],
  ['*.stripe.com:8443', 'api.stripe.com:8443', true],
  ['*.stripe.com:8443', 'api.stripe.com', false],
  ['*.stripe.com:8443', 'stripe.com:8443', false],
  // punycode IDNs
  ['xn--bcher-kva.example', 'xn--bcher-kva.example', true],
  ['xn--bcher-kva.example', 'XN--BCHER-KVA.example.', true],
  ['xn--bcher-kva.example', 'bcher-kva.example', false],
  ['xn--bcher-kva.example', 'xn--bcher-kvb.example', false],
  ['*.xn--bcher-kva.example', 'xn--bcher-kva.example', false],
  ['*.xn--bcher-kva.example', 'shop.xn--bcher-kva.example', true],
  ['*.example', 'xn--bcher-kva.example', true],
  // IP literals never match
  ['1.2.3.4', '1.2.3.4', false],
  ['127.1', '127.1', false],
  ['0x7f000001', '0x7f000001', false],
  ['localhost', '[::1]', false],
  ['*.stripe.com', '1.2.3.4', false],
  ['*.0.1', '127.0.0.1', false],
  // malformed entries never match
  ['*', 'api.stripe.com', false],
  ['*.', 'api.stripe.com', false],
  ['', 'api.stripe.com', false],
  ['*.*.com', 'a.b.com', false],
  ['API.STRIPE.COM', 'api.stripe.com', false],
  ['api.stripe.com.', 'api.stripe.com', false],
];

describe('parseAuthority', () => {
  it.each(accepted)('accepts %j (default port %s)', (authority, defaultPort, host, port, isIp) => {
    expect(parseAuthority(authority, defaultPort)).toEqual({ ok: true, host, port, isIp });
  });

  it.each(refused)('refuses %j: %s', (authority, reason) => {
    expect(parseAuthority(authority)).toEqual({ ok: false, reason });
  });

  it('gives no reason that a refused input can be part of (reasons fed back as inputs)', () => {
    for (const reason of new Set(refused.map(([, r]) => r))) {
      expect(reason).toMatch(/^[a-z ]+$/);
      const again = parseAuthority(reason);
      if (!again.ok) expect(again.reason.includes(reason)).toBe(false);
    }
  });

  it('defaults to port 443 and takes another default for plain HTTP', () => {
    expect(parseAuthority('a.com')).toMatchObject({ port: 443 });
    expect(parseAuthority('a.com', 80)).toMatchObject({ port: 80 });
  });

  it.each([0, 65536, 1.5, Number.NaN])('throws on a bad defaultPort %s (a programming error)', (p) => {
    expect(() => parseAuthority('a.com', p)).toThrow(RangeError);
  });
});

describe('formatAuthority', () => {
  const rows: [string, number, string][] = [
    ['api.stripe.com', 443, 'api.stripe.com'], ['api.stripe.com:8443', 443, 'api.stripe.com:8443'], ['127.0.0.1:80', 80, '127.0.0.1'],
    ['[2001:DB8::1]:443', 443, '[2001:db8::1]'], ['[::1]:8080', 80, '[::1]:8080'], ['[::ffff:127.0.0.1]', 443, '[::ffff:127.0.0.1]'],
  ];
  for (const [authority, port, written] of rows) {
    it(`${authority} (default ${port}) → ${written}, which parses back to the same destination`, () => {
      const d = dest(authority, port);
      expect(formatAuthority(d, port)).toBe(written);
      expect(dest(written, port)).toEqual(d);
    });
  }
});

describe('matchAllowedDomain', () => {
  it.each(matches)('entry %j vs %j -> %s', (entry, authority, expected) => {
    expect(matchAllowedDomain(entry, dest(authority))).toBe(expected);
  });

  it('plain-HTTP destinations (default 80) need an entry naming port 80', () => {
    expect(matchAllowedDomain('api.x.com', dest('api.x.com', 80))).toBe(false);
    expect(matchAllowedDomain('api.x.com:80', dest('api.x.com', 80))).toBe(true);
  });

  /** Destinations built by hand, bypassing parseAuthority: matching must not trust them. */
  it.each<[string, Destination]>([
    ['api.stripe.com', { host: 'api.stripe.com', port: 443, isIp: true }],
    ['127.1', { host: '127.1', port: 443, isIp: false }],
    ['*.stripe.com', { host: 'evil.com\u0000.stripe.com', port: 443, isIp: false }],
    ['*.stripe.com', { host: 'evil.com/.stripe.com', port: 443, isIp: false }],
    ['*.stripe.com', { host: '.stripe.com', port: 443, isIp: false }],
    ['*.stripe.com', { host: 'a..stripe.com', port: 443, isIp: false }],
    ['api.stripe.com', { host: 'API.stripe.com', port: 443, isIp: false }],
    ['api.stripe.com', { host: 'api.stripe.com.', port: 443, isIp: false }],
    ['', { host: '', port: 443, isIp: false }],
  ])('never matches entry %j with hand-built destination %j', (entry, d) => {
    expect(matchAllowedDomain(entry, d)).toBe(false);
  });
});

describe('isAllowedDestination', () => {
  it('is true when any entry matches', () => {
    expect(isAllowedDestination(['a.com', '*.stripe.com'], dest('api.stripe.com'))).toBe(true);
    expect(isAllowedDestination(['*.stripe.com', 'a.com'], dest('a.com'))).toBe(true);
  });

  it('is false when no entry matches', () => {
    expect(isAllowedDestination(['a.com', '*.stripe.com'], dest('stripe.com'))).toBe(false);
    expect(isAllowedDestination(['a.com:8443'], dest('a.com'))).toBe(false);
  });

  it('is false for an empty list (unrestricted secrets are never placeholders)', () => {
    expect(isAllowedDestination([], dest('api.stripe.com'))).toBe(false);
  });

  it('is false for IP destinations whatever the list', () => {
    expect(isAllowedDestination(['localhost', '1.2.3.4', '*.stripe.com'], dest('1.2.3.4'))).toBe(false);
    expect(isAllowedDestination(['localhost', '*.stripe.com'], dest('[::1]'))).toBe(false);
  });
});

const alpha = 'abcdefghijklmnopqrstuvwxyz';
/** A host label starting with a letter (so no generated host is IP-shaped). */
const label = fc
  .tuple(fc.constantFrom(...alpha), fc.string({ unit: fc.constantFrom(...`${alpha}0123456789-`), maxLength: 10 }))
  .map(([first, rest]) => (rest.endsWith('-') ? `${first}${rest}x` : `${first}${rest}`));
const hostArb = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
const at443 = (host: string): Destination => ({ host, port: 443, isIp: false });

describe('properties', () => {
  it('(a) *.base matches every x.base, never base, never y+base without a dot boundary', () => {
    fc.assert(
      fc.property(hostArb, hostArb, fc.string({ unit: fc.constantFrom(...`${alpha}0123456789-.`), minLength: 1, maxLength: 12 }), (base, prefix, y) => {
        const entry = `*.${base}`;
        expect(matchAllowedDomain(entry, at443(`${prefix}.${base}`))).toBe(true);
        expect(matchAllowedDomain(entry, at443(base))).toBe(false);
        if (!y.endsWith('.')) expect(matchAllowedDomain(entry, at443(`${y}${base}`))).toBe(false);
      }),
      RUNS,
    );
  });

  /** Near-valid authorities reach the deep branches; arbitrary strings cover everything else. */
  const piece = fc.constantFrom('a', 'B', '.', ':', '[', ']', '1', '0x', '-', '_', '@', '%', '/', '443', 'com', '\\', ' ', 'ü', '\u0000', '::1');
  const authorityArb = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.array(piece, { maxLength: 12 }).map((parts) => parts.join('')),
  );

  it('(b) parseAuthority never throws and never echoes its input in a reason', () => {
    fc.assert(
      fc.property(authorityArb, (authority) => {
        const result = parseAuthority(authority);
        if (result.ok) {
          expect(result.host).toBe(result.host.toLowerCase());
          expect(result.port).toBeGreaterThanOrEqual(1);
          expect(result.port).toBeLessThanOrEqual(65535);
        } else if (authority.length >= 4) {
          expect(result.reason.includes(authority)).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('(c) matching is ASCII case-insensitive through parseAuthority', () => {
    const flips = fc.array(fc.boolean(), { minLength: 60, maxLength: 60 });
    fc.assert(
      fc.property(hostArb, hostArb, flips, fc.boolean(), (host, other, flip, wildcard) => {
        const mixed = [...host].map((c, i) => (flip[i % flip.length] === true ? c.toUpperCase() : c)).join('');
        const lower = dest(host);
        const upper = dest(mixed);
        expect(upper).toEqual(lower);
        const entry = wildcard ? `*.${other}` : other;
        expect(matchAllowedDomain(entry, upper)).toBe(matchAllowedDomain(entry, lower));
        expect(matchAllowedDomain(host, dest(mixed.toUpperCase()))).toBe(true);
      }),
      RUNS,
    );
  });

  it('(d) an exact entry matches only an equal host', () => {
    // A tiny alphabet makes equal and near-equal hosts common.
    const small = fc.array(fc.constantFrom('a', 'b', 'ab'), { minLength: 1, maxLength: 3 }).map((l) => l.join('.'));
    fc.assert(
      fc.property(fc.oneof(small, hostArb), fc.oneof(small, hostArb), (entry, host) => {
        expect(matchAllowedDomain(entry, at443(host))).toBe(entry === host);
      }),
      RUNS,
    );
  });
});
