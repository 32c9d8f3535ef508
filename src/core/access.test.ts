import { describe, expect, it } from 'vitest';
import { decideRead, deliveredSecrets, receivesValues, secretEnvironment, type AgentAccess, type SecretRef } from './access.js';

const s = (id: string, env_key: string, allowed_domains: string[] = [], vault_id = 'vlt_a'): SecretRef => ({ id, vault_id, env_key, allowed_domains });

const open = s('sec_open', 'OPEN');
const restricted = s('sec_restricted', 'STRIPE_KEY', ['*.stripe.com']);
const granted = s('sec_granted', 'OPENAI_API_KEY', [], 'vlt_other');
const viaEnv = s('sec_env', 'SOMETHING', [], 'vlt_other');
const shadow = s('sec_shadow', 'OPENAI_API_KEY');
const elsewhere = s('sec_elsewhere', 'UNRELATED', [], 'vlt_unattached');

const none: AgentAccess<SecretRef> = { attached: [], granted: [], envVars: [] };
const full: AgentAccess<SecretRef> = {
  attached: [open, restricted, shadow],
  granted: [granted],
  envVars: [{ name: 'DATABASE_URL', secret: viaEnv }],
};

describe('vault.read decision (SPEC §2)', () => {
  it.each([
    ['attached vault, unrestricted → allowed', full, 'OPEN', { allow: true, secret: open, via: 'attached_vault' }],
    ['explicit grant → allowed', full, 'OPENAI_API_KEY', { allow: true, secret: granted, via: 'grant' }],
    ['env_vars from_secret_id → allowed under its name', full, 'DATABASE_URL', { allow: true, secret: viaEnv, via: 'env_var' }],
    ['env_vars secret is not readable by its own env_key', full, 'SOMETHING', { allow: false, secret: null, reason: 'no_access' }],
    ['attached but domain-restricted → denied', full, 'STRIPE_KEY', { allow: false, secret: restricted, reason: 'domain_restricted' }],
    ['no access at all → denied', none, 'OPEN', { allow: false, secret: null, reason: 'no_access' }],
    ['unknown name → denied', full, 'NOPE', { allow: false, secret: null, reason: 'no_access' }],
    ['restricted via grant → still denied', { ...none, granted: [restricted] }, 'STRIPE_KEY', { allow: false, secret: restricted, reason: 'domain_restricted' }],
    ['restricted via env_vars → still denied', { ...none, envVars: [{ name: 'K', secret: restricted }] }, 'K', { allow: false, secret: restricted, reason: 'domain_restricted' }],
  ] as const)('%s', (_n, access, name, expected) => {
    expect(decideRead(access as AgentAccess<SecretRef>, name)).toEqual(expected);
  });

  it('a denial names the org secret with that env_key for the audit record', () => {
    expect(decideRead(none, 'UNRELATED', [elsewhere])).toEqual({ allow: false, secret: elsewhere, reason: 'no_access' });
  });
});

describe('agent environment', () => {
  it('holds values for unrestricted secrets and placeholders for restricted ones; explicit sources win', () => {
    expect(secretEnvironment(full).map((e) => [e.name, e.secret.id, e.via, e.form])).toEqual([
      ['DATABASE_URL', 'sec_env', 'env_var', 'value'],
      ['OPENAI_API_KEY', 'sec_granted', 'grant', 'value'],
      ['OPEN', 'sec_open', 'attached_vault', 'value'],
      ['STRIPE_KEY', 'sec_restricted', 'attached_vault', 'placeholder'],
    ]);
  });

  it('injects nothing by default (SPEC §7: secrets are named explicitly)', () => {
    expect(secretEnvironment(none)).toEqual([]);
  });

  it('the first attached vault wins a name clash between vaults', () => {
    const a = s('sec_1', 'K', [], 'vlt_1');
    const b = s('sec_2', 'K', [], 'vlt_2');
    expect(secretEnvironment({ ...none, attached: [a, b] }).map((e) => e.secret.id)).toEqual(['sec_1']);
  });

  it('plaintext env wins over a secret of the same name; other secrets are delivered as usual', () => {
    expect(deliveredSecrets(full, { OPEN: 'plain', UNUSED: 'x' }).map((e) => e.name)).toEqual(['DATABASE_URL', 'OPENAI_API_KEY', 'STRIPE_KEY']);
    expect(deliveredSecrets(full, {})).toEqual(secretEnvironment(full));
    expect(deliveredSecrets(full, Object.create({ OPEN: 'inherited' }) as Record<string, string>)).toHaveLength(4);
  });
});

describe('the kill switch (SPEC §2)', () => {
  it.each([
    ['deployed', true],
    ['stopped', false],
    ['', false],
    ['Deployed', false],
  ])('status %j receives values: %s', (status, expected) => {
    expect(receivesValues({ status })).toBe(expected);
  });
});
