// Whose placeholder is it, who is talking to the proxy (407), and plain http:// (never a value).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentWithToken, mintToken, ok } from '../agents/helpers.js';
import { agentWith, allUpstreamBytes, blocked, connect, header, readAll, send, sendPlain, tunnel, startWorld, type AgentFx, type World } from './helpers.js';

let w: World;
let a: AgentFx;
let b: AgentFx;
const VA = 'agent-a-value-Hj45';
const VB = 'agent-b-own-value-Rt66';
beforeAll(async () => {
  w = await startWorld();
  a = await agentWith(w.s, [{ key: 'K', value: VA, allowed_domains: ['api.stripe.com'], inject_in: ['header', 'query', 'body'] }]);
  // B sees A's vault too (its own placeholder for the same secret) and has one secret of its own.
  b = await agentWith(w.s, [{ key: 'OWN', value: VB, allowed_domains: ['api.stripe.com'] }], [a.vaultId]);
});
afterAll(() => w.close());
beforeEach(() => w.up.reset());

const noValue = () => {
  expect(w.up.requests).toHaveLength(0);
  for (const v of [VA, VB]) expect(allUpstreamBytes(w.up)).not.toContain(v);
};

describe("another agent's placeholder, random and stale placeholders", () => {
  it("agent B sending agent A's placeholder → 403 unknown placeholder, though B may use the same secret with its own", async () => {
    expect(b.ph.K).not.toBe(a.ph.K);
    const r = await send(w.s, b, { headers: { Authorization: `Bearer ${a.ph.K}` } });
    expect(r.status).toBe(403);
    expect(r.json).toEqual(blocked('unknown placeholder'));
    noValue();
    const own = await send(w.s, b, { headers: { Authorization: `Bearer ${b.ph.K}` } });
    expect(own.status).toBe(200);
    expect(header(w.up.requests[0]!, 'authorization')).toBe(`Bearer ${VA}`);
  });

  it("A cannot use B's placeholder of a secret A has no access to, in any surface", async () => {
    for (const o of [{ headers: { 'X-K': b.ph.OWN } }, { path: `/?k=${b.ph.OWN}` }, { method: 'POST', body: b.ph.OWN }]) {
      const r = await send(w.s, a, o);
      expect(r.status).toBe(403);
      expect(r.json).toEqual(blocked('unknown placeholder'));
    }
    noValue();
  });

  it('a random vgph_ + 40 base62 → 403 on allowed and other hosts alike', async () => {
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    for (const authority of ['api.stripe.com:443', 'evil.com:443']) {
      const fake = `vgph_${Array.from({ length: 40 }, () => alphabet[Math.floor(Math.random() * 62)]).join('')}`;
      const r = await send(w.s, a, { authority, headers: { Authorization: `Bearer ${fake}` } });
      expect(r.status).toBe(403);
      expect(r.json).toEqual(blocked('unknown placeholder'));
    }
    noValue();
  });

  it('text that only looks like a placeholder passes through unchanged (short, other case)', async () => {
    const text = `vgph_short VGPH_${'a'.repeat(40)} vgph-${'b'.repeat(40)}`;
    const r = await send(w.s, a, { authority: 'evil.com:443', headers: { 'X-T': text } });
    expect(r.status).toBe(200);
    expect(header(w.up.requests[0]!, 'x-t')).toBe(text);
  });

  it('after the vault is detached the old placeholder is unknown at once', async () => {
    const c = await agentWith(w.s, [], [a.vaultId]);
    expect((await send(w.s, c, { headers: { 'X-K': c.ph.K } })).status).toBe(200);
    await ok(w.s.call('DELETE', `/agents/${c.id}/vaults/${a.vaultId}`), 204);
    const r = await send(w.s, c, { headers: { 'X-K': c.ph.K } });
    expect(r.status).toBe(403);
    expect(r.json).toEqual(blocked('unknown placeholder'));
    expect(w.up.requests).toHaveLength(1);
  });
});

