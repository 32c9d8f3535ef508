// The spellings of `--rule`, `--rate-limit` and a typed value's JSON, table-driven; errors never quote the input.
import { describe, expect, it } from 'vitest';
import { parseRateLimit, parseRule, ruleText, typedValue } from './credential-options.js';
import { parseHeaders } from './commands/explain.js';

describe('parseRule', () => {
  it.each([
    ['GET,HEAD /v1/charges/*,/v1/customers/**', { methods: ['GET', 'HEAD'], paths: ['/v1/charges/*', '/v1/customers/**'] }],
    ['  post   /v1/refunds ', { methods: ['post'], paths: ['/v1/refunds'] }],
    ['/v1/refunds GET', { methods: ['GET'], paths: ['/v1/refunds'] }],
    ['GET', { methods: ['GET'] }],
    ['/v1/**', { paths: ['/v1/**'] }],
    ['GET,,HEAD /a,', { methods: ['GET', 'HEAD'], paths: ['/a'] }],
  ])('%j', (text, rule) => {
    expect(parseRule(text)).toEqual(rule);
  });

  it.each(['', '   ', 'GET POST', '/a /b', 'GET /a extra'])('refuses %j', (text) => {
    expect(() => parseRule(text)).toThrow(/^--rule must look like 'METHODS PATHS'/);
  });

  it('reads back as written', () => {
    expect([{ methods: ['GET'], paths: ['/a', '/b'] }, { paths: ['/x'] }, { methods: ['PUT'] }].map(ruleText)).toEqual(['GET /a,/b', 'any method /x', 'PUT any path']);
  });
});

describe('parseRateLimit', () => {
  it.each([
    ['100/minute', { requests: 100, per: 'minute' }],
    ['1/second', { requests: 1, per: 'second' }],
    [' 5/hour ', { requests: 5, per: 'hour' }],
  ])('%j', (text, limit) => {
    expect(parseRateLimit(text)).toEqual(limit);
  });

  it.each(['0/minute', '100/day', '100', '/minute', '-1/second', '1.5/hour', '100/Minute', '1234567890/second'])('refuses %j', (text) => {
    expect(() => parseRateLimit(text)).toThrow('--rate-limit must look like N/second, N/minute or N/hour, e.g. 100/minute');
  });
});

describe('typedValue', () => {
  it('passes static text through, parses a typed value as a JSON object', () => {
    expect(typedValue('static', '{"not": "parsed"}')).toBe('{"not": "parsed"}');
    expect(typedValue('oauth2', '{"token_url": "https://a.example/t", "client_id": "c"}')).toEqual({ token_url: 'https://a.example/t', client_id: 'c' });
  });

  it.each([
    ['aws_sigv4', 'SECRET-abc', 'is not valid JSON'],
    ['aws_sigv4', '{"access_key_id": "SECRET-abc"', 'is not valid JSON'],
    ['oauth2', '"SECRET-abc"', 'is JSON but not an object'],
    ['oauth2', '["SECRET-abc"]', 'is JSON but not an object'],
    ['oauth2', 'null', 'is JSON but not an object'],
  ] as const)('%s %j: refused without quoting it', (type, text, why) => {
    let message = '';
    try {
      typedValue(type, text);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(new RegExp(`^the value of a ${type} secret must be a JSON object .*; what was read ${why}$`));
    expect(message).not.toContain('SECRET');
  });
});

describe('parseHeaders (explain -H)', () => {
  it('splits at the first colon, trims, joins a repeated name', () => {
    expect(parseHeaders(['Authorization: Bearer a:b', 'accept:  x', 'Accept: y'])).toEqual({ Authorization: 'Bearer a:b', accept: 'x, y' });
    expect(parseHeaders(undefined)).toEqual({});
  });

  it.each([':value', 'no colon', '  : x'])('refuses %j without quoting it', (line) => {
    expect(() => parseHeaders([line])).toThrow(/^-H must look like 'Name: value'$/);
  });
});
