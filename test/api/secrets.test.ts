// Black-box tests of creating and listing secrets: the seeds' exact contract and field validation.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import {
  canary,
  createSecret,
  createVault,
  err,
  expectJson,
  expectedSecret,
  idOf,
  invalid,
  isoMs,
  missingId,
  secretKeyOrder,
  vaultNotFound,
} from './helpers.js';

let s: TestServer;
let vaultId: string;
beforeEach(async () => {
  s = await startTestServer();
  vaultId = (await createVault(s, 'main')).id;
});
afterEach(async () => {
  await s.close();
});

const post = (body: unknown, vault = vaultId) => s.call('POST', `/vaults/${vault}/secrets`, { body });
const envKeyRule = 'env_key must be a valid environment variable name (^[A-Za-z_][A-Za-z0-9_]*$, at most 256 characters)';

describe('POST /vaults/{id}/secrets', () => {
  it('answers 201 with the seed shape, keys in the seed order, and no value', async () => {
    const value = canary();
    const res = await post({ env_key: 'DATABASE_URL', value, allowed_domains: ['*.example.com'] });
    expect(res.status).toBe(201);
    expect(res.json.id).toMatch(idOf('sec'));
    expect(res.json.created_at).toMatch(isoMs);
    expect(res.json.updated_at).toBe(res.json.created_at);
    expect(Object.keys(res.json)).toEqual(secretKeyOrder);
    expect(res.json).toEqual(expectedSecret(res.json, vaultId, { env_key: 'DATABASE_URL', allowed_domains: ['*.example.com'] }));
    expect(res.text).not.toContain(value);

    const got = await s.call('GET', `/vaults/${vaultId}/secrets/${res.json.id}`);
    expectJson(got, 200, res.json);
    expect(Object.keys(got.json)).toEqual(secretKeyOrder);
    const listed = await s.call('GET', `/vaults/${vaultId}/secrets`);
    expectJson(listed, 200, [res.json]);
    expect(Object.keys(listed.json[0])).toEqual(secretKeyOrder);
    for (const text of [got.text, listed.text]) {
      expect(text).not.toContain(value);
      expect(text).not.toContain('"value"');
    }
  });

  it('stores every optional field, normalized', async () => {
    const res = await post({
      env_key: 'STRIPE_KEY',
      value: canary(),
      allowed_domains: ['API.Stripe.COM.', '*.Example.com', 'api.stripe.com:443', 'hooks.example.org:8443'],
      inject_in: ['body', 'header'],
      description: 'live key',
      labels: { team: 'payments', env: 'prod' },
      revealable: true,
    });
    expect(res.status).toBe(201);
    expect(res.json).toEqual(
      expectedSecret(res.json, vaultId, {
        env_key: 'STRIPE_KEY',
        allowed_domains: ['api.stripe.com', '*.example.com', 'hooks.example.org:8443'],
        inject_in: ['header', 'body'],
        description: 'live key',
        labels: { env: 'prod', team: 'payments' },
        revealable: true,
      }),
    );
    expectJson(await s.call('GET', `/secrets/${res.json.id}`), 200, res.json);
  });

  it('counts the secret in its vault', async () => {
    await createSecret(s, vaultId, { env_key: 'A' });
    expect((await s.call('GET', `/vaults/${vaultId}`)).json.secret_count).toBe(1);
  });

  it('refuses a second secret with the same env_key in the vault, but not in another vault', async () => {
    const first = await createSecret(s, vaultId, { env_key: 'TOKEN' });
    const value = canary();
    const res = await post({ env_key: 'TOKEN', value });
    expectJson(res, 400, err('env_key already exists in this vault', 'env_key_exists'));
    expect(res.text).not.toContain(value);
    expectJson(await s.call('GET', `/vaults/${vaultId}/secrets`), 200, [first]);
    const other = await createVault(s, 'other');
    expect((await post({ env_key: 'TOKEN', value }, other.id)).status).toBe(201);
  });

  it.each([
    ['missing', { env_key: 'EMPTY' }],
    ['empty', { env_key: 'EMPTY', value: '' }],
  ])('answers 400 value cannot be empty when the value is %s', async (_name, body) => {
    expectJson(await post(body), 400, err('value cannot be empty', 'value_empty'));
    expectJson(await s.call('GET', `/vaults/${vaultId}/secrets`), 200, []);
  });

  it.each([
    ['a missing vault', missingId('vlt')],
    ['a malformed vault id', 'vlt_nope'],
    ['a secret id in the vault slot', missingId('sec')],
  ])('answers 404 vault not found for %s', async (_name, id) => {
    const value = canary();
    const res = await post({ env_key: 'A', value }, id);
    expectJson(res, 404, vaultNotFound);
    expect(res.text).not.toContain(value);
  });

  it.each([['1ABC'], ['A-B'], ['A B'], [''], ['A'.repeat(257)], ['ÄPFEL'], ['KEY\u0000'], ['K\u212A']])('refuses env_key %j', async (envKey) => {
    const value = canary();
    const res = await post({ env_key: envKey, value });
    expectJson(res, 400, invalid(envKeyRule));
    expect(res.text).not.toContain(value);
  });

  it('accepts env_key edge cases: 256 chars, leading underscore, lower case', async () => {
    for (const envKey of ['A'.repeat(256), '_X', 'lower_case9']) {
      const res = await post({ env_key: envKey, value: 'v' });
      expect(res.status, envKey).toBe(201);
      expect(res.json.env_key).toBe(envKey);
    }
  });

  it('accepts a value of exactly 64 KiB and refuses one byte more (counted in UTF-8 bytes)', async () => {
    expect((await post({ env_key: 'MAX', value: 'x'.repeat(65536) })).status).toBe(201);
    const tooLarge = err('value is too large (limit 65536 bytes)', 'value_too_large');
    for (const value of ['y'.repeat(65537), 'é'.repeat(32769)]) {
      const res = await post({ env_key: 'OVER', value });
      expectJson(res, 400, tooLarge);
    }
  });

  it.each([
    ['*', 'bare wildcard'],
    ['*.com', 'wildcard over a public suffix'],
    ['*.co.uk', 'wildcard over a public suffix'],
    ['https://a.com', 'scheme not allowed'],
    ['a.com/x', 'path not allowed'],
    ['u@a.com', 'userinfo not allowed'],
    ['a.*.com', 'inner wildcard'],
    ['1.2.3.4', 'ip literals not allowed'],
    ['', 'empty entry'],
    ['a.com:0', 'invalid port'],
  ])('refuses allowed_domains entry %j, naming its index and not echoing it', async (entry, reason) => {
    const value = canary();
    const res = await post({ env_key: 'D', value, allowed_domains: ['ok.example.com', entry] });
    expectJson(res, 400, invalid(`allowed_domains[1] is invalid: ${reason}`));
    if (entry !== '') expect(res.json.error.replace('allowed_domains[1] is invalid: ', '')).not.toContain(entry);
    expect(res.text).not.toContain(value);
    expectJson(await s.call('GET', `/vaults/${vaultId}/secrets`), 200, []);
  });

  it('treats [] as unrestricted', async () => {
    const res = await post({ env_key: 'FREE', value: 'v', allowed_domains: [] });
    expectJson(res, 201, expectedSecret(res.json, vaultId, { env_key: 'FREE' }));
  });

  it('refuses an unknown or empty inject_in', async () => {
    expectJson(await post({ env_key: 'I', value: 'v', inject_in: ['header', 'cookie'] }), 400, invalid('inject_in[1] must be one of header, path, query, body, websocket'));
    expectJson(await post({ env_key: 'I', value: 'v', inject_in: [] }), 400, invalid('inject_in must name at least one of header, path, query, body, websocket'));
  });

  it('accepts every inject_in surface, in a canonical order without duplicates', async () => {
    const res = await post({ env_key: 'ALL', value: 'v', inject_in: ['query', 'websocket', 'body', 'path', 'header', 'query'] });
    expectJson(res, 201, expectedSecret(res.json, vaultId, { env_key: 'ALL', inject_in: ['header', 'path', 'query', 'body', 'websocket'] }));
  });

  it('refuses bad labels', async () => {
    expectJson(await post({ env_key: 'L', value: 'v', labels: { a: 1 } }), 400, invalid('labels.a must be of type string'));
    expectJson(
      await post({ env_key: 'L', value: 'v', labels: { '-bad': 'x' } }),
      400,
      invalid('labels keys must be 1-63 characters of letters, digits, _ . - / starting with a letter or digit'),
    );
  });
});