describe('proxy authentication (407)', () => {
  const is407 = (c: { status: number; head: string; body: string }) => {
    expect(c.status).toBe(407);
    expect(c.head).toMatch(/\r\nProxy-Authenticate: Basic realm="vaultgate"/i);
    expect(JSON.parse(c.body)).toEqual({ error: 'proxy authentication required', code: 'proxy_auth_required' });
  };

  it('no credentials, a wrong token, a malformed header, another agent id: CONNECT → 407', async () => {
    const [aId, aTok] = a.auth.split(':') as [string, string];
    const [bId, bTok] = b.auth.split(':') as [string, string];
    const variants: (string | null)[] = [null, `${aId}:vgat_wrong`, `${aId}:${bTok}`, `${bId}:${aTok}`, `${aId}:`, `:${aTok}`, aTok, `${aId}:${aTok}x`];
    for (const auth of variants) {
      const c = await connect(w.s, 'api.stripe.com:443', auth);
      c.socket.destroy();
      is407(c);
    }
    for (const extra of [`Proxy-Authorization: Bearer ${aTok}\r\n`, 'Proxy-Authorization: Basic !!!\r\n', `Proxy-Authorization: Digest ${Buffer.from(a.auth).toString('base64')}\r\n`]) {
      const c = await connect(w.s, 'api.stripe.com:443', null, extra);
      c.socket.destroy();
      is407(c);
    }
    expect(w.up.connections).toHaveLength(0);
  });

  it('plain http without or with bad credentials → 407, nothing forwarded', async () => {
    for (const auth of [null, `${a.id}:nope`]) {
      const r = await sendPlain(w.s, auth, 'http://api.stripe.com/x');
      expect(r.status).toBe(407);
      expect(r.headers['proxy-authenticate']).toBe('Basic realm="vaultgate"');
    }
    expect(w.up.requests).toHaveLength(0);
  });

  it('a token revoked through the API fails on the next CONNECT', async () => {
    const { agent } = await agentWithToken(w.s, { name: `revoke-${Date.now()}`, vault_ids: [a.vaultId] });
    const t = await mintToken(w.s, agent.id);
    const fx = { auth: `${agent.id}:${t.token}`, ca: a.ca };
    expect((await send(w.s, fx, {})).status).toBe(200);
    await ok(w.s.call('DELETE', `/agents/${agent.id}/tokens/${t.id}`), 204);
    const c = await connect(w.s, 'api.stripe.com:443', fx.auth);
    c.socket.destroy();
    is407(c);
  });

  it('a token revoked while its tunnel is open injects nothing more on that tunnel', async () => {
    const { agent } = await agentWithToken(w.s, { name: `revoke-open-${Date.now()}`, vault_ids: [a.vaultId] });
    const t = await mintToken(w.s, agent.id);
    const env = (await w.s.call('GET', `${w.s.url}/api/agent/v1/environment`, { key: t.token })).json.env;
    const sock = await tunnel(w.s, { auth: `${agent.id}:${t.token}`, ca: a.ca }, 'api.stripe.com:443');
    const req = `GET /x HTTP/1.1\r\nHost: api.stripe.com\r\nAuthorization: Bearer ${env.K}\r\n\r\n`;
    sock.write(req);
    expect(await readAll(sock, 300)).toMatch(/^HTTP\/1\.1 200/);
    await ok(w.s.call('DELETE', `/agents/${agent.id}/tokens/${t.id}`), 204);
    sock.write(req);
    const after = await readAll(sock, 1000);
    sock.destroy();
    expect(after).toMatch(/^HTTP\/1\.1 407 /);
    expect(w.up.requests).toHaveLength(1);
  });

  it('upstream connections are never shared between agents', async () => {
    for (let i = 0; i < 3; i++) for (const fx of [a, b]) await send(w.s, fx, { headers: { 'X-Agent': fx.id } });
    const owners = new Map<number, Set<string>>();
    for (const r of w.up.requests) owners.set(r.connection, (owners.get(r.connection) ?? new Set()).add(String(r.headers['x-agent'])));
    expect(owners.size).toBeGreaterThanOrEqual(2);
    for (const agents of owners.values()) expect(agents.size).toBe(1);
  });

  it('Proxy-Authorization is never forwarded, and the agent token never reaches the upstream', async () => {
    await sendPlain(w.s, a.auth, 'http://evil.com/p', { headers: { 'X-Plain': '1' } });
    await send(w.s, a, { authority: 'evil.com:443', headers: { 'Proxy-Authorization': 'Basic Zm9vOmJhcg==' } });
    expect(w.up.requests).toHaveLength(2);
    const token = a.auth.split(':')[1]!;
    const bytes = allUpstreamBytes(w.up) + w.up.requests.map((r) => r.rawHeaders.join('\n')).join('\n');
    expect(bytes).not.toMatch(/proxy-authorization/i);
    expect(bytes).not.toContain(token);
  });
});

describe('plain http:// never carries a value', () => {
  it('a placeholder in a header, the query or the body → 403, nothing forwarded (even to an allowed host, even on :443)', async () => {
    for (const [url, o] of [
      ['http://api.stripe.com/x', { headers: { Authorization: `Bearer ${a.ph.K}` } }],
      [`http://api.stripe.com/x?k=${a.ph.K}`, {}],
      ['http://api.stripe.com/x', { method: 'POST', body: `k=${a.ph.K}` }],
      ['http://api.stripe.com:443/x', { headers: { Authorization: `Bearer ${a.ph.K}` } }],
    ] as const) {
      const r = await sendPlain(w.s, a.auth, url, o);
      expect(r.status, url).toBe(403);
      expect(r.json).toEqual(blocked('plain http never carries a secret value'));
    }
    noValue();
  });

  it('without placeholders it is forwarded, Host from the URL, hop-by-hop headers dropped', async () => {
    const r = await sendPlain(w.s, a.auth, 'http://api.stripe.com/plain?q=1', { method: 'POST', headers: { Host: 'evil.com', Connection: 'keep-alive, X-Drop', 'X-Drop': 'gone', 'Keep-Alive': 'timeout=5', 'Proxy-Connection': 'keep-alive', TE: 'trailers', 'X-Keep': 'kept' }, body: 'hello' });
    expect(r.status, r.text).toBe(200);
    const got = w.up.requests[0]!;
    expect([got.method, got.url, got.body.toString()]).toEqual(['POST', '/plain?q=1', 'hello']);
    expect(header(got, 'host')).toBe('api.stripe.com');
    expect(header(got, 'x-keep')).toBe('kept');
    for (const h of ['x-drop', 'keep-alive', 'proxy-connection', 'te', 'proxy-authorization']) expect(header(got, h), h).toBeUndefined();
  });

  it('non-absolute or non-http targets are refused with 400', async () => {
    for (const url of ['/relative', 'https://api.stripe.com/x', 'http://user:pw@api.stripe.com/x', 'ftp://api.stripe.com/x']) {
      const r = await sendPlain(w.s, a.auth, url);
      expect(r.status, url).toBe(400);
      expect(r.json.code).toBe('proxy_bad_request');
    }
    expect(w.up.requests).toHaveLength(0);
  });
});
