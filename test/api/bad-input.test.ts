// Black-box tests of hostile and malformed request bodies: exact 4xx, never 500, never an echoed value.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { canary, createSecret, createVault, err, expectJson, invalid, missingId, unauthorized } from './helpers.js';

let s: TestServer;
let vaultId: string;
let secretPath: string;
const used: string[] = [];
beforeAll(async () => {
  s = await startTestServer();
  vaultId = (await createVault(s, 'main')).id;
  secretPath = `/secrets/${(await createSecret(s, vaultId, { env_key: 'EXISTING' })).id}`;
});
afterAll(async () => {
  // Not a single canary reached a log line either.
  const logs = s.logs.join('');
  for (const c of used) expect(logs).not.toContain(c);
  await s.close();
});

function mark(): string {
  const c = canary('bad');
  used.push(c);
  return c;
}

const malformedJson = err('malformed JSON body', 'malformed_json');
const notAnObject = invalid('body must be a JSON object');
const poisoned = invalid('fields named __proto__ or constructor.prototype are not allowed');

type Case = [name: string, body: (c: string) => string, status: number, expected: unknown];
const json = (o: unknown) => JSON.stringify(o);

const createCases: Case[] = [
  ['an unknown field', (c) => json({ env_key: 'A', value: c, bogus: 1 }), 400, invalid('unknown field: bogus')],
  ['an unknown field named like a value', (c) => json({ env_key: 'A', value: 'v', [c]: 1 }), 400, invalid('unknown field in body')],
  ['value: 123', (c) => json({ env_key: 'A', value: 123, description: c }), 400, invalid('value must be of type string')],
  ['value: null', (c) => json({ env_key: 'A', value: null, description: c }), 400, invalid('value must be of type string')],
  ['env_key: null', (c) => json({ env_key: null, value: c }), 400, invalid('env_key must be of type string')],
  ['env_key missing', (c) => json({ value: c }), 400, invalid('env_key is required')],
  ['allowed_domains: "a.com"', (c) => json({ env_key: 'A', value: c, allowed_domains: 'a.com' }), 400, invalid('allowed_domains must be of type array')],
  ['allowed_domains: [1]', (c) => json({ env_key: 'A', value: c, allowed_domains: [1] }), 400, invalid('allowed_domains[0] must be of type string')],
  ['labels: {"a": 1}', (c) => json({ env_key: 'A', value: c, labels: { a: 1 } }), 400, invalid('labels.a must be of type string')],
  ['labels: []', (c) => json({ env_key: 'A', value: c, labels: [] }), 400, invalid('labels must be of type object')],
  ['revealable: "yes"', (c) => json({ env_key: 'A', value: c, revealable: 'yes' }), 400, invalid('revealable must be of type boolean')],
  ['a value in the env_key', (c) => json({ env_key: c, value: c }), 400, invalid('env_key must be a valid environment variable name (^[A-Za-z_][A-Za-z0-9_]*$, at most 256 characters)')],
  ['a unicode env_key', (c) => json({ env_key: 'ПАРОЛЬ', value: c }), 400, invalid('env_key must be a valid environment variable name (^[A-Za-z_][A-Za-z0-9_]*$, at most 256 characters)')],
  ['a value in allowed_domains', (c) => json({ env_key: 'A', value: c, allowed_domains: [`https://${c}`] }), 400, invalid('allowed_domains[0] is invalid: scheme not allowed')],
  ['truncated JSON', (c) => `{"env_key":"A","value":"${c}"`, 400, malformedJson],
  ['single quotes', (c) => `{'env_key':'A','value':'${c}'}`, 400, malformedJson],
  ['trailing garbage', (c) => `{"env_key":"A","value":"${c}"} x`, 400, malformedJson],
  ['an empty body', () => '', 400, malformedJson],
  ['__proto__', (c) => `{"env_key":"A","value":"${c}","__proto__":{"isAdmin":true}}`, 400, poisoned],
  ['nested __proto__', (c) => `{"env_key":"A","value":"${c}","labels":{"__proto__":{"x":"y"}}}`, 400, poisoned],
  ['constructor.prototype', (c) => `{"env_key":"A","value":"${c}","constructor":{"prototype":{}}}`, 400, poisoned],
  ['a duplicate key', (c) => `{"env_key":"A","value":"a","value":"${c}"}`, 400, invalid('duplicate key in JSON object at /')],
  ['a duplicate key named like a value', (c) => `{"env_key":"A","value":"v","labels":{"${c}":"a","${c}":"b"}}`, 400, invalid('duplicate key in JSON object at /labels')],
  ['[]', () => '[]', 400, notAnObject],
  ['"x"', (c) => json(c), 400, notAnObject],
  ['null', () => 'null', 400, notAnObject],
  ['a number', () => '42', 400, notAnObject],
  ['an array of 10,000 allowed_domains', (c) => json({ env_key: 'A', value: c, allowed_domains: Array.from({ length: 10_000 }, (_, i) => `h${i}.example.com`) }), 400, invalid('allowed_domains[100] is invalid: too many entries (limit 100)')],
  ['100,000 nested arrays', (c) => `{"env_key":"A","value":"${c}","labels":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 400, invalid('labels must be of type object')],
  ['100,000 nested objects', (c) => `{"env_key":"A","value":"${c}","labels":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`, 400, invalid('labels.a must be of type string')],
  ['deep nesting in an unknown field', (c) => `{"env_key":"A","value":"${c}","x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`, 400, invalid('unknown field: x')],
  ['a body over 1 MiB', (c) => json({ env_key: 'A', value: c.repeat(Math.ceil((1024 * 1024) / c.length) + 1) }), 413, err('request body too large (limit 1 MiB)', 'body_too_large')],
];

async function send(method: string, path: string, raw: string, headers: Record<string, string> = {}) {
  return s.call(method, path, { raw, headers });
}

describe('POST /vaults/{id}/secrets with bad input', () => {
  it.each(createCases)('%s', async (_name, body, status, expected) => {
    const c = mark();
    const res = await send('POST', `/vaults/${vaultId}/secrets`, body(c));
    expectJson(res, status, expected);
    expect(res.text).not.toContain(c);
    expect(JSON.stringify([...res.headers])).not.toContain(c);
  });

  it('nothing was created by any of them', async () => {
    const res = await s.call('GET', `/vaults/${vaultId}/secrets`);
    expect(res.json.map((x: any) => x.env_key)).toEqual(['EXISTING']);
  });
});

describe('PATCH /secrets/{id} with bad input', () => {
  it.each([
    ['an unknown field', (c: string) => json({ value: c, bogus: true }), invalid('unknown field: bogus')],
    ['value: 123', (c: string) => json({ value: 123, description: c }), invalid('value must be of type string')],
    ['expected_version: "1"', (c: string) => json({ value: c, expected_version: '1' }), invalid('expected_version must be of type integer')],
    ['expected_version: 0', (c: string) => json({ value: c, expected_version: 0 }), invalid('expected_version must be >= 1')],
    ['a duplicate key', (c: string) => `{"value":"${c}","value":"b"}`, invalid('duplicate key in JSON object at /')],
    ['__proto__', (c: string) => `{"value":"${c}","__proto__":{}}`, poisoned],
    ['[]', () => '[]', notAnObject],
    ['truncated JSON', (c: string) => `{"value":"${c}`, malformedJson],
  ])('%s', async (_name, body, expected) => {
    const c = mark();
    const res = await send('PATCH', secretPath, body(c));
    expectJson(res, 400, expected);
    expect(res.text).not.toContain(c);
    expect((await s.call('GET', secretPath)).json.version).toBe(1);
  });
});

describe('transport-level refusals', () => {
  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx'])('content-type %s → 415', async (type) => {
    const c = mark();
    const res = await send('POST', `/vaults/${vaultId}/secrets`, json({ env_key: 'A', value: c }), { 'content-type': type });
    expectJson(res, 415, err('content-type must be application/json', 'unsupported_media_type'));
    expect(res.text).not.toContain(c);
  });

  it('accepts application/json with a charset', async () => {
    const res = await send('POST', `/vaults/${vaultId}/secrets`, json({ env_key: 'CHARSET', value: mark() }), { 'content-type': 'application/json; charset=utf-8' });
    expect(res.status).toBe(201);
  });

  it('an unauthenticated 2 MiB body gets 401, not 413', async () => {
    const c = mark();
    const res = await s.call('POST', `/vaults/${vaultId}/secrets`, { key: null, raw: json({ env_key: 'A', value: c.repeat((2 * 1024 * 1024) / c.length) }) });
    expectJson(res, 401, unauthorized);
  });

  it('bad input on vault routes is refused the same way', async () => {
    expectJson(await send('POST', '/vaults', json({ name: 'x', secret_count: 1 })), 400, invalid('unknown field: secret_count'));
    expectJson(await send('POST', '/vaults', json({ name: 5 })), 400, invalid('name must be of type string'));
    expectJson(await send('POST', '/vaults', '{"name":"a","name":"b"}'), 400, invalid('duplicate key in JSON object at /'));
    expectJson(await send('PATCH', `/vaults/${vaultId}`, 'nope'), 400, malformedJson);
    expectJson(await send('POST', `/vaults/${missingId('vlt')}/secrets`, json({ env_key: 'A', value: mark() })), 404, err('vault not found', 'vault_not_found'));
  });
});

describe('property: random JSON as a create-secret body', () => {
  it('always answers 201, 400, 404 or 413 with a well-formed body, never 500, never the value', async () => {
    const c = mark();
    const field = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string(), fc.constant(c));
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.record(
        {
          env_key: fc.oneof(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/), field),
          value: fc.oneof(fc.string().map((x) => `${c}${x}`), field),
          allowed_domains: fc.oneof(fc.array(fc.oneof(fc.domain(), fc.string(), fc.constant('*.com'))), field),
          inject_in: fc.oneof(fc.subarray(['header', 'path', 'query', 'body', 'cookie']), field),
          description: field,
          labels: fc.oneof(fc.dictionary(fc.string(), fc.string()), field),
          revealable: fc.oneof(fc.boolean(), field),
          extra: field,
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(vaultId, missingId('vlt')), async (b, vault) => {
        const res = await send('POST', `/vaults/${vault}/secrets`, JSON.stringify(b));
        expect([201, 400, 404, 413], res.text).toContain(res.status);
        if (res.status !== 201) {
          expect(Object.keys(res.json)).toEqual(['error', 'code']);
          expect(typeof res.json.error).toBe('string');
        }
        // A created secret answers its description, which the generator may have set to the canary too.
        const shown = res.status === 201 ? JSON.stringify({ ...res.json, description: null }) : res.text;
        expect(shown).not.toContain(c);
      }),
      { numRuns: 200 },
    );
  });
});
