import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { VaultError } from '../contract/errors.js';
import { createIdFactory } from '../core/ids.js';
import { placeholderFor } from '../core/placeholders.js';
import { createKeyringRecord, openKeyring } from '../crypto/keyring.js';
import type { AgentAccessFacts, AuditDraft, SecretRow } from '../storage/types.js';
import { systemClock } from './context.js';
import { createProxyService } from './proxy-service.js';
import { sealValue } from '../crypto/envelope.js';
import { bindingOf } from './secret-values.js';

const masterKey = randomBytes(32);
const keyring = openKeyring(masterKey, createKeyringRecord(masterKey));
const caller = { orgId: 'org_1', actor: 'agt_1', agentId: 'agt_1', tokenId: 'atk_1', requestId: 'req_1', sourceIp: '127.0.0.1' };

function secret(id: string, env_key: string, allowed_domains: string[]): SecretRow {
  const at = '2026-01-01T00:00:00.000Z';
  return { id, org_id: 'org_1', vault_id: 'vlt_1', env_key, allowed_domains, inject_in: ['header'], description: null, labels: {}, revealable: false, version: 1, created_at: at, updated_at: at, type: 'static', rules: null, rate_limit: null, signing: null };
}

const stripe = secret('sec_stripe', 'STRIPE_KEY', ['api.stripe.com']);
const github = secret('sec_github', 'GITHUB_TOKEN', ['api.github.com']);

const line = { method: 'GET', target: '/' };

function serviceOver(status: 'deployed' | 'stopped', env: Record<string, string> = {}, attached: SecretRow[] = [stripe, github], tokenError: Error | null = null) {
  const facts: AgentAccessFacts = {
    agent: { id: 'agt_1', org_id: 'org_1', name: 'a', env, status, created_at: '', updated_at: '', env_vars: [], vault_ids: ['vlt_1'] },
    attached,
    granted: [],
    envVars: [],
  };
  const appended: AuditDraft[] = [];
  const versions = new Map(attached.filter((a) => a.type === 'oauth2').map((a) => [`${a.id}@${a.version}`, sealedVersion(a, JSON.stringify({ token_url: 'https://auth.example.com/t', client_id: 'c', client_secret: 'cs_secret' }))]));
  const store = {
    agentAccessFacts: vi.fn(async () => facts),
    getSecretVersion: vi.fn(async (_org: string, secretId: string, version: number) => versions.get(`${secretId}@${version}`) ?? null),
    appendAudit: vi.fn(async (drafts: AuditDraft[]) => void appended.push(...drafts)),
  };
  // A fixed-window counter standing in for the store's (test/storage/rate-limits.test.ts tests that one).
  const taken = new Map<string, number>();
  const rates = {
    take: vi.fn(async (_org: string, secretId: string, agentId: string, limit: { requests: number } | null) => {
      const key = `${secretId}/${agentId}`;
      const n = (taken.get(key) ?? 0) + 1;
      if (limit && n > limit.requests) return { ok: false as const, retryAfterSeconds: 7 };
      taken.set(key, n);
      return { ok: true as const };
    }),
    peek: vi.fn(async (_org: string, secretId: string, agentId: string, limit: { requests: number } | null) => {
      const n = (taken.get(`${secretId}/${agentId}`) ?? 0) + 1;
      return limit && n > limit.requests ? { ok: false as const, retryAfterSeconds: 7 } : { ok: true as const };
    }),
  };
  const tokens = {
    accessToken: vi.fn(async () => {
      if (tokenError) throw tokenError;
      return { token: 'at_current' };
    }),
    invalidate: vi.fn(async () => undefined),
  };
  const service = createProxyService({ ids: createIdFactory(), clock: systemClock, random: randomBytes, store, keyring, credentials: {} as never, tokens, rates });
  return { service, store, appended, rates };
}

const at = (host: string) => ({ host, port: 443, isIp: false });

function sealedVersion(row: SecretRow, value: string) {
  const sealed = sealValue(keyring, bindingOf(row), value);
  return { secret_id: row.id, version: row.version, created_at: row.created_at, actor: 'admin', changed: ['value'], allowed_domains: row.allowed_domains, inject_in: row.inject_in, description: null, kek_id: sealed.kekId, wrapped_key: sealed.wrappedKey, ciphertext: sealed.ciphertext, fingerprint: 'f' };
}

const oauth = { ...secret('sec_oauth', 'CRM_TOKEN', ['api.stripe.com', 'auth.example.com']), type: 'oauth2' as const };
const oauthPlaceholder = placeholderFor(keyring.placeholderKey, 'agt_1', 'sec_oauth');

