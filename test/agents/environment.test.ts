// GET /api/agent/v1/environment: values vs placeholders, placeholder stability, precedence, audit.
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { agentCall, agentWithToken, createSecret, createVault, envOf, eventsOf, grant, ok, placeholderRe, readSecret } from './helpers.js';

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
});
afterEach(async () => {
  await s.close();
});

const restricted = { allowed_domains: ['api.stripe.com'] };

describe('the agent environment', () => {
  it('holds plain env, unrestricted values and placeholders for restricted secrets, plus proxy_url and the CA', async () => {
    const v = await createVault(s, 'v');
    await createSecret(s, v.id, 'DATABASE_URL', 'postgres://u:p@db/x');
    await createSecret(s, v.id, 'STRIPE_KEY', 'sk_live_restricted_value', restricted);
    const { agent, token } = await agentWithToken(s, { name: 'a', env: { MODE: 'dev' }, vault_ids: [v.id] });
    const res = await agentCall(s, token, '/environment');
    expect(res.status).toBe(200);
    expect(Object.keys(res.json)).toEqual(['env', 'proxy_url', 'ca_certificate']);
    const { env, proxy_url, ca_certificate } = res.json;
    expect(env).toEqual({ DATABASE_URL: 'postgres://u:p@db/x', STRIPE_KEY: env.STRIPE_KEY, MODE: 'dev' });
    expect(env.STRIPE_KEY).toMatch(placeholderRe);
    // The proxy's real address (the harness may run the proxy on an ephemeral port).
    const proxyBase = new URL((s.server as { proxyUrl?: string }).proxyUrl ?? 'http://127.0.0.1:7401');
    expect(proxy_url).toBe(`http://${agent.id}:${token}@${proxyBase.host}`);
    expect(ca_certificate).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/);
    // The placeholder is not the value, and the value appears nowhere in the response.
    expect(res.text).not.toContain('sk_live_restricted_value');
    // The same CA every time.
    expect((await agentCall(s, token, '/environment')).json.ca_certificate).toBe(ca_certificate);
  });

  it('placeholders are stable across calls, value rotations and domain changes; they differ per agent and per secret', async () => {
    const v = await createVault(s, 'v');
    const r1 = await createSecret(s, v.id, 'R1', 'first-restricted', restricted);
    await createSecret(s, v.id, 'R2', 'other-restricted', restricted);
    const u = await createSecret(s, v.id, 'U', 'u-1');
    const a = await agentWithToken(s, { name: 'a', vault_ids: [v.id] });
    const b = await agentWithToken(s, { name: 'b', vault_ids: [v.id] });
    const envA = await envOf(s, a.token);
    expect(await envOf(s, a.token)).toEqual(envA);

    const patched = await ok(s.call('PATCH', `/secrets/${r1.id}`, { body: { value: 'second-restricted' } }), 200);
    expect(patched.version).toBe(2);
    await ok(s.call('PATCH', `/secrets/${r1.id}`, { body: { allowed_domains: ['*.stripe.com'] } }), 200);
    await ok(s.call('PATCH', `/secrets/${u.id}`, { body: { value: 'u-2' } }), 200);
    const after = await envOf(s, a.token);
    expect(after).toEqual({ ...envA, U: 'u-2' });
    expect(JSON.stringify(after)).not.toMatch(/first-restricted|second-restricted/);

    // A second token of the same agent sees the same placeholders.
    const again = await ok(s.call('POST', `/agents/${a.agent.id}/tokens`), 201);
    expect(await envOf(s, again.token)).toEqual(after);

    const envB = await envOf(s, b.token);
    expect(envB.R1).toMatch(placeholderRe);
    expect(envB.R1).not.toBe(envA.R1);
    expect(envB.R2).not.toBe(envA.R2);
    expect(envA.R1).not.toBe(envA.R2);
  });

  it('one placeholder per (agent, secret): the same under two names; a domain change flips value ⇄ placeholder live', async () => {
    const v = await createVault(s, 'v');
    const r = await createSecret(s, v.id, 'R', 'flip-value', restricted);
    const { token } = await agentWithToken(s, { name: 'a', vault_ids: [v.id], env_vars: [{ name: 'ALIAS', from_secret_id: r.id }] });
    const e1 = await envOf(s, token);
    expect(e1.R).toMatch(placeholderRe);
    expect(e1).toEqual({ ALIAS: e1.R, R: e1.R });
    await ok(s.call('PATCH', `/secrets/${r.id}`, { body: { allowed_domains: [] } }), 200);
    expect(await envOf(s, token)).toEqual({ ALIAS: 'flip-value', R: 'flip-value' });
    expect((await readSecret(s, token, 'R')).json).toEqual({ value: 'flip-value' });
    await ok(s.call('PATCH', `/secrets/${r.id}`, { body: { allowed_domains: ['api.stripe.com'] } }), 200);
    expect(await envOf(s, token)).toEqual(e1);
    expect((await readSecret(s, token, 'R')).status).toBe(403);
  });

  it('placeholders and tokens survive a server restart on the same data dir', async () => {
    const v = await createVault(s, 'v');
    await createSecret(s, v.id, 'R', 'restricted-value', restricted);
    const { token } = await agentWithToken(s, { name: 'a', vault_ids: [v.id] });
    const before = await envOf(s, token);
    const dataDir = s.dataDir;
    await s.close({ keepData: true });
    s = await startTestServer({ dataDir, apiKey: s.apiKey });
    try {
      expect(await envOf(s, token)).toEqual(before);
    } finally {
      await s.close();
      rmSync(dataDir, { recursive: true, force: true });
      s = await startTestServer();
    }
  });

  it('precedence: env_vars > grant > attached vault; plain env beats attached and granted names', async () => {
    const att = await createVault(s, 'attached');
    const loose = await createVault(s, 'loose');
    const secs: Record<string, any> = {};
    for (const k of ['X', 'Y', 'Z', 'P']) secs[`att${k}`] = await createSecret(s, att.id, k, `att-${k}`);
    for (const k of ['X', 'Y', 'P']) secs[`grant${k}`] = await createSecret(s, loose.id, k, `grant-${k}`);
    const ev = await createSecret(s, loose.id, 'SOMETHING_ELSE', 'ev-X');
    const { agent, token } = await agentWithToken(s, { name: 'a', env: { P: 'plain-P' }, vault_ids: [att.id], env_vars: [{ name: 'X', from_secret_id: ev.id }] });
    for (const k of ['X', 'Y', 'P']) await grant(s, agent.id, secs[`grant${k}`].id);

    const env = await envOf(s, token);
    expect(env).toEqual({ X: 'ev-X', Y: 'grant-Y', Z: 'att-Z', P: 'plain-P' });
    // vault.read resolves a name the same way.
    expect((await readSecret(s, token, 'X')).json).toEqual({ value: 'ev-X' });
    expect((await readSecret(s, token, 'Y')).json).toEqual({ value: 'grant-Y' });
    expect((await readSecret(s, token, 'Z')).json).toEqual({ value: 'att-Z' });

    // Exactly the delivered values were audited (the shadowed ones and the plain one were not).
    const delivered = (await eventsOf(s, 'vault.accessed')).filter((e) => e.details.delivery === 'environment');
    expect(delivered.map((e) => [e.secret_id, e.details.via]).sort()).toEqual(
      [
        [ev.id, 'env_var'],
        [secs.grantY.id, 'grant'],
        [secs.attZ.id, 'attached_vault'],
      ].sort(),
    );
  });

  it('two attached vaults naming the same variable: the first attached wins', async () => {
    const first = await createVault(s, 'first');
    const second = await createVault(s, 'second');
    await createSecret(s, second.id, 'DUP', 'from-second');
    await createSecret(s, first.id, 'DUP', 'from-first');
    const { token } = await agentWithToken(s, { name: 'a', vault_ids: [first.id, second.id] });
    expect(await envOf(s, token)).toEqual({ DUP: 'from-first' });
  });

  it('every delivered value is audited vault.accessed with delivery environment; placeholders are not', async () => {
    const v = await createVault(s, 'v');
    const u1 = await createSecret(s, v.id, 'U1', 'one');
    const u2 = await createSecret(s, v.id, 'U2', 'two');
    const r = await createSecret(s, v.id, 'R', 'restricted', restricted);
    const { agent, token } = await agentWithToken(s, { name: 'a', vault_ids: [v.id] });
    const res = await agentCall(s, token, '/environment');
    expect(res.status).toBe(200);
    const events = await eventsOf(s, 'vault.accessed');
    expect(events.map((e) => e.secret_id).sort()).toEqual([u1.id, u2.id].sort());
    for (const e of events) {
      expect(e).toMatchObject({ actor: agent.id, agent_id: agent.id, vault_id: v.id, request_id: res.headers.get('x-request-id'), source_ip: '127.0.0.1' });
      expect(e.details).toEqual({ env_key: e.secret_id === u1.id ? 'U1' : 'U2', version: 1, via: 'attached_vault', delivery: 'environment' });
    }
    expect(events.some((e) => e.secret_id === r.id)).toBe(false);
    await envOf(s, token);
    expect((await eventsOf(s, 'vault.accessed')).length).toBe(4);
    // An environment with nothing but placeholders and plain env audits nothing.
    const p = await agentWithToken(s, { name: 'p', env: { M: '1' }, env_vars: [{ name: 'RR', from_secret_id: r.id }] });
    expect(Object.keys(await envOf(s, p.token))).toEqual(['RR', 'M']);
    expect((await eventsOf(s, 'vault.accessed')).length).toBe(4);
  });
});
