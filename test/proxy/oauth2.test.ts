// oauth2 secrets through the real proxy (SPEC §10): oauth2-mock-server over HTTPS is the token
// endpoint, dialled under the proxy's connect-to and trust; an API upstream admits only the access
// token currently valid. First use and reuse, renewal before expiry, one token call for a burst,
// the retry after a 401 (idempotent only, once), a rotated refresh token kept as a new version,
// scrubbing on the API host and on the token host, the token_url check, and a canary sweep.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentWithToken, createVault, envOf, placeholderRe } from '../agents/helpers.js';
import { leaks, needlesFor, searchDir, sleep } from '../helpers/kit.js';
import { connect, makePki, send, startUpstream, type Recorded, type SendOpts, type Sent, type Upstream } from './helpers.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { apiHost, authHost, bearerOf, createOAuthSecret, oauthConnectTo, oauthSecret, routeApi, startTokenEndpoint, tokenLike, type TokenEndpoint } from './oauth2-helpers.js';

let s: TestServer;
let up: Upstream;
let ep: TokenEndpoint;
let dataDir: string;
/** An HTTP/2-only API on h2Host: the same token check as the recorder's /api/. */
const h2Host = 'files.stripe.com';
let h2Api: http2.Http2SecureServer;
const h2Seen: { method: string; path: string; token: string }[] = [];
/** Every response the agent received, every operator API answer: the sweep reads them all. */
const agentSaw: Buffer[] = [];
const apiSaw: string[] = [];
const clientSecrets = new Set<string>();
const initialRefreshTokens = new Set<string>();

beforeAll(async () => {
  const pki = await makePki();
  up = await startUpstream(pki);
  ep = await startTokenEndpoint(pki);
  routeApi(up, ep);
  h2Api = http2.createSecureServer({ key: pki.good.keyPem, cert: pki.good.certPem, allowHTTP1: false });
  h2Api.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    stream.resume();
    stream.on('end', () => {
      const token = /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1] ?? '';
      h2Seen.push({ method: String(headers[':method']), path: String(headers[':path']), token });
      const valid = ep.isValid(token) && headers[':path'] !== '/h2/deny';
      stream.respond({ ':status': valid ? 200 : 401, 'content-type': 'application/json' });
      stream.end(valid ? '{"ok":true}' : '{"error":"invalid_token"}');
    });
  });
  await new Promise<void>((r) => h2Api.listen(0, '127.0.0.1', r));
  const h2Port = (h2Api.address() as AddressInfo).port;
  s = await startTestServer({ env: { VAULTGATE_PROXY_CONNECT_TO: `${oauthConnectTo(up, ep)},${h2Host}:443=127.0.0.1:${h2Port}`, VAULTGATE_UPSTREAM_CA_FILE: pki.caFile, VAULTGATE_PROXY_ALLOW_PRIVATE: '1' } });
  dataDir = s.dataDir;
  const call = s.call.bind(s);
  s.call = async (method, path, o) => {
    const r = await call(method, path, o);
    if (!/\/reveal$/.test(path)) apiSaw.push(`${method} ${path} → ${r.status} ${r.text}`);
    return r;
  };
}, 60_000);

afterAll(async () => {
  await s?.close();
  await up?.close();
  await ep?.close();
  await new Promise((r) => h2Api?.close(r));
});

beforeEach(() => up.reset());

let n = 0;
interface Fx { id: string; auth: string; ca: string; env: Record<string, string>; secretIds: Record<string, string> }

/** A vault with these oauth2 secrets and a deployed agent attached to it (token, environment, proxy CA). */
async function agentWithSecrets(secrets: Record<string, unknown>[]): Promise<Fx> {
  n += 1;
  const vault = await createVault(s, `oauth-${n}`);
  const secretIds: Record<string, string> = {};
  for (const body of secrets) {
    const value = body.value as Record<string, unknown>;
    if (typeof value.client_secret === 'string') clientSecrets.add(value.client_secret);
    if (typeof value.refresh_token === 'string') initialRefreshTokens.add(value.refresh_token);
    secretIds[body.env_key as string] = (await createOAuthSecret(s, vault.id, body)).id;
  }
  const { agent, token } = await agentWithToken(s, { name: `oauth-agent-${n}`, vault_ids: [vault.id] });
  const env = await envOf(s, token);
  const ca = (await s.call('GET', `${s.url}/api/agent/v1/environment`, { key: token })).json.ca_certificate as string;
  return { id: agent.id, auth: `${agent.id}:${token}`, ca, env, secretIds };
}