describe('proxy service: prepare reads data, and opens only what the destination may receive', () => {
  it('holds every placeholder the agent was given, but reads the sealed value only of the secret allowed here', async () => {
    const { service, store } = serviceOver('deployed');
    const access = await service.prepare(caller, at('api.stripe.com'), true, line);
    expect([...access.held.keys()].sort()).toEqual([placeholderFor(keyring.placeholderKey, 'agt_1', 'sec_stripe'), placeholderFor(keyring.placeholderKey, 'agt_1', 'sec_github')].sort());
    expect(store.getSecretVersion).toHaveBeenCalledTimes(1);
    expect(store.getSecretVersion).toHaveBeenCalledWith('org_1', 'sec_stripe', 1);
  });

  it('a destination no secret allows, or plain http, opens nothing', async () => {
    const { service, store } = serviceOver('deployed');
    await service.prepare(caller, at('evil.com'), true, line);
    await service.prepare(caller, { host: 'api.stripe.com', port: 80, isIp: false }, false, line);
    expect(store.getSecretVersion).not.toHaveBeenCalled();
  });

  it('a stopped agent holds nothing and opens nothing', async () => {
    const { service, store } = serviceOver('stopped');
    const access = await service.prepare(caller, at('api.stripe.com'), true, line);
    expect(access.stopped).toBe(true);
    expect(access.held.size).toBe(0);
    expect(store.getSecretVersion).not.toHaveBeenCalled();
  });

  it('a secret shadowed by plain env is not held (the agent never received its placeholder)', async () => {
    const { service } = serviceOver('deployed', { STRIPE_KEY: 'plain' });
    const access = await service.prepare(caller, at('api.stripe.com'), true, line);
    expect([...access.held.values()].map((h) => h.secret.id)).toEqual(['sec_github']);
  });

  it('a refusal is audited without reading the agent facts or any value', async () => {
    const { service, store, appended } = serviceOver('deployed');
    await service.auditBlocked(caller, at('api.stripe.com'), { reason: 'Host does not match the CONNECT authority', secret: null });
    expect(store.agentAccessFacts).not.toHaveBeenCalled();
    expect(store.getSecretVersion).not.toHaveBeenCalled();
    expect(appended).toMatchObject([{ type: 'proxy.blocked', outcome: 'denied', agent_id: 'agt_1', reason: 'Host does not match the CONNECT authority', details: { host: 'api.stripe.com' } }]);
  });

  it('injections are audited one event per secret, with the surfaces used and nothing when none was', async () => {
    const { service, appended } = serviceOver('deployed');
    const access = await service.prepare(caller, at('api.stripe.com'), true, line);
    await service.auditInjected(access, new Map());
    expect(appended).toEqual([]);
    await service.auditInjected(access, new Map([['sec_stripe', new Set(['header'] as const)]]));
    expect(appended).toMatchObject([{ type: 'proxy.injected', secret_id: 'sec_stripe', vault_id: 'vlt_1', details: { host: 'api.stripe.com', surfaces: ['header'], env_key: 'STRIPE_KEY', version: 1 } }]);
  });

  it('admit counts one slot per secret carried, only for secrets with a rate limit, and names the first one over', async () => {
    const limited = { ...stripe, rate_limit: { requests: 2, per: 'minute' as const } };
    const { service, rates } = serviceOver('deployed', {}, [limited, github]);
    const access = await service.prepare(caller, at('api.stripe.com'), true, line);
    expect(await service.admit(access, ['sec_stripe'])).toEqual({ ok: true });
    expect(await service.admit(access, ['sec_stripe', 'sec_github'])).toEqual({ ok: true });
    expect(await service.admit(access, ['sec_stripe'])).toEqual({ ok: false, secret: limited, retryAfterSeconds: 7 });
    expect(rates.take.mock.calls.map((c) => c[1])).toEqual(['sec_stripe', 'sec_stripe', 'sec_stripe']);
  });

  it('admit takes no slot of any secret when one of several limited secrets it carries is over its limit', async () => {
    const limitedStripe = { ...stripe, rate_limit: { requests: 5, per: 'minute' as const } };
    const limitedGithub = { ...github, rate_limit: { requests: 1, per: 'minute' as const } };
    const { service, rates } = serviceOver('deployed', {}, [limitedStripe, limitedGithub]);
    const access = await service.prepare(caller, at('api.stripe.com'), true, line);
    expect(await service.admit(access, ['sec_github'])).toEqual({ ok: true });
    expect(await service.admit(access, ['sec_stripe', 'sec_github'])).toEqual({ ok: false, secret: limitedGithub, retryAfterSeconds: 7 });
    expect(rates.take.mock.calls.map((c) => c[1])).toEqual(['sec_github']);
    expect(await service.admit(access, ['sec_stripe'])).toEqual({ ok: true });
  });

  it('a rule or rate-limit refusal is audited under its fixed reason, with the sentence in details', async () => {
    const { service, appended } = serviceOver('deployed');
    await service.auditBlocked(caller, at('api.stripe.com'), { reason: 'no request rule of this secret allows it: no rule matches the method and path', secret: stripe, cause: 'rule_denied', request: { method: 'POST', target: '/v1/charges/ch_1?key=vgph_x' } });
    await service.auditBlocked(caller, at('api.stripe.com'), { reason: 'rate limit of this secret reached', secret: stripe, cause: 'rate_limited' });
    expect(appended).toMatchObject([
      { reason: 'rule_denied', secret_id: 'sec_stripe', details: { host: 'api.stripe.com', detail: 'no request rule of this secret allows it: no rule matches the method and path', method: 'POST', path: '/v1/charges/ch_1' } },
      { reason: 'rate_limited', secret_id: 'sec_stripe', details: { host: 'api.stripe.com', detail: 'rate limit of this secret reached' } },
    ]);
  });

  it('an oauth2 secret holds its current access token; the echo scrub knows the token and the client secret', async () => {
    const { service } = serviceOver('deployed', {}, [oauth]);
    const access = await service.prepare(caller, at('api.stripe.com'), true, line);
    expect(access.held.get(oauthPlaceholder)?.value?.toString()).toBe('at_current');
    expect(access.echo).not.toBeNull();
  });

  it('a token endpoint that fails leaves the placeholder unavailable, saying why, and the request is still prepared', async () => {
    const { service } = serviceOver('deployed', {}, [oauth, github], new VaultError('upstream_failed', 'the token endpoint answered 400 (invalid_grant)'));
    const access = await service.prepare(caller, at('api.stripe.com'), true, line);
    expect(access.held.get(oauthPlaceholder)).toMatchObject({ value: null, unavailable: 'the OAuth token endpoint failed: the token endpoint answered 400 (invalid_grant)' });
    expect(access.held.size).toBe(2);
  });
});
