import { describe, expect, it } from 'vitest';
import type { InjectSurface } from '../contract/schemas.js';
import {
  blockReason,
  decidePlaceholder,
  decideRead,
  decideSignature,
  placeholderSubject,
  deliveredSecrets,
  placeholderSecrets,
  receivesValues,
  resolvePlaceholder,
  secretEnvironment,
  type AgentAccess,
  type HeldPlaceholder,
  type InjectionRules,
  type SecretRef,
  type SigningRules,
} from './access.js';
import type { Destination } from './host-match.js';

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

describe('the placeholders an agent holds', () => {
  it('are the delivered restricted secrets: one shadowed by plain env was never handed out, so the proxy does not know it', () => {
    const twin = s('sec_twin', 'STRIPE_KEY', ['api.stripe.com'], 'vlt_b');
    const access = { ...full, granted: [...full.granted, twin] };
    // The grant wins the name STRIPE_KEY over the attached vault, so only its placeholder is held.
    expect(placeholderSecrets(access, {}).map((x) => x.secret.id)).toEqual(['sec_twin']);
    expect(placeholderSecrets(full, {}).map((x) => x.secret.id)).toEqual(['sec_restricted']);
    expect(placeholderSecrets(access, { STRIPE_KEY: 'plain' })).toEqual([]);
    expect(placeholderSecrets({ ...none, envVars: [{ name: 'K', secret: restricted }] }, {}).map((x) => x.secret.id)).toEqual(['sec_restricted']);
  });
});

const get = { method: 'GET', target: '/' } as const;

describe('decidePlaceholder: the proxy rule for one placeholder in one place', () => {
  const at = (host: string, port = 443): Destination => ({ host, port, isIp: /^[\d.]+$/.test(host) });
  const rules = (allowed_domains: string[], inject_in: InjectSurface[] = ['header']): InjectionRules => ({ allowed_domains, inject_in });
  const stripe = rules(['api.stripe.com']);
  const everywhere = rules(['*.example.com'], ['header', 'path', 'query', 'body', 'websocket']);

  it.each([
    ['allowed host, allowed surface', stripe, at('api.stripe.com'), 'header', true, { inject: true }],
    ['a placeholder the agent does not hold', null, at('api.stripe.com'), 'header', true, { inject: false, reason: blockReason.unknown, cause: 'unknown_placeholder' }],
    ['plain http, even to the allowed host', stripe, at('api.stripe.com', 80), 'header', false, { inject: false, reason: blockReason.plainHttp, cause: 'plain_http' }],
    ['another host', stripe, at('evil.com'), 'header', true, { inject: false, reason: blockReason.destination, cause: 'host' }],
    ['the allowed host on another port', stripe, at('api.stripe.com', 8443), 'header', true, { inject: false, reason: blockReason.destination, cause: 'host' }],
    ['a look-alike suffix', stripe, at('api.stripe.com.evil.com'), 'header', true, { inject: false, reason: blockReason.destination, cause: 'host' }],
    ['an address instead of the name', stripe, at('10.0.0.1'), 'header', true, { inject: false, reason: blockReason.destination, cause: 'host' }],
    ['allowed host, surface not allowed (path)', stripe, at('api.stripe.com'), 'path', true, { inject: false, reason: 'secret may not be sent in the path', cause: 'surface' }],
    ['allowed host, surface not allowed (body)', stripe, at('api.stripe.com'), 'body', true, { inject: false, reason: 'secret may not be sent in the body', cause: 'surface' }],
    ['allowed host, surface not allowed (websocket)', stripe, at('api.stripe.com'), 'websocket', true, { inject: false, reason: 'secret may not be sent in the websocket', cause: 'surface' }],
    ['wildcard subdomain, every surface: query', everywhere, at('a.b.example.com'), 'query', true, { inject: true }],
    ['wildcard subdomain, every surface: websocket', everywhere, at('api.example.com'), 'websocket', true, { inject: true }],
    ['wildcard does not cover the apex', everywhere, at('example.com'), 'header', true, { inject: false, reason: blockReason.destination, cause: 'host' }],
    ['no allowed domains at all (an unrestricted secret has no placeholder)', rules([]), at('api.stripe.com'), 'header', true, { inject: false, reason: blockReason.destination, cause: 'host' }],
    ['plain http is checked before the host', stripe, at('evil.com', 80), 'header', false, { inject: false, reason: blockReason.plainHttp, cause: 'plain_http' }],
    ['the host is checked before the surface', stripe, at('evil.com'), 'body', true, { inject: false, reason: blockReason.destination, cause: 'host' }],
  ] as const)('%s', (_name, secret, destination, surface, tls, expected) => {
    expect(decidePlaceholder(secret, { destination, surface, tls, request: get })).toEqual(expected);
  });

  it('resolvePlaceholder adds the value: held and opened → inject; held but not opened → unavailable; not held → unknown', () => {
    const value = Buffer.from('sk_live_value');
    const held = new Map<string, HeldPlaceholder<InjectionRules>>([
      ['vgph_open', { secret: stripe, part: 'value', value }],
      ['vgph_sealed', { secret: stripe, part: 'value', value: null }],
    ]);
    const use = { destination: at('api.stripe.com'), surface: 'header', tls: true, request: get } as const;
    expect(resolvePlaceholder(held, 'vgph_open', use)).toEqual({ kind: 'inject', secret: stripe, value });
    expect(resolvePlaceholder(held, 'vgph_sealed', use)).toEqual({ kind: 'block', reason: blockReason.unavailable, cause: 'unavailable', secret: stripe });
    expect(resolvePlaceholder(held, 'vgph_other', use)).toEqual({ kind: 'block', reason: blockReason.unknown, cause: 'unknown_placeholder', secret: null });
    expect(resolvePlaceholder(held, 'vgph_open', { ...use, destination: at('evil.com') })).toEqual({ kind: 'block', reason: blockReason.destination, cause: 'host', secret: stripe });
  });
});

