// SPEC §10 on the operator API: credential types, request rules and rate limits on secrets, and explain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { agentWithToken, envOf } from '../agents/helpers.js';
import { canary, createVault, err, expectJson, invalid } from './helpers.js';

let s: TestServer;
let vaultId: string;
let n = 0;
beforeAll(async () => {
  s = await startTestServer();
  vaultId = (await createVault(s, 'creds')).id;
});
afterAll(async () => {
  await s.close();
});

const post = (body: Record<string, unknown>) => s.call('POST', `/vaults/${vaultId}/secrets`, { body: { env_key: `K${++n}`, ...body } });
const patch = (id: string, body: Record<string, unknown>) => s.call('PATCH', `/secrets/${id}`, { body });

const awsValue = () => ({ access_key_id: 'AKIAIOSFODNN7EXAMPLE', secret_access_key: canary('aws'), session_token: canary('sts') });
const aws = (over: Record<string, unknown> = {}) => ({
  type: 'aws_sigv4',
  value: awsValue(),
  regions: ['us-east-1'],
  services: ['s3'],
  allowed_domains: ['*.amazonaws.com'],
  ...over,
});
const oauthValue = () => ({ token_url: 'https://auth.example.com/oauth/token', client_id: 'client-1', client_secret: canary('cs'), refresh_token: canary('rt'), scopes: ['read', 'write'] });
const oauth = (over: Record<string, unknown> = {}) => ({ type: 'oauth2', value: oauthValue(), allowed_domains: ['api.example.com', 'auth.example.com'], ...over });

describe('credential types (SPEC §10)', () => {
  it('an aws_sigv4 secret: GET shows type, regions and services, never the value; reveal gives the object back', async () => {
    const value = awsValue();
    const res = await post(aws({ value, revealable: true, rules: [{ methods: ['get', 'HEAD'] }], rate_limit: { requests: 10, per: 'second' } }));
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ type: 'aws_sigv4', regions: ['us-east-1'], services: ['s3'], rules: [{ methods: ['GET', 'HEAD'] }], rate_limit: { requests: 10, per: 'second' }, inject_in: ['header'] });
    const got = await s.call('GET', `/secrets/${res.json.id}`);
    for (const text of [res.text, got.text, (await s.call('GET', `/vaults/${vaultId}/secrets`)).text]) {
      expect(text).not.toContain(value.secret_access_key);
      expect(text).not.toContain(value.session_token);
    }
    expectJson(await s.call('POST', `/secrets/${res.json.id}/reveal`), 200, { value, version: 1 });
  });

  it('an oauth2 secret: stored canonically, its token_url must be on an allowed host', async () => {
    const value = oauthValue();
    const res = await post(oauth({ value }));
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ type: 'oauth2', rules: null, rate_limit: null });
    expect(res.json).not.toHaveProperty('regions');
    expect(res.text).not.toContain(value.client_secret);
    expectJson(await post(oauth({ allowed_domains: ['api.example.com'] })), 400, invalid('value.token_url must be on a host that allowed_domains admits'));
    expectJson(await post(oauth({ value: { ...value, token_url: 'http://auth.example.com/token' } })), 400, invalid('value.token_url must be an https URL'));
  });

  it.each([
    ['a static secret given an object', { value: { a: 1 } }, invalid('value must be a string for a static secret')],
    ['an aws_sigv4 secret given text', aws({ value: 'AKIA:secret' }), invalid('value must be a JSON object for this credential type')],
    ['no allowed host for a non-static type', aws({ allowed_domains: [] }), invalid('allowed_domains must name at least one host for an aws_sigv4 secret: it is only ever used through the proxy')],
    ['aws without regions', aws({ regions: undefined }), invalid('regions must list at least one entry for an aws_sigv4 secret')],
    ['aws with an uppercase service', aws({ services: ['S3'] }), invalid('services[0] must be a lowercase AWS name (letters, digits, -)')],
    ['aws with a bad access key id', aws({ value: { ...awsValue(), access_key_id: 'short' } }), invalid('value.access_key_id must be 16 to 128 uppercase letters or digits')],
    ['aws missing its secret key', aws({ value: { access_key_id: 'AKIAIOSFODNN7EXAMPLE' } }), invalid('value.secret_access_key is required')],
    ['aws with an unknown field', aws({ value: { ...awsValue(), region: 'x' } }), invalid('value has an unknown field: region')],
    ['aws with inject_in', aws({ inject_in: ['body'] }), invalid('inject_in does not apply to an aws_sigv4 secret: it signs requests, in the Authorization header')],
    ['regions on a static secret', { value: 'v', regions: ['us-east-1'] }, invalid('regions applies only to aws_sigv4 secrets')],
    ['an unknown type', { value: 'v', type: 'kerberos' }, null],
  ] as const)('refused: %s', async (_name, body, expected) => {
    const res = await post(body as Record<string, unknown>);
    expect(res.status).toBe(400);
    if (expected) expect(res.json).toEqual(expected);
    else expect(res.json.code).toBe('invalid_request');
  });

  it('type is immutable; a PATCH of value replaces the object whole (a new version); regions can change', async () => {
    const created = (await post(aws())).json;
    expectJson(await patch(created.id, { type: 'static' }), 400, err('type is immutable', 'immutable_field'));
    const next = { access_key_id: 'AKIAI44QH8DHBEXAMPLE', secret_access_key: canary('aws2') };
    const res = await patch(created.id, { value: next, regions: ['us-east-1', 'eu-west-1'] });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ version: 2, regions: ['us-east-1', 'eu-west-1'] });
    const versions = (await s.call('GET', `/secrets/${created.id}/versions`)).json;
    expect(versions[0].changed).toEqual(['value', 'regions']);
    expect(res.text).not.toContain(next.secret_access_key);
  });

  it('without a session token the agent gets two placeholders; with one, three; all under the env_key prefix', async () => {
    const withToken = (await post(aws({ env_key: 'PROD' }))).json;
    const { access_key_id, secret_access_key } = awsValue();
    const without = (await post(aws({ env_key: 'DEV', value: { access_key_id, secret_access_key } }))).json;
    const { token } = await agentWithToken(s, { name: `aws-${n}`, env_vars: [], vault_ids: [] });
    expect(token).toBeTruthy();
    const agent = await agentWithToken(s, { name: `aws2-${n}`, env_vars: [{ name: 'PROD', from_secret_id: withToken.id }, { name: 'DEV', from_secret_id: without.id }] });
    const env = await envOf(s, agent.token);
    expect(Object.keys(env).sort()).toEqual(['DEV_ACCESS_KEY_ID', 'DEV_SECRET_ACCESS_KEY', 'PROD_ACCESS_KEY_ID', 'PROD_SECRET_ACCESS_KEY', 'PROD_SESSION_TOKEN']);
    expect(new Set(Object.values(env)).size).toBe(5);
    for (const v of Object.values(env)) expect(v).toMatch(/^vgph_[0-9A-Za-z]{40}$/);
  });
});

