// Canary sweep: domain-restricted values appear in no response, audit record, log line or data-dir file
// (raw, JSON-escaped, base64 at every alignment, hex, percent, UTF-16); unrestricted values appear only in
// environment and vault.read responses.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { leaks, needlesFor, searchDir, sleep, SseClient } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { canary, placeholderRe, type Res } from './helpers.js';

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer({ sseHeartbeatMs: 200 });
});
afterEach(async () => {
  await s.close();
});

type Kind = 'runtime' | 'other';

describe('canary sweep', () => {
  it('restricted values never leave; unrestricted values only through environment and vault.read', async () => {
    const seen: { kind: Kind; where: string; text: string }[] = [];
    const rec = async (kind: Kind, where: string, p: Promise<Res>): Promise<Res> => {
      const r = await p;
      seen.push({ kind, where: `${where} → ${r.status}`, text: `${[...r.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${r.text}` });
      return r;
    };
    const op = (method: string, path: string, body?: unknown, raw?: string, headers?: Record<string, string>) =>
      rec('other', `${method} ${path}`, s.call(method, path, { ...(body === undefined ? {} : { body }), ...(raw === undefined ? {} : { raw }), ...(headers ? { headers } : {}) }));
    const ag = (token: string, path: string) => rec('runtime', `agent GET ${path}`, s.call('GET', `${s.url}/api/agent/v1${path}`, { key: token }));

    const R = { vault: canary('restricted-vault'), grant: canary('restricted-grant'), envVar: canary('restricted-envvar'), rotated: canary('restricted-rotated') };
    const U = { vault: canary('open-vault'), compat: canary('open-compat') };
    const domains = { allowed_domains: ['api.stripe.com', '*.example.com'] };

    const v = (await op('POST', '/vaults', { name: 'v' })).json;
    const loose = (await op('POST', '/vaults', { name: 'loose' })).json;
    const rv = (await op('POST', `/vaults/${v.id}/secrets`, { env_key: 'STRIPE_KEY', value: R.vault, ...domains })).json;
    const rg = (await op('POST', `/vaults/${loose.id}/secrets`, { env_key: 'GRANTED_R', value: R.grant, ...domains })).json;
    const re = (await op('POST', `/vaults/${loose.id}/secrets`, { env_key: 'ENVVAR_R', value: R.envVar, ...domains })).json;
    const uv = (await op('POST', `/vaults/${v.id}/secrets`, { env_key: 'OPEN_KEY', value: U.vault })).json;
    const uc = (await op('POST', `${s.url}/v1/vault/secrets`, { name: 'COMPAT_KEY', value: U.compat })).json;
    const agent = (await op('POST', '/agents', { name: 'a', vault_ids: [v.id], env_vars: [{ name: 'MY_R', from_secret_id: re.id }] })).json;
    await op('POST', '/grants', { agent_id: agent.id, secret_id: rg.id });
    await op('POST', `${s.url}/v1/vault/grants`, { agent_id: 'a', secret_id: uc.id });
    const token = (await op('POST', `/agents/${agent.id}/tokens`)).json.token as string;
    await op('POST', `/agents/${agent.id}/deploy`);

    // Runtime: environment, allowed reads, denied reads of every restricted secret.
    const env = (await ag(token, '/environment')).json.env;
    expect(env.OPEN_KEY).toBe(U.vault);
    expect(env.COMPAT_KEY).toBe(U.compat);
    for (const k of ['STRIPE_KEY', 'GRANTED_R', 'MY_R']) expect(env[k]).toMatch(placeholderRe);
    for (const k of ['OPEN_KEY', 'COMPAT_KEY']) expect((await ag(token, `/secrets/${k}`)).status).toBe(200);
    for (const k of ['STRIPE_KEY', 'GRANTED_R', 'MY_R', 'ENVVAR_R', 'NOPE']) expect((await ag(token, `/secrets/${k}`)).status).toBe(403);

    // Rotation of a restricted value; its responses and the next environment carry no value.
    await op('PATCH', `/secrets/${rv.id}`, { value: R.rotated });
    expect((await ag(token, '/environment')).json.env.STRIPE_KEY).toBe(env.STRIPE_KEY);

    // Error paths that carry a value in the request body: each is refused without echoing it.
    const errors = [
      await op('POST', `/vaults/${v.id}/secrets`, { env_key: 'STRIPE_KEY', value: R.vault, ...domains }), // duplicate env_key
      await op('POST', `/vaults/${v.id}/secrets`, { env_key: 'bad key', value: R.grant }),
      await op('POST', `/vaults/${v.id}/secrets`, { env_key: 'X', value: R.grant, allowed_domains: ['*'] }),
      await op('POST', `/vaults/${v.id}/secrets`, { env_key: 'X', value: R.grant, extra: R.grant }),
      await op('PATCH', `/secrets/${rv.id}`, { value: R.envVar, labels: { a: 'b' } }),
      await op('PATCH', `/secrets/${rv.id}`, { value: R.envVar }, undefined, { 'if-match': '"99"' }),
      await op('POST', `/vaults/${v.id}/secrets`, undefined, `{"env_key":"Y","value":"${R.grant}"`),
      await op('POST', `${s.url}/v1/vault/secrets`, { name: 'COMPAT_KEY', value: R.vault }),
      await op('POST', `/secrets/${rv.id}/reveal`),
    ];
    expect(errors.map((r) => r.status >= 400 && r.status < 500)).toEqual(errors.map(() => true));
    // The same value again is a no-op that answers metadata only.
    expect((await op('PATCH', `/secrets/${rv.id}`, { value: R.rotated })).json.version).toBe(2);

    // Every read surface of the operator API, the audit log and its stream.
    for (const path of ['/vaults', `/vaults/${v.id}`, `/vaults/${v.id}/secrets`, `/vaults/${loose.id}/secrets`, `/secrets/${rv.id}`, `/secrets/${rv.id}/versions`, `/secrets/${uv.id}/versions`, '/agents', `/agents/${agent.id}`, `/agents/${agent.id}/resources`, '/grants', '/audit?limit=1000', '/audit/verify', `${s.url}/v1/vault/secrets`]) {
      await op('GET', path);
    }
    const stream = await SseClient.open(s, '/audit/stream');
    await stream.until(() => stream.frames.some((f) => f.comment === 'heartbeat'));
    stream.close();
    seen.push({ kind: 'other', where: 'GET /audit/stream', text: stream.raw });
    const audit = seen.find((x) => x.where.startsWith('GET /audit?limit'))!;
    expect(audit.text).toContain('vault.accessed');
    expect(audit.text).toContain('domain_restricted');
    await sleep(50);

    const hits: string[] = [];
    const restricted = Object.values(R);
    for (const x of seen) {
      for (const r of restricted) hits.push(...leaks(x.where, x.text, r));
      if (x.kind === 'other') for (const u of Object.values(U)) hits.push(...leaks(x.where, x.text, u));
    }
    const logs = s.logs.join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [...restricted, ...Object.values(U)]) hits.push(...leaks('logs', logs, secret));
    for (const secret of [...restricted, ...Object.values(U)]) hits.push(...searchDir(s.dataDir, needlesFor(secret)).map((h) => `${h.where}: ${h.encoding}`));
    expect(hits).toEqual([]);

    // The sweep can see a leak: the unrestricted values are found in the runtime responses.
    const runtime = seen.filter((x) => x.kind === 'runtime').map((x) => x.text).join('\n');
    expect(leaks('runtime', runtime, U.vault).length).toBeGreaterThan(0);
    expect(leaks('runtime', runtime, U.compat).length).toBeGreaterThan(0);
    expect(seen.length).toBeGreaterThan(40);
  });
});
