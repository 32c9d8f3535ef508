// Two `vaultgate serve` nodes on one PostgreSQL database share an oauth2 secret's access token: a
// burst through both proxies at once makes one call to the token endpoint (oauth2-mock-server over
// HTTPS), and a token revoked on one node's 401 is renewed once for both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentWithToken, envOf } from '../agents/helpers.js';
import { requireBuiltCli } from '../helpers/kit.js';
import { createTestDatabase, pgAvailable } from '../helpers/postgres.js';
import { makePki, send, startUpstream, type Sent, type Upstream } from '../proxy/helpers.js';
import { apiHost, bearerOf, createOAuthSecret, oauthConnectTo, oauthSecret, routeApi, startTokenEndpoint, tokenLike, type TokenEndpoint } from '../proxy/oauth2-helpers.js';
import { newDeployment, ok, startNode, stopAllNodes, type Node } from './helpers.js';

describe.skipIf(!pgAvailable())('oauth2 tokens shared by two nodes', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let up: Upstream;
  let ep: TokenEndpoint;
  let a: Node;
  let b: Node;

  beforeAll(async () => {
    requireBuiltCli();
    db = await createTestDatabase();
    const pki = await makePki();
    up = await startUpstream(pki);
    ep = await startTokenEndpoint(pki);
    routeApi(up, ep);
    const d = newDeployment(db.url, { VAULTGATE_PROXY_CONNECT_TO: oauthConnectTo(up, ep), VAULTGATE_UPSTREAM_CA_FILE: pki.caFile, VAULTGATE_PROXY_ALLOW_PRIVATE: '1' });
    [a, b] = await Promise.all([startNode('a', d), startNode('b', d)]);
  }, 60_000);

  afterAll(async () => {
    await stopAllNodes();
    await up?.close();
    await ep?.close();
    await db?.drop();
  });

  async function agentOn(tag: string, value: Record<string, unknown>) {
    const vault = await ok(a.call('POST', '/vaults', { body: { name: `oauth-${tag}` } }), 201);
    const secret = await createOAuthSecret(a.ts, vault.id, oauthSecret('CRM_TOKEN', value));
    const { agent, token } = await agentWithToken(a.ts, { name: `oauth-${tag}`, vault_ids: [vault.id] });
    const env = await envOf(b.ts, token);
    const ca = (await a.call('GET', `${a.url}/api/agent/v1/environment`, { key: token })).json.ca_certificate as string;
    return { fx: { auth: `${agent.id}:${token}`, ca }, placeholder: env.CRM_TOKEN!, secretId: secret.id as string };
  }

  const through = (node: Node, fx: { auth: string; ca: string }, placeholder: string, path: string): Promise<Sent> =>
    send(node.ts, fx, { authority: `${apiHost}:443`, path, headers: { Authorization: `Bearer ${placeholder}` } });

  it('a burst through both proxies at once makes one token call; both nodes inject the same token', async () => {
    const clientId = 'mn-burst';
    const { fx, placeholder } = await agentOn('burst', { token_url: ep.url, client_id: clientId, client_secret: tokenLike('ocs') });
    up.reset();
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => through(i % 2 === 0 ? a : b, fx, placeholder, `/api/mn/${i}`)));
    expect(burst.map((r) => r.status)).toEqual(Array(40).fill(200));
    expect(ep.callsFor(clientId)).toHaveLength(1);
    const token = ep.latestToken(clientId);
    expect(up.requests).toHaveLength(40);
    expect(new Set(up.requests.map(bearerOf))).toEqual(new Set([token]));

    // Later requests on either node reuse it.
    for (const node of [a, b, a, b]) expect((await through(node, fx, placeholder, '/api/mn/later')).status).toBe(200);
    expect(ep.callsFor(clientId)).toHaveLength(1);
  });

  it('a token renewed on one node after a 401 is taken from the shared cache by the other node, without another token call', async () => {
    const clientId = 'mn-retry';
    const { fx, placeholder } = await agentOn('retry', { token_url: ep.url, client_id: clientId, client_secret: tokenLike('ocs') });
    expect((await through(a, fx, placeholder, '/api/x')).status).toBe(200);
    expect((await through(b, fx, placeholder, '/api/x')).status).toBe(200);
    const first = ep.latestToken(clientId);
    ep.revoke(first);
    up.reset();
    // Node A meets the 401, renews and retries; node B then finds the renewed token in the shared cache.
    expect((await through(a, fx, placeholder, '/api/after')).status).toBe(200);
    const renewed = ep.latestToken(clientId);
    expect(up.requests.map(bearerOf)).toEqual([first, renewed]);
    // Node B still remembers the revoked token: its 401 drops only its own copy (the shared row holds
    // the newer token), and its retry takes the renewed token from the cache without another call.
    up.reset();
    expect((await through(b, fx, placeholder, '/api/after')).status).toBe(200);
    expect(up.requests.map(bearerOf).at(-1)).toBe(renewed);
    expect(ep.callsFor(clientId)).toHaveLength(2);
    up.reset();
    for (const node of [a, b]) expect((await through(node, fx, placeholder, '/api/again')).status).toBe(200);
    expect(up.requests.map(bearerOf)).toEqual([renewed, renewed]);
    expect(ep.callsFor(clientId)).toHaveLength(2);
  });
});
