// Black-box tests of PATCH/DELETE/versions/reveal on secrets: no-ops, immutables, If-Match, flat and nested forms.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { adminKeyId, allEvents, canary, createSecret, createVault, err, expectJson, secretKeyOrder, secretNotFound, vaultNotFound, versionMismatch } from './helpers.js';

let s: TestServer;
let vaultId: string;
let value: string;
let secret: any;
let path: string;
beforeEach(async () => {
  s = await startTestServer();
  vaultId = (await createVault(s, 'main')).id;
  value = canary('orig');
  secret = await createSecret(s, vaultId, { env_key: 'API_KEY', value, allowed_domains: ['api.stripe.com'], revealable: true, labels: { env: 'prod' } });
  path = `/vaults/${vaultId}/secrets/${secret.id}`;
});
afterEach(async () => {
  await s.close();
});

const current = async () => (await s.call('GET', path)).json;
const reveal = async () => (await s.call('POST', `${path}/reveal`)).json;
const updatedEvents = async () => (await allEvents(s)).filter((e) => e.type === 'secret.updated');

describe('PATCH no-ops', () => {
  it.each([
    ['{}', {}],
    ['the same value', 'SAME_VALUE'],
    ['the same domain list', { allowed_domains: ['api.stripe.com'] }],
    ['the same domain list, spelled differently', { allowed_domains: ['API.Stripe.com.', 'api.stripe.com:443'] }],
    ['the same inject_in and description', { inject_in: ['header'], description: null }],
  ])('%s changes neither updated_at nor version', async (_name, body) => {
    await sleep(5);
    const res = await s.call('PATCH', path, { body: body === 'SAME_VALUE' ? { value } : body });
    expectJson(res, 200, secret);
    expect(await current()).toEqual(secret);
    expect(await updatedEvents()).toEqual([]);
    expect((await s.call('GET', `${path}/versions`)).json.length).toBe(1);
  });
});

describe('PATCH changes', () => {
  it('a new value makes version 2 and bumps updated_at; reveal returns it', async () => {
    await sleep(5);
    const next = canary('next');
    const res = await s.call('PATCH', path, { body: { value: next } });
    expect(res.status).toBe(200);
    expect(res.json.updated_at > secret.updated_at).toBe(true);
    expect(res.json).toEqual({ ...secret, version: 2, updated_at: res.json.updated_at });
    expect(Object.keys(res.json)).toEqual(secretKeyOrder);
    expect(res.text).not.toContain(next);
    expect(await current()).toEqual(res.json);
    expect(await reveal()).toEqual({ value: next, version: 2 });
  });

  it('a domain change is a new version too, keeping the value', async () => {
    const res = await s.call('PATCH', path, { body: { allowed_domains: ['*.Stripe.com'], description: 'd' } });
    expectJson(res, 200, { ...secret, allowed_domains: ['*.stripe.com'], description: 'd', version: 2, updated_at: res.json.updated_at });
    expect(await reveal()).toEqual({ value, version: 2 });
  });

  it.each([
    ['labels', { labels: { env: 'dev' } }],
    ['labels', { labels: {} }],
    ['revealable', { revealable: false }],
    ['revealable', { revealable: true, value: 'ignored' }],
  ])('refuses changing %s with 400 and changes nothing', async (field, body) => {
    const res = await s.call('PATCH', path, { body });
    expectJson(res, 400, err(`${field} is immutable`, 'immutable_field'));
    expect(await current()).toEqual(secret);
    expect(await reveal()).toEqual({ value, version: 1 });
  });

  it('refuses bad fields like create does', async () => {
    expectJson(await s.call('PATCH', path, { body: { value: '' } }), 400, err('value cannot be empty', 'value_empty'));
    expectJson(await s.call('PATCH', path, { body: { allowed_domains: ['*'] } }), 400, err('allowed_domains[0] is invalid: bare wildcard', 'invalid_request'));
    expectJson(await s.call('PATCH', path, { body: { env_key: 'OTHER' } }), 400, err('unknown field: env_key', 'invalid_request'));
    expect(await current()).toEqual(secret);
  });
});

describe('optimistic concurrency', () => {
  async function toVersion2(): Promise<any> {
    const res = await s.call('PATCH', path, { body: { value: canary('v2') } });
    expect(res.json.version).toBe(2);
    return res.json;
  }

  it.each([
    ['If-Match "1"', { headers: { 'if-match': '"1"' } }, {}],
    ['If-Match W/"1"', { headers: { 'if-match': 'W/"1"' } }, {}],
    ['If-Match "3"', { headers: { 'if-match': '"3"' } }, {}],
    ['expected_version 1', {}, { expected_version: 1 }],
  ])('PATCH with %s at version 2 → 412 and nothing changes', async (_name, opts, extra) => {
    const v2 = await toVersion2();
    const before = await reveal();
    for (const body of [{ value: canary('lost') }, {}]) {
      const res = await s.call('PATCH', path, { ...opts, body: { ...body, ...extra } });
      expectJson(res, 412, versionMismatch);
    }
    expect(await current()).toEqual(v2);
    expect(await reveal()).toEqual(before);
  });

  it('PATCH with the current version applies', async () => {
    await toVersion2();
    const byHeader = await s.call('PATCH', path, { headers: { 'if-match': '"2"' }, body: { description: 'a' } });
    expect(byHeader.status).toBe(200);
    expect(byHeader.json.version).toBe(3);
    const byBody = await s.call('PATCH', path, { body: { description: 'b', expected_version: 3 } });
    expect(byBody.status).toBe(200);
    expect(byBody.json.version).toBe(4);
  });

  it('DELETE with a stale If-Match → 412 and the secret stays; the current one deletes', async () => {
    const v2 = await toVersion2();
    expectJson(await s.call('DELETE', path, { headers: { 'if-match': '"1"' } }), 412, versionMismatch);
    expect(await current()).toEqual(v2);
    const res = await s.call('DELETE', path, { headers: { 'if-match': '"2"' } });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expectJson(await s.call('GET', path), 404, secretNotFound);
  });

  it('refuses a malformed If-Match', async () => {
    expectJson(await s.call('PATCH', path, { headers: { 'if-match': 'abc' }, body: {} }), 400, err('If-Match must be a version number in quotes, e.g. "3"', 'invalid_request'));
  });
});