/** client_credentials with a client secret, under a client id of its own. */
function clientCredentials(tag: string, extra: Record<string, unknown> = {}) {
  const clientId = `cc-${tag}-${n + 1}`;
  const secret = tokenLike('ocs');
  return { clientId, secret, body: oauthSecret('CRM_TOKEN', { token_url: ep.url, client_id: clientId, client_secret: secret, scopes: ['read', 'write'], ...extra }) };
}

/** A request of the agent's through the proxy, to the API host unless told otherwise; every answer is kept for the sweep. */
async function through(fx: Fx, o: SendOpts & { key?: string } = {}): Promise<Sent> {
  const key = o.key ?? 'CRM_TOKEN';
  const r = await send(s, fx, { authority: `${apiHost}:443`, path: '/api/items', headers: { Authorization: `Bearer ${fx.env[key]}` }, ...o });
  agentSaw.push(Buffer.from(`${r.status} ${r.statusMessage}\n${r.rawHeaders.join('\n')}\n`, 'latin1'), r.body);
  return r;
}

const requestsTo = (path: string): Recorded[] => up.requests.filter((r) => r.url === path);

describe('an oauth2 secret through the proxy', () => {
  it('first use: the upstream gets the access token the endpoint issued for the placeholder the agent sent; N requests, one token call', async () => {
    const cc = clientCredentials('first');
    const fx = await agentWithSecrets([cc.body]);
    expect(fx.env.CRM_TOKEN).toMatch(placeholderRe);
    expect(ep.callsFor(cc.clientId)).toHaveLength(0);

    for (let i = 0; i < 5; i++) {
      const r = await through(fx, { path: `/api/items/${i}` });
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({ ok: true, method: 'GET', url: `/api/items/${i}` });
    }
    const calls = ep.callsFor(cc.clientId);
    expect(calls).toHaveLength(1);
    // client_secret_basic, the grant and the scopes; the client secret is not in the form.
    expect(calls[0]).toMatchObject({ grant: 'client_credentials', clientSecret: cc.secret, form: { grant_type: 'client_credentials', scope: 'read write' } });
    const token = calls[0]!.answered.access_token as string;
    expect(up.requests).toHaveLength(5);
    for (const r of up.requests) {
      expect(r.sni).toBe(apiHost);
      expect(r.headers.authorization).toBe(`Bearer ${token}`);
    }
    // The agent's side held only the placeholder: nothing it sent names the token.
    const injected = (await s.call('GET', `/audit?type=proxy.injected&secret_id=${fx.secretIds.CRM_TOKEN}`)).json as Record<string, unknown>[];
    expect(injected).toHaveLength(5);
    expect(injected[0]).toMatchObject({ agent_id: fx.id, details: { host: apiHost, surfaces: ['header'], env_key: 'CRM_TOKEN', version: 1 } });
  });

  it('expiry: a token living 5 s is renewed before it expires; no request ever meets a 401', async () => {
    const cc = clientCredentials('expiry');
    ep.ttl.set(cc.clientId, 5);
    const fx = await agentWithSecrets([cc.body]);
    const started = Date.now();
    const seen: { at: number; token: string; status: number }[] = [];
    while (Date.now() - started < 6500) {
      up.reset();
      const r = await through(fx);
      seen.push({ at: Date.now() - started, token: bearerOf(up.requests[0]!), status: r.status });
      await sleep(400);
    }
    expect(seen.filter((x) => x.status !== 200)).toEqual([]);
    const calls = ep.callsFor(cc.clientId);
    expect(calls).toHaveLength(2);
    const [first, second] = calls.map((c) => c.answered.access_token as string);
    expect(seen[0]!.token).toBe(first);
    // Renewed ahead (20% of the lifetime): from 4.5 s on, every request carries the new token.
    expect(seen.filter((x) => x.at >= 4500).every((x) => x.token === second), JSON.stringify(seen)).toBe(true);
    expect(seen.filter((x) => x.at < 3500).every((x) => x.token === first), JSON.stringify(seen)).toBe(true);
  }, 30_000);

  it('50 concurrent requests with no token cached make one token call, and 50 more right at renewal time make one more', async () => {
    const cc = clientCredentials('burst');
    ep.ttl.set(cc.clientId, 5);
    const fx = await agentWithSecrets([cc.body]);
    const burst = () => Promise.all(Array.from({ length: 50 }, (_, i) => through(fx, { path: `/api/burst/${i}` })));
    const startedAt = Date.now();
    const first = await burst();
    expect(first.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(ep.callsFor(cc.clientId)).toHaveLength(1);
    const tokenA = ep.latestToken(cc.clientId);
    expect(new Set(up.requests.map(bearerOf))).toEqual(new Set([tokenA]));

    // 4 s after it was obtained the token is due for renewal (1 s before it expires).
    await sleep(Math.max(0, 4300 - (Date.now() - startedAt)));
    up.reset();
    const second = await burst();
    expect(second.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(ep.callsFor(cc.clientId)).toHaveLength(2);
    const tokenB = ep.latestToken(cc.clientId);
    expect(tokenB).not.toBe(tokenA);
    expect(new Set(up.requests.map(bearerOf))).toEqual(new Set([tokenB]));
  }, 60_000);

  it('a 401 for an idempotent request: a fresh token and one retry; a POST is not retried; a second 401 reaches the agent', async () => {
    const cc = clientCredentials('retry');
    const fx = await agentWithSecrets([cc.body]);
    expect((await through(fx)).status).toBe(200);
    const tokenA = ep.latestToken(cc.clientId);

    // GET with a revoked token: the agent sees the 200 of the retry.
    ep.revoke(tokenA);
    up.reset();
    const got = await through(fx, { path: '/api/items/after-revoke' });
    expect(got.status, got.text).toBe(200);
    expect(got.json).toEqual({ ok: true, method: 'GET', url: '/api/items/after-revoke' });
    expect(ep.callsFor(cc.clientId)).toHaveLength(2);
    const tokenB = ep.latestToken(cc.clientId);
    expect(requestsTo('/api/items/after-revoke').map(bearerOf)).toEqual([tokenA, tokenB]);

    // DELETE and PUT without a body are idempotent too.
    for (const method of ['DELETE', 'PUT']) {
      ep.revoke(ep.latestToken(cc.clientId));
      up.reset();
      const r = await through(fx, { method, path: `/api/items/${method}` });
      expect(r.status, `${method}: ${r.text}`).toBe(200);
      expect(up.requests.map((q) => q.method)).toEqual([method, method]);
    }
    const beforePost = ep.callsFor(cc.clientId).length;

    // POST: the 401 is the agent's, after one upstream request; no token is fetched.
    const current = ep.latestToken(cc.clientId);
    ep.revoke(current);
    up.reset();
    const posted = await through(fx, { method: 'POST', path: '/api/items', headers: { Authorization: `Bearer ${fx.env.CRM_TOKEN}`, 'Content-Type': 'application/json' }, body: '{"name":"x"}' });
    expect(posted.status).toBe(401);
    expect(posted.json).toEqual({ error: 'invalid_token' });
    expect(up.requests.map((q) => [q.method, bearerOf(q)])).toEqual([['POST', current]]);
    expect(ep.callsFor(cc.clientId)).toHaveLength(beforePost);

    // An upstream that refuses every token: one retry, then its 401 reaches the agent (no loop).
    up.reset();
    const denied = await through(fx, { path: '/api/deny' });
    expect(denied.status).toBe(401);
    expect(denied.json).toEqual({ error: 'invalid_token' });
    expect(requestsTo('/api/deny')).toHaveLength(2);
    expect(ep.callsFor(cc.clientId)).toHaveLength(beforePost + 1);
    const [t1, t2] = requestsTo('/api/deny').map(bearerOf);
    expect(t1).toBe(current);
    expect(t2).toBe(ep.latestToken(cc.clientId));
  });

  it('a rotated refresh token is stored as a new version (audited), and the next refresh sends it', async () => {
    const clientId = `rt-rotate-${n + 1}`;
    const refresh0 = tokenLike('ort0');
    const clientSecret = tokenLike('ocs');
    ep.rotating.add(clientId);
    const fx = await agentWithSecrets([oauthSecret('CRM_TOKEN', { token_url: ep.url, client_id: clientId, client_secret: clientSecret, refresh_token: refresh0 })]);
    const secretId = fx.secretIds.CRM_TOKEN!;
    expect((await s.call('GET', `/secrets/${secretId}`)).json.version).toBe(1);

    expect((await through(fx)).status).toBe(200);
    const [first] = ep.callsFor(clientId);
    expect(first).toMatchObject({ grant: 'refresh_token', clientSecret, form: { grant_type: 'refresh_token', refresh_token: refresh0 } });
    const refresh1 = first!.answered.refresh_token as string;
    const meta = (await s.call('GET', `/secrets/${secretId}`)).json;
    expect(meta).toMatchObject({ id: secretId, type: 'oauth2', version: 2 });
    expect(meta.value).toBeUndefined();
    const updated = (await s.call('GET', `/audit?type=secret.updated&secret_id=${secretId}`)).json as Record<string, any>[];
    expect(updated).toHaveLength(1);
    expect(updated[0]).toMatchObject({ type: 'secret.updated', secret_id: secretId, outcome: 'success', actor: 'system', details: { env_key: 'CRM_TOKEN', version: 2, changed: ['value'], reason: 'oauth2_refresh_token_rotated' } });

    // Reuse: no further call while the access token lives.
    expect((await through(fx)).status).toBe(200);
    expect(ep.callsFor(clientId)).toHaveLength(1);

    // The next refresh (forced by a revoked access token) sends the rotated refresh token.
    ep.revoke(ep.latestToken(clientId));
    const r = await through(fx);
    expect(r.status, r.text).toBe(200);
    const calls = ep.callsFor(clientId);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.form).toMatchObject({ grant_type: 'refresh_token', refresh_token: refresh1 });
    expect((await s.call('GET', `/secrets/${secretId}`)).json.version).toBe(3);
    expect((await s.call('GET', `/audit?type=secret.updated&secret_id=${secretId}`)).json).toHaveLength(2);
  });

  it('a refresh token the endpoint does not rotate leaves the version alone', async () => {
    const clientId = `rt-keep-${n + 1}`;
    const fx = await agentWithSecrets([oauthSecret('CRM_TOKEN', { token_url: ep.url, client_id: clientId, refresh_token: tokenLike('ort0') })]);
    expect((await through(fx)).status).toBe(200);
    const [call] = ep.callsFor(clientId);
    // A public client names itself in the form and sends no Basic credentials.
    expect(call).toMatchObject({ grant: 'refresh_token', clientSecret: null, form: { client_id: clientId } });
    expect((await s.call('GET', `/secrets/${fx.secretIds.CRM_TOKEN}`)).json.version).toBe(1);
  });
});

describe('an HTTP/2 agent', () => {
  /** One request on an HTTP/2 session through a CONNECT tunnel to h2Host. */
  async function h2Request(fx: Fx, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
    const c = await connect(s, `${h2Host}:443`, fx.auth);
    const socket = tls.connect({ socket: c.socket, ca: fx.ca, servername: h2Host, ALPNProtocols: ['h2'] });
    await new Promise<void>((r, j) => socket.once('secureConnect', r).once('error', j));
    const session = http2.connect(`https://${h2Host}`, { createConnection: () => socket });
    session.on('error', () => undefined);
    try {
      return await new Promise((resolve) => {
        const req = session.request({ ':method': method, ':path': path, authorization: `Bearer ${fx.env.CRM_TOKEN}` }, { endStream: body === undefined });
        let status = 0;
        const parts: Buffer[] = [];
        req.on('response', (h) => (status = Number(h[':status'])));
        req.on('data', (d: Buffer) => parts.push(d));
        req.on('error', () => undefined);
        req.on('close', () => resolve({ status, body: Buffer.concat(parts).toString() }));
        if (body !== undefined) req.end(body);
      });
    } finally {
      session.close();
    }
  }

  it('a GET after a 401 is retried once with a fresh token over HTTP/2 too; a POST is not; a second 401 reaches the agent', async () => {
    const cc = clientCredentials('h2');
    const fx = await agentWithSecrets([{ ...cc.body, allowed_domains: [apiHost, authHost, h2Host] }]);
    expect(await h2Request(fx, 'GET', '/h2/first')).toEqual({ status: 200, body: '{"ok":true}' });
    const first = ep.latestToken(cc.clientId);
    expect(h2Seen.at(-1)).toEqual({ method: 'GET', path: '/h2/first', token: first });

    ep.revoke(first);
    h2Seen.length = 0;
    expect(await h2Request(fx, 'GET', '/h2/again')).toEqual({ status: 200, body: '{"ok":true}' });
    const renewed = ep.latestToken(cc.clientId);
    expect(h2Seen.map((x) => x.token)).toEqual([first, renewed]);

    ep.revoke(renewed);
    h2Seen.length = 0;
    expect((await h2Request(fx, 'POST', '/h2/post', '{}')).status).toBe(401);
    expect(h2Seen.map((x) => x.token)).toEqual([renewed]);

    // A second 401 after the retry reaches the agent.
    h2Seen.length = 0;
    expect(await h2Request(fx, 'GET', '/h2/deny')).toEqual({ status: 401, body: '{"error":"invalid_token"}' });
    expect(h2Seen.map((x) => x.token)).toEqual([renewed, ep.latestToken(cc.clientId)]);
  });
});

describe('scrubbing', () => {
  it('the API echoing the access token: the agent sees its placeholder, in a header, JSON, base64 and hex', async () => {
    const cc = clientCredentials('echo');
    const fx = await agentWithSecrets([cc.body]);
    const r = await through(fx, { path: '/api/echo' });
    expect(r.status, r.text).toBe(200);
    const token = ep.latestToken(cc.clientId);
    expect(up.requests[0]!.headers.authorization).toBe(`Bearer ${token}`);
    const ph = fx.env.CRM_TOKEN!;
    expect(r.headers['x-token']).toBe(ph);
    expect(r.json.you_sent).toBe(`Bearer ${ph}`);
    expect(r.json.token).toBe(ph);
    const all = Buffer.concat([Buffer.from(r.rawHeaders.join('\n')), r.body]);
    expect([...leaks('response', all, token), ...leaks('response', all, cc.secret)]).toEqual([]);
  });

  it("the token host's own answers (asked directly by the agent) are scrubbed of access token, refresh token and client secret", async () => {
    const cc = clientCredentials('authhost');
    const rtClient = `rt-authhost-${n + 1}`;
    const refresh0 = tokenLike('ort0');
    const rtSecret = tokenLike('ocs');
    ep.rotating.add(rtClient);
    const fx = await agentWithSecrets([cc.body, oauthSecret('RT_TOKEN', { token_url: ep.url, client_id: rtClient, client_secret: rtSecret, refresh_token: refresh0 })]);
    // Both secrets in use: an access token each, the refresh token rotated once.
    expect((await through(fx)).status).toBe(200);
    expect((await through(fx, { key: 'RT_TOKEN' })).status).toBe(200);
    const ccToken = ep.latestToken(cc.clientId);
    const rtToken = ep.latestToken(rtClient);
    const refresh1 = ep.callsFor(rtClient)[0]!.answered.refresh_token as string;
    const values = { ccToken, ccSecret: cc.secret, rtToken, rtSecret, refresh0, refresh1 };
    ep.userinfo = {
      ...values,
      nested: { b64: Buffer.from(ccToken).toString('base64'), pct: encodeURIComponent(refresh1), hex: Buffer.from(rtSecret).toString('hex') },
    };

    // No placeholder in this request: the agent just asks the token host.
    up.reset();
    const r = await through(fx, { authority: `${authHost}:443`, path: '/userinfo', headers: {} });
    expect(r.status, r.text).toBe(200);
    const ph = fx.env.CRM_TOKEN!;
    const rtPh = fx.env.RT_TOKEN!;
    expect(r.json).toMatchObject({ ccToken: ph, ccSecret: ph, rtToken: rtPh, rtSecret: rtPh, refresh0: rtPh, refresh1: rtPh });
    for (const [name, v] of Object.entries(values)) expect(leaks(`userinfo ${name}`, r.body, v)).toEqual([]);
    // Asking did not make another token call.
    expect(ep.callsFor(cc.clientId)).toHaveLength(1);
    expect(ep.callsFor(rtClient)).toHaveLength(1);
  });
});

describe('scrubbing a superseded access token', () => {
  it('a token renewed ahead of its expiry is still live: an upstream echoing it later shows the agent the placeholder', async () => {
    const cc = clientCredentials('superseded');
    ep.ttl.set(cc.clientId, 5);
    const fx = await agentWithSecrets([cc.body]);
    const startedAt = Date.now();
    expect((await through(fx)).status).toBe(200);
    const old = ep.latestToken(cc.clientId);
    // Renewed 1 s before it expires; the old token is still accepted until then.
    await sleep(Math.max(0, 4300 - (Date.now() - startedAt)));
    expect((await through(fx)).status).toBe(200);
    const renewed = ep.latestToken(cc.clientId);
    expect(renewed).not.toBe(old);
    expect(ep.isValid(old)).toBe(true);
    up.routes.set('/api/sessions', (_req, res) => res.end(JSON.stringify({ sessions: [old, renewed] })));
    const r = await through(fx, { path: '/api/sessions' });
    expect(r.json).toEqual({ sessions: [fx.env.CRM_TOKEN, fx.env.CRM_TOKEN] });
    expect([...leaks('response', r.body, old), ...leaks('response', r.body, renewed)]).toEqual([]);

    // So is a token dropped after a 401 (the upstream may still hold it).
    const dropped = renewed;
    ep.revoke(dropped);
    expect((await through(fx)).status).toBe(200);
    up.routes.set('/api/dropped', (_req, res) => res.end(`dropped=${dropped}`));
    const again = await through(fx, { path: '/api/dropped' });
    expect(again.text).toBe(`dropped=${fx.env.CRM_TOKEN}`);
  }, 30_000);
});

describe('a token endpoint that refuses', () => {
  it('the agent gets 502 upstream_failed (not 500) saying why, nothing reaches the API, and no credential is in the answer or the log', async () => {
    const cc = clientCredentials('refused');
    // The endpoint repeats the client secret in its description: it must be scrubbed wherever it is kept.
    ep.refusals.set(cc.clientId, { status: 401, body: { error: 'invalid_client', error_description: `client secret ${cc.secret} is not valid` } });
    const fx = await agentWithSecrets([cc.body]);
    const logsBefore = s.logs.length;
    const r = await through(fx);
    expect(r.status, r.text).toBe(502);
    // The agent learns why (the endpoint's status and OAuth error, scrubbed), never the secret.
    expect(r.json).toEqual({
      error: 'upstream request failed: secret value unavailable: the OAuth token endpoint failed: token endpoint answered 401 (invalid_client: client secret [redacted] is not valid)',
      code: 'upstream_failed',
    });
    expect(leaks('answer', r.text, cc.secret)).toEqual([]);
    expect(up.requests).toHaveLength(0);
    expect(ep.callsFor(cc.clientId)).toHaveLength(1);
    const logged = s.logs.slice(logsBefore).join('\n');
    expect(logged).toContain('token endpoint answered 401 (invalid_client: client secret [redacted] is not valid)');
    expect(leaks('log', logged, cc.secret)).toEqual([]);
    // A request to the same host that does not carry the placeholder is not held up by the endpoint.
    const plain = await through(fx, { headers: { Authorization: 'Bearer not-a-placeholder' } });
    expect(plain.status).toBe(401);
    expect(requestsTo('/api/items')).toHaveLength(1);

    // Once the endpoint answers again, so does the proxy.
    ep.refusals.delete(cc.clientId);
    expect((await through(fx)).status).toBe(200);
  });
});

describe('the token endpoint must be a host the secret may go to', () => {
  it('creating a secret whose token_url host is not in allowed_domains is refused, naming value.token_url', async () => {
    const vault = await createVault(s, 'oauth-refused');
    const cs = tokenLike('ocs');
    clientSecrets.add(cs);
    const r = await s.call('POST', `/vaults/${vault.id}/secrets`, { body: oauthSecret('REFUSED', { token_url: ep.url, client_id: 'c', client_secret: cs }, [apiHost]) });
    expect(r.status, r.text).toBe(400);
    expect(r.json).toEqual({ error: 'value.token_url must be on a host that allowed_domains admits', code: 'invalid_request' });
    expect((await s.call('GET', `/vaults/${vault.id}/secrets`)).json).toEqual([]);

    // Nor may a PATCH take the token host away afterwards.
    const ok = await createOAuthSecret(s, vault.id, oauthSecret('KEPT', { token_url: ep.url, client_id: 'c', client_secret: cs }));
    const patched = await s.call('PATCH', `/secrets/${ok.id}`, { body: { allowed_domains: [apiHost] } });
    expect(patched.status, patched.text).toBe(400);
    expect(patched.json.error).toMatch(/value\.token_url/);
  });
});

describe('canary sweep', () => {
  it('no access token, refresh token or client secret in any agent response, the server log, the audit log, any API answer or the data dir', async () => {
    // One more request, so that the search below can be shown to find a token where it belongs.
    const cc = clientCredentials('sweep');
    expect((await through(await agentWithSecrets([cc.body]))).status).toBe(200);
    const canaries = [...ep.handedOut, ...clientSecrets, ...initialRefreshTokens];
    // Every kind took part: tokens issued, refresh tokens rotated, client secrets sent.
    expect(ep.handedOut.size).toBeGreaterThan(10);
    expect([...ep.handedOut].some((t) => t.startsWith('ort-'))).toBe(true);
    expect(clientSecrets.size).toBeGreaterThan(3);
    const needles = canaries.flatMap((c) => needlesFor(c));

    // Operator reads of every secret and the audit log.
    const vaults = (await s.call('GET', '/vaults')).json as { id: string }[];
    for (const v of vaults) {
      for (const sec of (await s.call('GET', `/vaults/${v.id}/secrets`)).json as { id: string }[]) {
        await s.call('GET', `/secrets/${sec.id}`);
        await s.call('GET', `/secrets/${sec.id}/versions`);
      }
    }
    const audit = await s.call('GET', '/audit?limit=1000');
    expect(audit.status).toBe(200);
    expect((audit.json as unknown[]).length).toBeGreaterThan(100);

    // The search finds them where they are meant to be: in what the upstream received.
    expect(leaks('upstream', Buffer.concat(up.received), ep.latestToken(cc.clientId))).toContain('upstream: raw');
    const hits = [
      ...leaksOf('agent responses', Buffer.concat(agentSaw)),
      ...leaksOf('server log', s.logs.join('\n')),
      ...leaksOf('audit log', audit.text),
      ...leaksOf('operator API answers', apiSaw.join('\n')),
      ...searchDir(dataDir, needles).map((h) => `${h.where}: ${h.encoding} of ${h.canary.slice(0, 8)}…`),
    ];
    expect(hits).toEqual([]);

    function leaksOf(where: string, hay: string | Buffer): string[] {
      return canaries.flatMap((c) => leaks(where, hay, c).map((l) => `${l} of ${c.slice(0, 8)}…`));
    }
  });
});