describe('request rules and rate limits on a secret (SPEC §10)', () => {
  it('stored as given (methods uppercased), replaced by PATCH, removed with null', async () => {
    const created = (await post({ value: 'v', allowed_domains: ['api.stripe.com'], rules: [{ methods: ['post'], paths: ['/v1/charges/*'] }], rate_limit: { requests: 5, per: 'minute' } })).json;
    expect(created).toMatchObject({ rules: [{ methods: ['POST'], paths: ['/v1/charges/*'] }], rate_limit: { requests: 5, per: 'minute' } });
    const changed = (await patch(created.id, { rules: [{ paths: ['/**'] }], rate_limit: null })).json;
    expect(changed).toMatchObject({ version: 2, rules: [{ paths: ['/**'] }], rate_limit: null });
    expect((await patch(created.id, { rules: null })).json).toMatchObject({ version: 3, rules: null });
    const versions = (await s.call('GET', `/secrets/${created.id}/versions`)).json;
    expect(versions.map((v: { changed: string[] }) => v.changed)).toEqual([['rules'], ['rules', 'rate_limit'], ['value']]);
  });

  it.each([
    [{ rules: [] }, 'rules must list at least one rule (null removes them)'],
    [{ rules: {} }, 'rules must be a list of rules, or null for none'],
    [{ rules: [{}] }, 'rules[0] must have methods, paths or both'],
    [{ rules: [{ paths: ['/v1/ch_*'] }] }, 'rules[0].paths[0] may use * only as a whole segment (* or **)'],
    [{ rules: [{ paths: ['v1'] }] }, 'rules[0].paths[0] must start with /'],
    [{ rules: [{ paths: ['/a/../b'] }] }, 'rules[0].paths[0] may not contain . or .. segments'],
    [{ rules: [{ methods: ['GET POST'] }] }, 'rules[0].methods[0] must be an HTTP method name'],
    [{ rules: [{ methods: [] }] }, 'rules[0].methods must be a non-empty list'],
    [{ rules: [{ host: 'x' }] }, 'rules[0] has an unknown field (only methods and paths are allowed)'],
    [{ rate_limit: { requests: 0, per: 'minute' } }, 'rate_limit.requests must be an integer from 1 to 1000000'],
    [{ rate_limit: { requests: 1, per: 'day' } }, 'rate_limit.per must be one of second, minute, hour'],
    [{ rate_limit: 5 }, 'rate_limit must be an object with requests and per'],
  ])('refused: %j', async (fields, message) => {
    expectJson(await post({ value: 'v', allowed_domains: ['api.stripe.com'], ...fields }), 400, invalid(message));
  });

  it('a refused PATCH changes nothing', async () => {
    const created = (await post({ value: 'v', allowed_domains: ['api.stripe.com'], rules: [{ methods: ['GET'] }] })).json;
    expect((await patch(created.id, { rules: [], description: 'x' })).status).toBe(400);
    expectJson(await s.call('GET', `/secrets/${created.id}`), 200, created);
  });
});