describe('versions', () => {
  it('lists version metadata newest first with what changed, never a value', async () => {
    const actor = await adminKeyId(s);
    const v2 = (await s.call('PATCH', path, { body: { value: canary('v2') } })).json;
    const v3 = (await s.call('PATCH', path, { body: { allowed_domains: ['a.example.com'], description: 'x' } })).json;
    const res = await s.call('GET', `${path}/versions`);
    const meta = { actor, inject_in: ['header'] };
    expectJson(res, 200, [
      { version: 3, created_at: v3.updated_at, ...meta, changed: ['allowed_domains', 'description'], allowed_domains: ['a.example.com'], description: 'x' },
      { version: 2, created_at: v2.updated_at, ...meta, changed: ['value'], allowed_domains: ['api.stripe.com'], description: null },
      { version: 1, created_at: secret.created_at, ...meta, changed: ['value'], allowed_domains: ['api.stripe.com'], description: null },
    ]);
    expect(res.text).not.toContain(value);
  });
});

describe('reveal', () => {
  it('answers 403 for a non-revealable secret and audits both outcomes', async () => {
    const hidden = await createSecret(s, vaultId, { env_key: 'HIDDEN', value: canary('hidden') });
    const denied = await s.call('POST', `/vaults/${vaultId}/secrets/${hidden.id}/reveal`);
    expectJson(denied, 403, err('secret is not revealable', 'not_revealable'));
    expectJson(await s.call('POST', `${path}/reveal`), 200, { value, version: 1 });

    const events = (await allEvents(s)).filter((e) => e.type === 'secret.revealed');
    expect(events.map((e) => [e.secret_id, e.vault_id, e.outcome, e.reason, e.details])).toEqual([
      [hidden.id, vaultId, 'denied', 'secret is not revealable', {}],
      [secret.id, vaultId, 'success', null, { env_key: 'API_KEY', version: 1 }],
    ]);
    expect(JSON.stringify(await allEvents(s))).not.toContain(value);
  });
});

describe('flat /secrets/{id} and wrong scopes', () => {
  it('flat GET/PATCH/versions/reveal/DELETE behave like nested', async () => {
    const flat = `/secrets/${secret.id}`;
    expectJson(await s.call('GET', flat), 200, await current());
    const patched = await s.call('PATCH', flat, { headers: { 'if-match': '"1"' }, body: { value: 'flat-value' } });
    expectJson(patched, 200, { ...secret, version: 2, updated_at: patched.json.updated_at });
    expectJson(await s.call('GET', path), 200, patched.json);
    expectJson(await s.call('GET', `${flat}/versions`), 200, (await s.call('GET', `${path}/versions`)).json);
    expectJson(await s.call('POST', `${flat}/reveal`), 200, { value: 'flat-value', version: 2 });
    expectJson(await s.call('PATCH', flat, { body: { labels: {} } }), 400, err('labels is immutable', 'immutable_field'));
    expectJson(await s.call('DELETE', flat, { headers: { 'if-match': '"1"' } }), 412, versionMismatch);
    expect((await s.call('DELETE', flat)).status).toBe(204);
    expectJson(await s.call('GET', path), 404, secretNotFound);
    expectJson(await s.call('GET', flat), 404, secretNotFound);
  });

  it('nested under another vault answers 404 secret not found and changes nothing', async () => {
    const other = await createVault(s, 'other');
    const wrong = `/vaults/${other.id}/secrets/${secret.id}`;
    for (const [method, suffix, body] of [
      ['GET', '', undefined],
      ['PATCH', '', { value: canary('x') }],
      ['DELETE', '', undefined],
      ['GET', '/versions', undefined],
      ['POST', '/reveal', undefined],
    ] as const) {
      const res = await s.call(method, `${wrong}${suffix}`, body ? { body } : {});
      expectJson(res, 404, secretNotFound);
    }
    expect(await current()).toEqual(secret);
    expect(await reveal()).toEqual({ value, version: 1 });
  });

  it('nested under a missing vault answers 404 vault not found', async () => {
    expectJson(await s.call('GET', `/vaults/vlt_x/secrets/${secret.id}`), 404, vaultNotFound);
  });

  it.each(['sec_x', 'vlt_01KQ27AQH800XQTQPJZ0DH14SJ', 'sec_01KQ27AQH800XQTQPJZ0DH14SJ', `sec_${'Z'.repeat(3000)}`])('an unknown secret id %s answers 404 secret not found', async (id) => {
    for (const p of [`/secrets/${id}`, `/vaults/${vaultId}/secrets/${id}`]) {
      expectJson(await s.call('GET', p), 404, secretNotFound);
      expectJson(await s.call('PATCH', p, { body: {} }), 404, secretNotFound);
      expectJson(await s.call('DELETE', p), 404, secretNotFound);
      expectJson(await s.call('POST', `${p}/reveal`), 404, secretNotFound);
      expectJson(await s.call('GET', `${p}/versions`), 404, secretNotFound);
    }
  });
});
