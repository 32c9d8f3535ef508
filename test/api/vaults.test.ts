// Black-box tests of /vaults: create, list, get, patch, delete, and the exact 404/409 bodies.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { allEvents, createSecret, createVault, err, expectJson, idOf, invalid, isoMs, missingId, secretNotFound, vaultNotFound } from './helpers.js';

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
});
afterEach(async () => {
  await s.close();
});

describe('POST /vaults', () => {
  it('answers 201 with the vault', async () => {
    const res = await s.call('POST', '/vaults', { body: { name: 'payments', description: 'Stripe and friends' } });
    expect(res.status).toBe(201);
    expect(res.json.id).toMatch(idOf('vlt'));
    expect(res.json.created_at).toMatch(isoMs);
    expect(Object.keys(res.json)).toEqual(['id', 'name', 'description', 'secret_count', 'created_at', 'updated_at']);
    expect(res.json).toEqual({
      id: res.json.id,
      name: 'payments',
      description: 'Stripe and friends',
      secret_count: 0,
      created_at: res.json.created_at,
      updated_at: res.json.created_at,
    });
  });

  it('defaults description to null', async () => {
    const v = await createVault(s, 'plain');
    expect(v).toEqual({ id: v.id, name: 'plain', description: null, secret_count: 0, created_at: v.created_at, updated_at: v.created_at });
  });

  it('refuses a duplicate name with 409 and creates nothing', async () => {
    const v = await createVault(s, 'dup');
    const res = await s.call('POST', '/vaults', { body: { name: 'dup' } });
    expect(res.status).toBe(409);
    expect(res.json).toEqual(err('a vault with this name already exists', 'vault_name_exists'));
    expect((await s.call('GET', '/vaults')).json).toEqual([v]);
  });

  it('refuses a missing or empty name', async () => {
    expectJson(await s.call('POST', '/vaults', { body: {} }), 400, invalid('name is required'));
    const empty = await s.call('POST', '/vaults', { body: { name: '  ' } });
    expect(empty.status).toBe(400);
    expect(empty.json).toEqual(invalid('name cannot be empty'));
    expect((await s.call('GET', '/vaults')).json).toEqual([]);
  });
});