describe('POST /agents/{id}/explain (SPEC §10)', () => {
  it('answers per placeholder without sending or decrypting anything', async () => {
    const stripe = (await post({ env_key: 'STRIPE_KEY', value: canary('sk'), allowed_domains: ['api.stripe.com'], rules: [{ methods: ['GET'], paths: ['/v1/charges/*'] }] })).json;
    const { agent, token } = await agentWithToken(s, { name: `explain-${n}`, env_vars: [{ name: 'STRIPE_KEY', from_secret_id: stripe.id }] });
    const placeholder = (await envOf(s, token)).STRIPE_KEY!;
    const explain = (body: Record<string, unknown>) => s.call('POST', `/agents/${agent.id}/explain`, { body });
    const auth = { Authorization: `Bearer ${placeholder}` };

    const ok = await explain({ method: 'GET', url: 'https://api.stripe.com/v1/charges/ch_1', headers: auth });
    expectJson(ok, 200, {
      destination: { host: 'api.stripe.com', port: 443 },
      agent_status: 'deployed',
      placeholders: [{ env_key: 'STRIPE_KEY', secret_id: stripe.id, surface: 'header', decision: 'inject', reason: 'allowed' }],
      available: [{ env_key: 'STRIPE_KEY', secret_id: stripe.id, surfaces: ['header'] }],
    });
    // The operator writes the agent's variable; explain puts the agent's placeholder there.
    expectJson(await explain({ method: 'GET', url: 'https://api.stripe.com/v1/charges/ch_1', headers: { Authorization: 'Bearer $STRIPE_KEY' } }), 200, ok.json);
    expect((await explain({ method: 'POST', url: 'https://api.stripe.com/v1/charges/x', body: '{"k":"${STRIPE_KEY}","o":"$OTHER"}' })).json.placeholders).toEqual([
      { env_key: 'STRIPE_KEY', secret_id: stripe.id, surface: 'body', decision: 'block', reason: 'surface: secret may not be sent in the body' },
    ]);
    const reasons = async (body: Record<string, unknown>) => (await explain(body)).json.placeholders.map((p: { decision: string; reason: string }) => `${p.decision} ${p.reason}`);
    expect(await reasons({ method: 'POST', url: 'https://api.stripe.com/v1/charges/ch_1', headers: auth })).toEqual(['block rule: no request rule of this secret allows it: no rule matches the method and path']);
    expect(await reasons({ method: 'GET', url: 'https://evil.com/v1/charges/ch_1', headers: auth })).toEqual(['block host: destination not allowed for this secret']);
    expect(await reasons({ method: 'GET', url: `https://api.stripe.com/v1/charges/ch_1?key=${placeholder}` })).toEqual(['block surface: secret may not be sent in the query']);
    expect(await reasons({ method: 'GET', url: 'http://api.stripe.com/v1/charges/ch_1', headers: auth })).toEqual(['block plain http: plain http never carries a secret value']);
    expect(await reasons({ method: 'GET', url: 'https://api.stripe.com/v1/charges/../x', headers: auth })).toEqual(['block rule: no request rule of this secret allows it: a dot segment in the request path']);
    expect(await reasons({ method: 'GET', url: 'https://api.stripe.com/', headers: { Authorization: 'Bearer vgph_0000000000000000000000000000000000000000' } })).toEqual(['block unknown placeholder: unknown placeholder']);

    await s.call('POST', `/agents/${agent.id}/stop`);
    const stopped = (await explain({ method: 'GET', url: 'https://api.stripe.com/v1/charges/ch_1', headers: auth })).json;
    expect(stopped).toMatchObject({ agent_status: 'stopped', available: [], placeholders: [{ decision: 'block', reason: 'stopped agent: agent is stopped' }] });

    // Nothing was decrypted, so nothing was audited as a use.
    const events = (await s.call('GET', '/audit?type=proxy.injected')).json;
    expect(events).toEqual([]);
  });

  it('a rate limit shows as the block it would be, without taking a slot', async () => {
    const limited = (await post({ env_key: 'LIMITED', value: 'v', allowed_domains: ['api.x.com'], rate_limit: { requests: 1, per: 'hour' } })).json;
    const { agent, token } = await agentWithToken(s, { name: `rl-${n}`, env_vars: [{ name: 'LIMITED', from_secret_id: limited.id }] });
    const placeholder = (await envOf(s, token)).LIMITED!;
    const body = { method: 'GET', url: 'https://api.x.com/', headers: { 'x-key': placeholder } };
    for (let i = 0; i < 3; i++) expect((await s.call('POST', `/agents/${agent.id}/explain`, { body })).json.placeholders[0].decision).toBe('inject');
  });

  it.each([
    [{ method: 'GET', url: 'ftp://x.com/' }, 'url must be an absolute http:// or https:// URL'],
    [{ method: 'GET', url: '/relative' }, 'url must be an absolute http:// or https:// URL'],
    [{ method: 'GE T', url: 'https://x.com/' }, 'method must be an HTTP method name'],
    [{ method: 'GET', url: 'https://x.com/', headers: { 'bad name': 'v' } }, 'headers must have valid header names'],
  ])('refuses %j', async (body, message) => {
    const { agent } = await agentWithToken(s, { name: `bad-${++n}` });
    expectJson(await s.call('POST', `/agents/${agent.id}/explain`, { body }), 400, invalid(message));
  });
});
