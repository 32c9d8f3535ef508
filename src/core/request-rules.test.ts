import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRules, decodePath, pathMatches, patternProblem } from './request-rules.js';

// The glob syntax of SPEC §10, row by row, read from the table of examples in docs/credentials.md:
// a row changed there is a test changed here.
const docsTable = readFileSync(join(import.meta.dirname, '../../docs/credentials.md'), 'utf8');
const tableRows = /<!-- glob-table:start -->([\s\S]*?)<!-- glob-table:end -->/.exec(docsTable)?.[1] ?? '';
const globTable: [pattern: string, target: string, matches: boolean][] = [...tableRows.matchAll(/^\| `([^`]+)` \| `([^`]+)` \| (yes|no)\b.*\|$/gm)].map((m) => [m[1]!, m[2]!, m[3] === 'yes']);

describe('path globs (SPEC §10)', () => {
  it('the docs table is there and has both outcomes', () => {
    expect(globTable.length).toBeGreaterThanOrEqual(20);
    expect(globTable.some(([, , m]) => m) && globTable.some(([, , m]) => !m)).toBe(true);
  });

  it.each(globTable)('%s against %s → %s', (pattern, target, expected) => {
    expect(patternProblem(pattern)).toBeNull();
    expect(checkRules([{ paths: [pattern] }], { method: 'GET', target }).allow).toBe(expected);
  });

  it('a pattern without wildcards matches exactly the one decoded path it names', () => {
    const segment = fc.stringMatching(/^[a-zA-Z0-9_~-]{1,8}$/);
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.array(segment, { minLength: 1, maxLength: 5 }), (a, b) => {
        const decoded = decodePath(`/${b.join('/')}`);
        return decoded.ok && pathMatches(`/${a.join('/')}`, decoded.segments) === (a.join('/') === b.join('/'));
      }),
    );
  });
});

describe('decodePath: one decoding, and nothing an upstream could read as another path', () => {
  it.each([
    ['/v1/charges?limit=3', ['v1', 'charges']],
    ['/v1/charges#frag', ['v1', 'charges']],
    ['/v1/ch%5Fx', ['v1', 'ch_x']],
    ['/files/a%20b', ['files', 'a b']],
    ['/caf%C3%A9', ['café']],
    ['/', ['']],
    ['//double', ['', 'double']],
  ])('%s → %j', (target, segments) => expect(decodePath(target)).toEqual({ ok: true, segments }));

  it.each([
    ['*', 'the request path is not absolute'],
    ['https://api.stripe.com/v1', 'the request path is not absolute'],
    ['/v1/%2Fcharges', 'an encoded slash in the request path'],
    ['/v1%2fcharges', 'an encoded slash in the request path'],
    ['/v1/%5Ccharges', 'an encoded slash in the request path'],
    ['/v1\\charges', 'a backslash in the request path'],
    ['/v1/../admin', 'a dot segment in the request path'],
    ['/v1/./charges', 'a dot segment in the request path'],
    ['/v1/%2e%2e/admin', 'a dot segment in the request path'],
    ['/v1/%2E/charges', 'a dot segment in the request path'],
    ['/v1/..', 'a dot segment in the request path'],
    ['/v1/%252e%252e/admin', 'a doubly encoded request path'],
    ['/v1/%252fadmin', 'a doubly encoded request path'],
    ['/v1/%zz', 'a malformed percent-encoding in the request path'],
    ['/v1/%', 'a malformed percent-encoding in the request path'],
    ['/v1/%C3', 'a malformed percent-encoding in the request path'],
    ['/v1/%00', 'a control character in the request path'],
    ['/v1/%0d%0a', 'a control character in the request path'],
  ])('%s is refused: %s', (target, reason) => expect(decodePath(target)).toEqual({ ok: false, reason }));

  it('keeps `..` inside a segment, which is no dot segment', () => {
    expect(decodePath('/v1/a..b/...')).toEqual({ ok: true, segments: ['v1', 'a..b', '...'] });
  });
});

describe('patternProblem', () => {
  it.each([
    ['/v1/charges/*', null],
    ['/**', null],
    ['/v1/**/refunds', null],
    ['v1/charges', 'must start with /'],
    ['/v1/charges?x=1', 'may not contain ?, # or \\'],
    ['/v1/../admin', 'may not contain . or .. segments'],
    ['/v1/ch_*', 'may use * only as a whole segment (* or **)'],
    ['/v1/***', 'may use * only as a whole segment (* or **)'],
    ['/v1/\n', 'may not contain control characters'],
  ])('%j → %j', (pattern, problem) => expect(patternProblem(pattern)).toBe(problem));
});

describe('checkRules: a request may carry the secret when one rule matches its method and path', () => {
  const charges = [{ methods: ['GET', 'post'], paths: ['/v1/charges', '/v1/charges/*'] }];
  it.each([
    ['no rules: anything', null, 'DELETE', '/anything', true],
    ['method and path match', charges, 'GET', '/v1/charges?limit=1', true],
    ['methods compare case-insensitively', charges, 'Post', '/v1/charges/ch_1', true],
    ['HEAD is not implied by GET', charges, 'HEAD', '/v1/charges', false],
    ['another method', charges, 'DELETE', '/v1/charges/ch_1', false],
    ['another path', charges, 'GET', '/v1/customers', false],
    ['a dot segment escaping the allowed prefix', charges, 'GET', '/v1/charges/../customers', false],
    ['methods only: any path, even one that cannot be checked', [{ methods: ['GET'] }], 'GET', '/v1/%2F/x', true],
    ['paths only: any method', [{ paths: ['/v1/**'] }], 'PATCH', '/v1/x/y', true],
    ['a second rule can allow what the first does not', [{ methods: ['GET'] }, { methods: ['POST'], paths: ['/v1/charges'] }], 'POST', '/v1/charges', true],
  ] as const)('%s', (_name, rules, method, target, allow) => {
    expect(checkRules(rules, { method, target }).allow).toBe(allow);
  });

  it('a refusal says rule_denied, and why the path could not be matched when that is the cause', () => {
    expect(checkRules(charges, { method: 'GET', target: '/v1/customers' })).toEqual({ allow: false, reason: 'rule_denied', detail: 'no rule matches the method and path' });
    expect(checkRules(charges, { method: 'GET', target: '/v1/charges/%2e%2e/x' })).toEqual({ allow: false, reason: 'rule_denied', detail: 'a dot segment in the request path' });
  });
});
