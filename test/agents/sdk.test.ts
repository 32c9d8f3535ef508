// The SDK against a real server: operator CRUD, the agent's vault.read, typed errors, network errors.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentClient, createClient, VaultgateError } from '../../src/sdk/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { missingId, ok } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
});

/** The VaultgateError `fn` throws, checked to be one. */
async function thrown(fn: () => Promise<unknown>): Promise<VaultgateError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VaultgateError);
    return e as VaultgateError;
  }
  throw new Error('expected a VaultgateError');
}

const shape = (e: VaultgateError) => ({ name: e.name, status: e.status, code: e.code, message: e.message });

describe('createClient (operator API)', () => {
  it('vaults and secrets: create, list (paged), get, update, versions, delete; answers equal the raw API', async () => {
    const c = createClient({ url: `${s.url}/`, apiKey: s.apiKey });
    const v = await c.vaults.create({ name: 'sdk-v', description: 'd' });
    expect(v).toEqual(await ok(s.call('GET', `/vaults/${v.id}`), 200));
    const w = await c.vaults.create({ name: 'sdk-w' });
    const page1 = await c.vaults.list({ limit: 1 });
    expect(page1.items).toEqual([v]);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = await c.vaults.list({ limit: 1, cursor: page1.nextCursor! });
    expect(page2).toEqual({ items: [w], nextCursor: undefined });
    expect(await c.vaults.all()).toEqual([v, w]);
    expect(await c.vaults.update(w.id, { description: 'new' })).toEqual({ ...w, description: 'new', updated_at: expect.any(String) });

    const sec = await c.secrets.create(v.id, { env_key: 'SDK_KEY', value: 'sdk-value-1' });
    expect(sec).toEqual(await ok(s.call('GET', `/secrets/${sec.id}`), 200));
    expect(await c.secrets.get(sec.id)).toEqual(sec);
    expect((await c.secrets.list(v.id)).items).toEqual([sec]);
    const upd = await c.secrets.update(sec.id, { value: 'sdk-value-2' }, { ifVersion: 1 });
    expect(upd.version).toBe(2);
    expect(shape(await thrown(() => c.secrets.update(sec.id, { value: 'x' }, { ifVersion: 1 })))).toEqual({ name: 'VaultgateError', status: 412, code: 'version_mismatch', message: 'version mismatch' });
    expect((await c.secrets.versions(sec.id)).map((x) => x.version)).toEqual([2, 1]);
    expect(await c.secrets.delete(sec.id, { ifVersion: 2 })).toBeUndefined();
    expect(shape(await thrown(() => c.secrets.get(sec.id)))).toEqual({ name: 'VaultgateError', status: 404, code: 'secret_not_found', message: 'secret not found' });
    await c.vaults.delete(w.id);
    expect(shape(await thrown(() => c.vaults.get(w.id)))).toEqual({ name: 'VaultgateError', status: 404, code: 'vault_not_found', message: 'vault not found' });
    expect(shape(await thrown(() => c.grants.delete(missingId('grt'))))).toEqual({ name: 'VaultgateError', status: 404, code: 'grant_not_found', message: 'grant not found' });
  });

  it('agents, attachment, tokens, grants and audit; then createAgentClient reads and is denied', async () => {
    const c = createClient({ url: s.url, apiKey: s.apiKey });
    const v = await c.vaults.create({ name: 'sdk-agents' });
    const loose = await c.vaults.create({ name: 'sdk-loose' });
    const open = await c.secrets.create(v.id, { env_key: 'OPEN_SDK', value: 'open-value' });
    const granted = await c.secrets.create(loose.id, { env_key: 'GRANTED_SDK', value: 'granted-value' });
    const restricted = await c.secrets.create(loose.id, { env_key: 'RESTRICTED_SDK', value: 'restricted-value', allowed_domains: ['api.example.com'] });

    const agent = await c.agents.create({ name: 'sdk-bot', env: { MODE: 'sdk' } });
    expect(agent).toEqual(await ok(s.call('GET', `/agents/${agent.id}`), 200));
    expect((await c.agents.attach(agent.id, v.id)).vault_ids).toEqual([v.id]);
    expect((await c.agents.resources(agent.id)).map((r) => r.entity_id)).toEqual([v.id]);
    expect((await c.agents.deploy(agent.id)).status).toBe('deployed');
    expect((await c.agents.update(agent.id, { env_vars: [{ name: 'R', from_secret_id: restricted.id }] })).env_vars).toEqual([{ name: 'R', from_secret_id: restricted.id }]);
    expect((await c.agents.list()).items.map((a) => a.id)).toContain(agent.id);
    expect(await c.agents.get(agent.id)).toMatchObject({ id: agent.id, status: 'deployed', vault_ids: [v.id] });

    const g = await c.grants.create(agent.id, granted.id);
    expect(g).toEqual({ grant_id: g.grant_id, agent_id: agent.id, secret_id: granted.id, created_at: expect.any(String) });
    expect((await c.grants.list({ agent_id: agent.id })).items).toEqual([g]);
    const tok = await c.agents.createToken(agent.id);

    const ac = createAgentClient({ url: s.url, token: tok.token });
    expect(await ac.vault.read('OPEN_SDK')).toBe('open-value');
    expect(await ac.vault.read('GRANTED_SDK')).toBe('granted-value');
    const env = await ac.environment();
    expect(env.env).toEqual({ OPEN_SDK: 'open-value', GRANTED_SDK: 'granted-value', R: expect.stringMatching(/^vgph_[0-9A-Za-z]{40}$/), MODE: 'sdk' });
    // The operator's view of the same environment: names and forms, no value.
    expect((await c.agents.environment(agent.id)).map((e) => [e.name, e.form, e.source])).toEqual([
      ['R', 'placeholder', 'env_var'],
      ['GRANTED_SDK', 'value', 'grant'],
      ['OPEN_SDK', 'value', 'attached_vault'],
      ['MODE', 'value', 'env'],
    ]);
    const denied = { name: 'VaultgateError', status: 403, code: 'access_denied', message: 'access denied' };
    expect(shape(await thrown(() => ac.vault.read('R')))).toEqual(denied);
    expect(shape(await thrown(() => ac.vault.read('NOT_THERE')))).toEqual(denied);

    await c.grants.delete(g.grant_id);
    expect(shape(await thrown(() => ac.vault.read('GRANTED_SDK')))).toEqual(denied);
    await c.agents.detach(agent.id, v.id);
    expect(shape(await thrown(() => ac.vault.read('OPEN_SDK')))).toEqual(denied);

    const audit = await c.audit.list({ type: 'vault.denied' });
    expect(audit.map((e) => [e.secret_id, e.reason])).toEqual([
      [restricted.id, 'domain_restricted'],
      [null, 'no_access'],
      [granted.id, 'no_access'],
      [open.id, 'no_access'],
    ]);
    expect((await c.audit.list({ type: 'vault.accessed' })).length).toBe(4);
    expect(await c.audit.verify()).toMatchObject({ ok: true });
    // The live follower says when its connection opens, then yields from `after`.
    const opened: string[] = [];
    const abort = new AbortController();
    const follower = c.audit.follow({ type: 'vault.denied', signal: abort.signal, onConnect: () => opened.push('open') });
    expect((await follower.next()).value?.reason).toBe('domain_restricted');
    expect(opened).toEqual(['open']);
    abort.abort();
    await follower.return(undefined);

    await c.agents.revokeToken(agent.id, tok.id);
    expect(shape(await thrown(() => ac.vault.read('OPEN_SDK')))).toEqual({ name: 'VaultgateError', status: 401, code: 'unauthorized', message: 'unauthorized' });
    expect((await c.agents.stop(agent.id)).status).toBe('stopped');
    await c.agents.delete(agent.id);
    expect(shape(await thrown(() => c.agents.get(agent.id)))).toEqual({ name: 'VaultgateError', status: 404, code: 'agent_not_found', message: 'agent not found' });
    // An agent token is no operator key.
    const other = await c.agents.create({ name: 'sdk-other' });
    const otherTok = await c.agents.createToken(other.id);
    expect(shape(await thrown(() => createClient({ url: s.url, apiKey: otherTok.token }).vaults.list()))).toEqual({ name: 'VaultgateError', status: 401, code: 'unauthorized', message: 'unauthorized' });
  });
});

describe('network errors', () => {
  it("an unreachable server gives code 'network_error' (status 0) from both clients", async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const e1 = await thrown(() => createClient({ url, apiKey: 'k' }).vaults.list());
    expect([e1.status, e1.code]).toEqual([0, 'network_error']);
    expect(e1.message).toContain(url);
    const e2 = await thrown(() => createAgentClient({ url, token: 't' }).vault.read('X'));
    expect([e2.status, e2.code]).toEqual([0, 'network_error']);
  });
});
