// `secrets add|set|get|list` with SPEC §10's fields (type, rules, rate limit, AWS scope) and `vaultgate explain`; no value in any output but reveal's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaks, requireBuiltCli, type CliResult } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { cliFor, expectFailure, okJson } from './helpers.js';

let s: TestServer;
let vg: ReturnType<typeof cliFor>;
let dir: string;
/** Every CLI run but `reveal`'s, for the canary sweep at the end. */
const outputs: CliResult[] = [];
const canaries: string[] = [];
beforeAll(async () => {
  requireBuiltCli();
  s = await startTestServer();
  const run = cliFor(s);
  vg = async (args, input) => {
    const r = await run(args, input);
    outputs.push(r);
    return r;
  };
  dir = mkdtempSync(join(tmpdir(), 'vg-cli-credentials-'));
  await s.call('POST', '/vaults', { body: { name: 'cloud' } });
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const rand = () => Math.random().toString(36).slice(2, 12);
/** A value that must appear in no output but `reveal`'s. */
const canary = (tag: string, upper = false) => {
  const value = upper ? `${tag}${rand()}${rand()}`.toUpperCase() : `${tag}${rand()}`;
  canaries.push(value);
  return value;
};
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const reveal = async (id: string) => (await s.call('POST', `/secrets/${id}/reveal`)).json;
const awsValue = () => ({ access_key_id: canary('AKIA', true), secret_access_key: canary('aws-secret-'), session_token: canary('aws-session-') });
const oauthValue = () => ({ token_url: 'https://auth.example.com/oauth/token', client_id: 'crm-client', client_secret: canary('client-secret-'), scopes: ['read'] });

describe('secrets add --type', () => {
  it('creates a static, an aws_sigv4 and an oauth2 secret from stdin and from a file; --json is the API object', async () => {
    const staticValue = canary('static-');
    const fromStdin = okJson(await vg(['secrets', 'add', '--vault', 'cloud', '--env-key', 'PLAIN', '--type', 'static', '--allowed-domain', 'api.example.com', '--revealable', '--json'], staticValue));
    expect(fromStdin).toMatchObject({ type: 'static', rules: null, rate_limit: null });
    expect(await reveal(fromStdin.id)).toEqual({ value: staticValue, version: 1 });

    const aws = awsValue();
    const awsArgs = ['--allowed-domain', '*.amazonaws.com', '--region', 'eu-west-1,us-east-1', '--service', 's3', '--service', 'sqs', '--revealable', '--json'];
    const awsStdin = okJson(await vg(['secrets', 'add', '--vault', 'cloud', '--env-key', 'AWS', '--type', 'aws_sigv4', ...awsArgs], `${JSON.stringify(aws)}\n`));
    expect(awsStdin).toEqual((await s.call('GET', `/secrets/${awsStdin.id}`)).json);
    expect(awsStdin).toMatchObject({ type: 'aws_sigv4', regions: ['eu-west-1', 'us-east-1'], services: ['s3', 'sqs'], allowed_domains: ['*.amazonaws.com'] });
    expect(await reveal(awsStdin.id)).toEqual({ value: aws, version: 1 });
    const aws2 = awsValue();
    const awsFile = okJson(await vg(['secrets', 'add', '--vault', 'cloud', '--env-key', 'AWS_FILE', '--type', 'aws_sigv4', ...awsArgs, '--from-file', file('aws.json', JSON.stringify(aws2, null, 2))]));
    expect(await reveal(awsFile.id)).toEqual({ value: aws2, version: 1 });

    const oauth = oauthValue();
    const oauthArgs = ['--type', 'oauth2', '--allowed-domain', 'api.example.com', '--allowed-domain', 'auth.example.com', '--revealable', '--json'];
    const oauthStdin = okJson(await vg(['secrets', 'add', '--vault', 'cloud', '--env-key', 'CRM_TOKEN', ...oauthArgs], JSON.stringify(oauth)));
    expect(oauthStdin).toMatchObject({ type: 'oauth2', allowed_domains: ['api.example.com', 'auth.example.com'] });
    expect(oauthStdin).not.toHaveProperty('regions');
    expect(await reveal(oauthStdin.id)).toEqual({ value: oauth, version: 1 });
    const oauth2 = { ...oauthValue(), refresh_token: canary('refresh-') };
    const oauthFile = okJson(await vg(['secrets', 'add', '--vault', 'cloud', '--env-key', 'CRM_FILE', ...oauthArgs, '--from-file', file('oauth.json', `${JSON.stringify(oauth2)}\n`)]));
    expect(await reveal(oauthFile.id)).toEqual({ value: oauth2, version: 1 });

    const human = await vg(['secrets', 'get', awsStdin.id]);
    expect(human.stdout).toContain('type:             aws_sigv4\n');
    expect(human.stdout).toContain('regions:          eu-west-1,us-east-1\n');
    expect(human.stdout).toContain('services:         s3,sqs\n');
    expect(human.stdout).toContain('rules:            (none: any request)\n');
  });

  it('refuses a typed value that is not a JSON object (exit 2) without quoting it; nothing is created', async () => {
    const notJson = canary('not-json-');
    const add = (envKey: string, type: string, input: string) => vg(['secrets', 'add', '--vault', 'cloud', '--env-key', envKey, '--type', type, '--allowed-domain', 'auth.example.com'], input);
    const [bad, truncated, array, badType] = await Promise.all([
      add('BAD', 'oauth2', notJson),
      add('BAD', 'aws_sigv4', `{"access_key_id": "${notJson}"`),
      add('BAD', 'oauth2', `["${notJson}"]`),
      add('BAD', 'kerberos', notJson),
    ]);
    const shape = '{"token_url": …, "client_id": …, "client_secret": …, "refresh_token": …, "scopes": […]} (secret and refresh token optional)';
    expectFailure(bad, 2, `vaultgate: the value of a oauth2 secret must be a JSON object ${shape}; what was read is not valid JSON\n`);
    expectFailure(truncated, 2, 'vaultgate: the value of a aws_sigv4 secret must be a JSON object {"access_key_id": …, "secret_access_key": …, "session_token": …(optional)}; what was read is not valid JSON\n');
    expectFailure(array, 2, `vaultgate: the value of a oauth2 secret must be a JSON object ${shape}; what was read is JSON but not an object\n`);
    expectFailure(badType, 2, 'vaultgate: --type must be one of static, aws_sigv4, oauth2\n');
    // The API's own check of the fields names the field, not the value.
    expectFailure(await add('BAD', 'aws_sigv4', JSON.stringify({ access_key_id: 'lowercase-not-ok', secret_access_key: notJson })), 5, /^vaultgate: value\.access_key_id /);
    expect((await s.call('GET', `/vaults/${(await s.call('GET', '/vaults')).json[0].id}/secrets`)).json.map((x: any) => x.env_key)).not.toContain('BAD');
  });
});

describe('rules and rate limits', () => {
  it('round-trip through add, get --json and set; list shows them; bad spellings exit 2', async () => {
    const created = okJson(
      await vg(
        ['secrets', 'add', '--vault', 'cloud', '--env-key', 'STRIPE_KEY', '--allowed-domain', 'api.stripe.com', '--rule', 'GET,HEAD /v1/charges/*,/v1/customers/**', '--rule', 'post /v1/refunds', '--rule', '/v1/ping', '--rate-limit', '100/minute', '--json'],
        canary('sk_live_'),
      ),
    );
    const rules = [{ methods: ['GET', 'HEAD'], paths: ['/v1/charges/*', '/v1/customers/**'] }, { methods: ['POST'], paths: ['/v1/refunds'] }, { paths: ['/v1/ping'] }];
    expect(created).toMatchObject({ rules, rate_limit: { requests: 100, per: 'minute' } });
    const got = okJson(await vg(['secrets', 'get', created.id, '--json']));
    expect(got).toEqual(created);
    expect(got).toEqual((await s.call('GET', `/secrets/${created.id}`)).json);

    const human = await vg(['secrets', 'get', created.id]);
    expect(human.stdout).toContain('rules:            GET,HEAD /v1/charges/*,/v1/customers/**; POST /v1/refunds; any method /v1/ping\n');
    expect(human.stdout).toContain('rate_limit:       100/minute\n');
    const table = await vg(['secrets', 'list', '--vault', 'cloud']);
    expect(table.stdout).toMatch(/^ID\s+ENV_KEY\s+TYPE\s+VAULT\s+VERSION\s+ALLOWED_DOMAINS\s+RULES\s+RATE_LIMIT\s+UPDATED\n/);
    expect(table.stdout).toMatch(new RegExp(`${created.id}  STRIPE_KEY +static +cloud +1 +api\\.stripe\\.com +3 +100/minute +just now\\n`));

    const changed = okJson(await vg(['secrets', 'set', created.id, '--rule', 'GET', '--rate-limit', '5/second', '--metadata-only', '--json']));
    expect(changed).toMatchObject({ rules: [{ methods: ['GET'] }], rate_limit: { requests: 5, per: 'second' }, version: 2 });
    const cleared = okJson(await vg(['secrets', 'set', created.id, '--clear-rules', '--clear-rate-limit', '--metadata-only', '--json']));
    expect(cleared).toMatchObject({ rules: null, rate_limit: null });
    expect(okJson(await vg(['secrets', 'get', created.id, '--json']))).toEqual(cleared);

    const set = (...args: string[]) => vg(['secrets', 'set', created.id, '--metadata-only', ...args]);
    expectFailure(await set('--rule', 'GET', '--clear-rules'), 2, 'vaultgate: give --rule or --clear-rules, not both\n');
    expectFailure(await set('--rate-limit', '1/hour', '--clear-rate-limit'), 2, 'vaultgate: give --rate-limit or --clear-rate-limit, not both\n');
    expectFailure(await set('--rate-limit', '100/day'), 2, 'vaultgate: --rate-limit must look like N/second, N/minute or N/hour, e.g. 100/minute\n');
    expectFailure(await set('--rate-limit', '0/minute'), 2, 'vaultgate: --rate-limit must look like N/second, N/minute or N/hour, e.g. 100/minute\n');
    expectFailure(await set('--rule', 'GET POST'), 2, "vaultgate: --rule must look like 'METHODS PATHS', e.g. 'GET,HEAD /v1/charges/*,/v1/customers/**' (either part may be left out)\n");
    expectFailure(await set('--rule', ' '), 2, /^vaultgate: --rule must look like/);
    // The API checks the patterns themselves.
    expectFailure(await set('--rule', 'GET /v1/ch_*'), 5, /^vaultgate: rules/);
  });

  it('set changes an aws_sigv4 secret\'s regions and services, and reads a new value as JSON', async () => {
    const created = okJson(
      await vg(['secrets', 'add', '--vault', 'cloud', '--env-key', 'AWS_SET', '--type', 'aws_sigv4', '--allowed-domain', '*.amazonaws.com', '--region', 'eu-west-1', '--service', 's3', '--revealable', '--json'], JSON.stringify(awsValue())),
    );
    const scoped = okJson(await vg(['secrets', 'set', created.id, '--region', 'us-east-1', '--service', 's3,sts', '--metadata-only', '--json']));
    expect(scoped).toMatchObject({ regions: ['us-east-1'], services: ['s3', 'sts'] });
    const next = awsValue();
    okJson(await vg(['secrets', 'set', created.id, '--json'], JSON.stringify(next)));
    expect(await reveal(created.id)).toEqual({ value: next, version: 3 });
    expectFailure(await vg(['secrets', 'set', created.id], canary('plain-text-')), 2, /^vaultgate: the value of a aws_sigv4 secret must be a JSON object .*; what was read is not valid JSON\n$/);
  });
});

describe('explain', () => {
  it('says per placeholder whether the proxy injects or blocks it, and why; --json is the API answer', async () => {
    const vault = (await s.call('POST', '/vaults', { body: { name: 'explained' } })).json;
    const secret = (await s.call('POST', `/vaults/${vault.id}/secrets`, { body: { env_key: 'API_KEY', value: canary('api-'), allowed_domains: ['api.example.com'], rules: [{ methods: ['GET'], paths: ['/v1/**'] }] } })).json;
    const agent = (await s.call('POST', '/agents', { body: { name: 'explainer', vault_ids: [vault.id] } })).json;
    await s.call('POST', `/agents/${agent.id}/deploy`);
    const token = (await s.call('POST', `/agents/${agent.id}/tokens`)).json.token;
    const placeholder: string = (await s.call('GET', `${s.url}/api/agent/v1/environment`, { key: token })).json.env.API_KEY;
    expect(placeholder).toBeTruthy();
    const auth = `Authorization: Bearer ${placeholder}`;

    const allowed = await vg(['explain', '--agent', 'explainer', '-H', auth, '-H', 'Accept: application/json', 'https://api.example.com/v1/items?limit=3']);
    expect([allowed.code, allowed.stderr]).toEqual([0, '']);
    expect(allowed.stdout).toBe(
      'destination: api.example.com:443  (agent deployed)\nplaceholders:\n  API_KEY  header  INJECT  allowed\navailable here:\n  API_KEY  header\n',
    );
    const json = okJson(await vg(['explain', '--agent', agent.id, '-H', auth, 'https://api.example.com/v1/items', '--json']));
    expect(json).toEqual((await s.call('POST', `/agents/${agent.id}/explain`, { body: { method: 'GET', url: 'https://api.example.com/v1/items', headers: { Authorization: `Bearer ${placeholder}` } } })).json);
    expect(json.placeholders).toEqual([{ env_key: 'API_KEY', secret_id: secret.id, surface: 'header', decision: 'inject', reason: 'allowed' }]);

    const host = okJson(await vg(['explain', '--agent', 'explainer', '-H', auth, 'https://evil.example.net/v1/items', '--json']));
    expect(host.placeholders).toHaveLength(1);
    expect(host.placeholders[0]).toMatchObject({ env_key: 'API_KEY', decision: 'block' });
    expect(host.placeholders[0].reason).toMatch(/^host: /);
    expect(host.available).toEqual([]);
    const hostText = await vg(['explain', '--agent', 'explainer', '-H', auth, 'https://evil.example.net/v1/items']);
    expect(hostText.stdout).toBe(`destination: evil.example.net:443  (agent deployed)\nplaceholders:\n  API_KEY  header  BLOCK  ${host.placeholders[0].reason}\navailable here: none\n`);

    // -X and --data: a POST is outside the rule (GET only); the body's placeholder is a second, body-surface line.
    const rule = okJson(await vg(['explain', '--agent', 'explainer', '-X', 'POST', '-H', auth, '--data', `{"key": "${placeholder}"}`, 'https://api.example.com/v1/items', '--json']));
    expect(rule.placeholders.map((p: any) => [p.surface, p.decision, p.reason.split(':')[0]])).toEqual([
      ['header', 'block', 'rule'],
      ['body', 'block', 'surface'],
    ]);
    const ruleText = await vg(['explain', '--agent', 'explainer', '-H', auth, '--data', 'x', 'https://api.example.com/v1/items']);
    expect(ruleText.stdout).toMatch(/^ {2}API_KEY {2}header {2}BLOCK {2}rule: /m);

    const none = await vg(['explain', '--agent', 'explainer', 'http://api.example.com/']);
    expect(none.stdout).toBe('destination: api.example.com:80  (agent deployed)\nplaceholders: none in this request\navailable here: none\n');
    expectFailure(await vg(['explain', '--agent', 'explainer', '-H', 'no-colon', 'https://api.example.com/']), 2, "vaultgate: -H must look like 'Name: value'\n");
    expectFailure(await vg(['explain', '--agent', 'nobody', 'https://api.example.com/']), 4, 'vaultgate: agent not found\n');
    expectFailure(await vg(['explain', '--agent', 'explainer', 'not-a-url']), 5, 'vaultgate: url must be an absolute http:// or https:// URL\n');
  });
});

describe('the canary sweep', () => {
  it('no value written by these tests appears in any output but reveal', () => {
    expect(canaries.length).toBeGreaterThan(10);
    const found = outputs.flatMap((r, i) => canaries.flatMap((c) => leaks(`run ${i}`, r.stdout + r.stderr, c)));
    expect(found).toEqual([]);
  });
});