describe('GET /vaults/{id}/secrets', () => {
  it('lists metadata newest last, never a value', async () => {
    const values = [canary(), canary(), canary()];
    const created = [];
    for (const [i, value] of values.entries()) created.push(await createSecret(s, vaultId, { env_key: `K${i}`, value }));
    const res = await s.call('GET', `/vaults/${vaultId}/secrets`);
    expectJson(res, 200, created);
    for (const value of values) expect(res.text).not.toContain(value);
  });

  it('filters by ?label=key:value, repeated filters are ANDed', async () => {
    const a = await createSecret(s, vaultId, { env_key: 'A', labels: { env: 'prod', team: 'pay' } });
    const b = await createSecret(s, vaultId, { env_key: 'B', labels: { env: 'prod', team: 'ops' } });
    await createSecret(s, vaultId, { env_key: 'C', labels: { env: 'dev' } });
    const d = await createSecret(s, vaultId, { env_key: 'D', labels: { url: 'http://x:1' } });
    const list = async (q: string) => {
      const res = await s.call('GET', `/vaults/${vaultId}/secrets?${q}`);
      expect(res.status, res.text).toBe(200);
      return res.json;
    };
    expect(await list('label=env:prod')).toEqual([a, b]);
    expect(await list('label=env:prod&label=team:ops')).toEqual([b]);
    expect(await list('label=team:ops&label=env:dev')).toEqual([]);
    expect(await list('label=env:nope')).toEqual([]);
    expect(await list(`label=${encodeURIComponent('url:http://x:1')}`)).toEqual([d]);
    expectJson(await s.call('GET', `/vaults/${vaultId}/secrets?label=nocolon`), 400, invalid('label filter must look like key:value'));
  });

  it('answers 404 vault not found for a missing vault', async () => {
    expectJson(await s.call('GET', `/vaults/${missingId('vlt')}/secrets`), 404, vaultNotFound);
  });
});