describe('SPEC §10 in the one decision: request rules, credential types, signing scope', () => {
  const at = (host: string): Destination => ({ host, port: 443, isIp: false });
  const use = (method: string, target: string, surface: InjectSurface = 'header') => ({ destination: at('api.stripe.com'), surface, tls: true, request: { method, target } });
  const ruled: InjectionRules = {
    allowed_domains: ['api.stripe.com'],
    inject_in: ['header'],
    rules: [{ methods: ['GET'], paths: ['/v1/charges/*'] }, { methods: ['POST'], paths: ['/v1/refunds'] }],
  };
  const denied = (detail: string) => ({ inject: false, reason: blockReason.rule(detail), cause: 'rule_denied' });

  it.each([
    ['GET on a listed path', use('GET', '/v1/charges/ch_1'), { inject: true }],
    ['the method compares case-insensitively', use('get', '/v1/charges/ch_1?expand=x'), { inject: true }],
    ['POST on its own rule', use('POST', '/v1/refunds'), { inject: true }],
    ['HEAD is not implied by GET', use('HEAD', '/v1/charges/ch_1'), denied('no rule matches the method and path')],
    ['a path no rule lists', use('GET', '/v1/customers'), denied('no rule matches the method and path')],
    ['POST on the GET rule\'s path', use('POST', '/v1/charges/ch_1'), denied('no rule matches the method and path')],
    ['a dot segment is refused, not normalised', use('GET', '/v1/charges/../customers'), denied('a dot segment in the request path')],
    ['an encoded slash is refused', use('GET', '/v1/charges/a%2Fb'), denied('an encoded slash in the request path')],
  ] as const)('%s', (_n, u, expected) => {
    expect(decidePlaceholder(ruled, u)).toEqual(expected);
  });

  it('rules are checked last: the host and the surface speak first', () => {
    expect(decidePlaceholder(ruled, { ...use('DELETE', '/'), destination: at('evil.com') })).toMatchObject({ cause: 'host' });
    expect(decidePlaceholder(ruled, use('DELETE', '/', 'body'))).toMatchObject({ cause: 'surface' });
  });

  it('no rules (null or absent) admit any request', () => {
    expect(decidePlaceholder({ ...ruled, rules: null }, use('DELETE', '/anything'))).toEqual({ inject: true });
  });

  it('an aws_sigv4 piece is never substituted as a value, on any surface, even to its own host', () => {
    const aws: InjectionRules = { allowed_domains: ['api.stripe.com'], inject_in: ['header', 'body'], type: 'aws_sigv4' };
    for (const surface of ['header', 'body'] as const) expect(decidePlaceholder(aws, use('GET', '/', surface))).toEqual({ inject: false, reason: blockReason.signOnly, cause: 'credential_type' });
    expect(decidePlaceholder(stripeLike, { ...use('GET', '/'), part: 'secret_access_key' })).toMatchObject({ cause: 'credential_type' });
  });

  const signer: SigningRules = {
    allowed_domains: ['*.amazonaws.com'],
    inject_in: ['header'],
    type: 'aws_sigv4',
    rules: [{ methods: ['GET', 'HEAD'] }],
    signing: { regions: ['eu-west-1'], services: ['s3'] },
  };
  const s3 = (host: string, method = 'GET', tls = true) => ({ destination: at(host), tls, request: { method, target: '/bucket/key' } });
  it.each([
    ['allowed host, region, service and method', s3('s3.eu-west-1.amazonaws.com'), { region: 'eu-west-1', service: 's3' }, { inject: true }],
    ['a region not listed', s3('s3.us-east-1.amazonaws.com'), { region: 'us-east-1', service: 's3' }, { inject: false, reason: 'region us-east-1 is not among the regions this secret may sign for', cause: 'scope' }],
    ['a service not listed', s3('sts.eu-west-1.amazonaws.com'), { region: 'eu-west-1', service: 'sts' }, { inject: false, reason: 'service sts is not among the services this secret may sign for', cause: 'scope' }],
    ['a host not allowed', s3('evil.com'), { region: 'eu-west-1', service: 's3' }, { inject: false, reason: blockReason.destination, cause: 'host' }],
    ['plain http', s3('s3.eu-west-1.amazonaws.com', 'GET', false), { region: 'eu-west-1', service: 's3' }, { inject: false, reason: blockReason.plainHttp, cause: 'plain_http' }],
    ['a method its rules refuse', s3('s3.eu-west-1.amazonaws.com', 'PUT'), { region: 'eu-west-1', service: 's3' }, { inject: false, reason: blockReason.rule('no rule matches the method and path'), cause: 'rule_denied' }],
  ] as const)('decideSignature: %s', (_n, u, scope, expected) => {
    expect(decideSignature(signer, u, scope)).toEqual(expected);
  });

  it('an aws_sigv4 secret fills <env_key>_ACCESS_KEY_ID, _SECRET_ACCESS_KEY and, with a session token, _SESSION_TOKEN', () => {
    const aws = { ...s('sec_aws', 'AWS', ['*.amazonaws.com']), type: 'aws_sigv4' as const, signing: { session_token: false } };
    const withToken = { ...aws, id: 'sec_aws2', env_key: 'PROD', signing: { session_token: true } };
    const env = secretEnvironment({ ...none, attached: [aws, withToken] });
    expect(env.map((e) => [e.name, e.part, e.form])).toEqual([
      ['AWS_ACCESS_KEY_ID', 'access_key_id', 'placeholder'],
      ['AWS_SECRET_ACCESS_KEY', 'secret_access_key', 'placeholder'],
      ['PROD_ACCESS_KEY_ID', 'access_key_id', 'placeholder'],
      ['PROD_SECRET_ACCESS_KEY', 'secret_access_key', 'placeholder'],
      ['PROD_SESSION_TOKEN', 'session_token', 'placeholder'],
    ]);
    expect(placeholderSecrets({ ...none, attached: [aws] }, { AWS_SECRET_ACCESS_KEY: 'plain' }).map((p) => p.part)).toEqual(['access_key_id']);
    expect(placeholderSubject('sec_aws', 'access_key_id')).toBe('sec_aws/access_key_id');
    expect(placeholderSubject('sec_aws', 'value')).toBe('sec_aws');
    expect(decideRead({ ...none, attached: [aws] }, 'AWS_SECRET_ACCESS_KEY')).toMatchObject({ allow: false, reason: 'domain_restricted' });
  });
});

const stripeLike: InjectionRules = { allowed_domains: ['api.stripe.com'], inject_in: ['header'] };
