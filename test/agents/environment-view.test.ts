// GET /api/public/v1/agents/{id}/environment: the operator's view of an agent's environment, names only.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOrgViaCli } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { agentWithToken, allEvents, createAgent, createSecret, createVault, E, envOf, expectJson, grant, missingId, ok } from './helpers.js';

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
});
afterEach(async () => {
  await s.close();
});

describe("an agent's environment, seen by the operator", () => {
  it('names every variable with its source and form, in the runtime precedence, and never a value', async () => {
    const v = await createVault(s, 'v');
    const db = await createSecret(s, v.id, 'DATABASE_URL', 'postgres://u:secret-db@db/x');
    const stripe = await createSecret(s, v.id, 'STRIPE_KEY', 'sk_live_view_value', { allowed_domains: ['api.stripe.com'] });
    await createSecret(s, v.id, 'MODE', 'hidden-by-plain-env');
    const other = await createVault(s, 'other');
    const gh = await createSecret(s, other.id, 'GITHUB_TOKEN', 'ghp_view_value');
    const named = await createSecret(s, other.id, 'RAW', 'renamed-value');
    const { agent, token } = await agentWithToken(s, { name: 'a', env: { MODE: 'dev' }, env_vars: [{ name: 'ALIAS', from_secret_id: named.id }], vault_ids: [v.id] });
    await grant(s, agent.id, gh.id);
    const before = (await allEvents(s)).length;

    const res = await s.call('GET', `/agents/${agent.id}/environment`);
    expectJson(res, 200, [
      { name: 'ALIAS', form: 'value', source: 'env_var', secret_id: named.id, vault_id: other.id },
      { name: 'GITHUB_TOKEN', form: 'value', source: 'grant', secret_id: gh.id, vault_id: other.id },
      { name: 'DATABASE_URL', form: 'value', source: 'attached_vault', secret_id: db.id, vault_id: v.id },
      { name: 'STRIPE_KEY', form: 'placeholder', source: 'attached_vault', secret_id: stripe.id, vault_id: v.id },
      { name: 'MODE', form: 'value', source: 'env', secret_id: null, vault_id: null },
    ]);
    expect(res.text).not.toMatch(/secret-db|sk_live_view_value|ghp_view_value|renamed-value|hidden-by-plain-env|vgph_|"dev"/);
    // Names only, nothing decrypted: no audit event.
    expect((await allEvents(s)).length).toBe(before);
    // The same names as the runtime's environment.
    expect(Object.keys(await envOf(s, token)).sort()).toEqual(res.json.map((e: any) => e.name).sort());
  });

  it('is empty for a bare agent, 404 for a missing agent or one of another org', async () => {
    const bare = await createAgent(s, { name: 'bare' });
    expectJson(await s.call('GET', `/agents/${bare.id}/environment`), 200, []);
    expectJson(await s.call('GET', `/agents/${missingId('agt')}/environment`), 404, E.agent);
    const org = await createOrgViaCli(s, 'elsewhere');
    expectJson(await s.call('GET', `/agents/${bare.id}/environment`, { key: org.api_key }), 404, E.agent);
    expectJson(await s.call('GET', `/agents/${bare.id}/environment`, { key: null }), 401, E.unauthorized);
    await ok(s.call('GET', `/agents/${bare.id}`), 200);
  });
});