describe('GET /vaults and /vaults/{id}', () => {
  it('lists every vault as an array, newest last', async () => {
    const a = await createVault(s, 'a');
    const b = await createVault(s, 'b');
    const c = await createVault(s, 'c');
    const res = await s.call('GET', '/vaults');
    expect(res.status).toBe(200);
    expect(res.headers.get('link')).toBeNull();
    expect(res.json).toEqual([a, b, c]);
  });

  it('gets one vault, with its secret count', async () => {
    const v = await createVault(s, 'one');
    expectJson(await s.call('GET', `/vaults/${v.id}`), 200, v);
    await createSecret(s, v.id, { env_key: 'A' });
    await createSecret(s, v.id, { env_key: 'B' });
    const res = await s.call('GET', `/vaults/${v.id}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ...v, secret_count: 2 });
  });

  it.each([
    ['a well-formed id that does not exist', missingId('vlt')],
    ['a malformed id', 'vlt_x'],
    ['an id of another kind', missingId('sec')],
    ['an absurdly long id', `vlt_${'A'.repeat(5000)}`],
    ['an id with URL-encoded junk', 'vlt_%F0%9F%98%80'],
  ])('answers 404 vault not found for %s', async (_name, id) => {
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const res = await s.call(method, `/vaults/${id}`, method === 'PATCH' ? { body: { name: 'x' } } : {});
      expect(res.status, `${method}: ${res.text.slice(0, 200)}`).toBe(404);
      expect(res.json).toEqual(vaultNotFound);
    }
  });
  it('answers an undecodable URL with the standard error body, without echoing it', async () => {
    const res = await s.call('GET', '/vaults/vlt_%zzSECRETISH');
    expectJson(res, 400, invalid('malformed URL'));
    expect(res.text).not.toContain('SECRETISH');
  });
});

describe('PATCH /vaults/{id}', () => {
  it('renames and bumps updated_at', async () => {
    const v = await createVault(s, 'old');
    await sleep(5);
    const res = await s.call('PATCH', `/vaults/${v.id}`, { body: { name: 'new' } });
    expect(res.status).toBe(200);
    expect(res.json.updated_at).toMatch(isoMs);
    expect(res.json.updated_at > v.updated_at).toBe(true);
    expect(res.json).toEqual({ ...v, name: 'new', updated_at: res.json.updated_at });
    expect((await s.call('GET', `/vaults/${v.id}`)).json).toEqual(res.json);
  });

  it('sets and clears the description', async () => {
    const v = await createVault(s, 'd');
    const set = await s.call('PATCH', `/vaults/${v.id}`, { body: { description: 'hello' } });
    expect(set.status).toBe(200);
    expect(set.json).toEqual({ ...v, description: 'hello', updated_at: set.json.updated_at });
    const cleared = await s.call('PATCH', `/vaults/${v.id}`, { body: { description: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.json).toEqual({ ...v, description: null, updated_at: cleared.json.updated_at });
  });

  it('treats {} and unchanged fields as a no-op: same updated_at, no audit event', async () => {
    const v = await createVault(s, 'same', 'desc');
    await sleep(5);
    for (const body of [{}, { name: 'same' }, { description: 'desc' }, { name: 'same', description: 'desc' }]) {
      const res = await s.call('PATCH', `/vaults/${v.id}`, { body });
      expect(res.status).toBe(200);
      expect(res.json).toEqual(v);
    }
    expect((await allEvents(s)).filter((e) => e.type === 'vault.updated')).toEqual([]);
  });

  it('refuses renaming onto another vault name with 409 and changes nothing', async () => {
    const a = await createVault(s, 'a');
    const b = await createVault(s, 'b');
    const res = await s.call('PATCH', `/vaults/${b.id}`, { body: { name: 'a' } });
    expect(res.status).toBe(409);
    expect(res.json).toEqual(err('a vault with this name already exists', 'vault_name_exists'));
    expect((await s.call('GET', '/vaults')).json).toEqual([a, b]);
  });

  it('refuses unknown fields and an empty name', async () => {
    const v = await createVault(s, 'v');
    const unknown = await s.call('PATCH', `/vaults/${v.id}`, { body: { secret_count: 9 } });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toEqual(invalid('unknown field: secret_count'));
    const empty = await s.call('PATCH', `/vaults/${v.id}`, { body: { name: '' } });
    expect(empty.status).toBe(400);
    expect(empty.json).toEqual(invalid('name cannot be empty'));
    expect((await s.call('GET', `/vaults/${v.id}`)).json).toEqual(v);
  });
});

describe('DELETE /vaults/{id}', () => {
  it('answers 204 and removes the vault and every secret in it', async () => {
    const keep = await createVault(s, 'keep');
    const kept = await createSecret(s, keep.id, { env_key: 'KEPT' });
    const v = await createVault(s, 'doomed');
    const a = await createSecret(s, v.id, { env_key: 'A', revealable: true });
    const b = await createSecret(s, v.id, { env_key: 'B' });

    const res = await s.call('DELETE', `/vaults/${v.id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');

    expectJson(await s.call('GET', `/vaults/${v.id}`), 404, vaultNotFound);
    for (const secret of [a, b]) {
      for (const [method, path] of [
        ['GET', `/secrets/${secret.id}`],
        ['GET', `/secrets/${secret.id}/versions`],
        ['POST', `/secrets/${secret.id}/reveal`],
        ['DELETE', `/secrets/${secret.id}`],
      ] as const) {
        const gone = await s.call(method, path);
        expect(gone.status, `${method} ${path}`).toBe(404);
        expect(gone.json).toEqual(secretNotFound);
      }
    }
    const nested = await s.call('GET', `/vaults/${v.id}/secrets`);
    expect(nested.status).toBe(404);
    expect(nested.json).toEqual(vaultNotFound);
    expect((await s.call('GET', '/vaults')).json).toEqual([{ ...keep, secret_count: 1 }]);
    expect((await s.call('GET', `/secrets/${kept.id}`)).json).toEqual(kept);

    const again = await s.call('DELETE', `/vaults/${v.id}`);
    expect(again.status).toBe(404);
    expect(again.json).toEqual(vaultNotFound);
  });

  it('frees the name for reuse', async () => {
    const v = await createVault(s, 'reuse');
    expect((await s.call('DELETE', `/vaults/${v.id}`)).status).toBe(204);
    const again = await createVault(s, 'reuse');
    expect(again.id).not.toBe(v.id);
  });
});
