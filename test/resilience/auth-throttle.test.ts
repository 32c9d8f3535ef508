// Failed authentication is slowed (SPEC §9): 429 with Retry-After after N failures a minute from one
// address, on the API and the proxy alike, and auth.failed coalesced per address and minute.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { agentCall, agentWithToken, eventsOf } from '../agents/helpers.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const throttledBody = { error: 'too many failed authentication attempts', code: 'auth_throttled' };
const limit = 5;

/** Writes `head` to the proxy on a raw socket and returns what comes back before the server closes. */
function rawProxy(s: TestServer, head: string): Promise<string> {
  const { port } = new URL(s.server.proxyUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(head));
    let text = '';
    socket.on('data', (d) => (text += String(d)));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer from the proxy')));
  });
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const connect = (auth: string | null) => `CONNECT api.stripe.com:443 HTTP/1.1\r\nHost: api.stripe.com:443\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`;

function retryAfterOf(head: string): number {
  const match = /\r\nretry-after: (\d+)\r\n/i.exec(head);
  if (!match) throw new Error(`no Retry-After in ${JSON.stringify(head.slice(0, 200))}`);
  return Number(match[1]);
}

let s: TestServer | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

describe('the failed-authentication throttle', () => {
  it(`API: ${limit} failures from one address, then 429 with Retry-After even for a valid key`, async () => {
    s = await startTestServer({ env: { VAULTGATE_AUTH_FAILURES_PER_MINUTE: String(limit) } });
    expect((await s.call('GET', '/vaults')).status).toBe(200);
    for (let i = 0; i < limit; i++) expect((await s.call('GET', '/vaults', { key: `wrong-${i}` })).status).toBe(401);
    for (const key of ['wrong-again', s.apiKey]) {
      const res = await s.call('GET', '/vaults', { key });
      expect(res.status).toBe(429);
      expect(res.json).toEqual(throttledBody);
      const wait = Number(res.headers.get('retry-after'));
      expect(wait).toBeGreaterThanOrEqual(1);
      expect(wait).toBeLessThanOrEqual(60);
    }
    // The agent API and the compatibility API share the throttle; unauthenticated routes do not need it.
    expect((await agentCall(s, 'atk-wrong', '/environment')).status).toBe(429);
    expect((await fetch(`${s.url}/v1/vault/secrets`)).status).toBe(429);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  it(`proxy: ${limit} 407s from one address, then CONNECT and plain requests get 429 without a credential check`, async () => {
    s = await startTestServer({ env: { VAULTGATE_AUTH_FAILURES_PER_MINUTE: String(limit) } });
    const { agent, token } = await agentWithToken(s, { name: 'throttled' });
    const good = basic(agent.id, token);
    for (let i = 0; i < limit; i++) {
      const head = await rawProxy(s, connect(i % 2 === 0 ? basic(agent.id, 'wrong') : null));
      expect(head.startsWith('HTTP/1.1 407 ')).toBe(true);
    }
    const refused = await rawProxy(s, connect(good));
    expect(refused.startsWith('HTTP/1.1 429 Too Many Requests\r\n')).toBe(true);
    expect(retryAfterOf(refused)).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4))).toEqual(throttledBody);
    const plain = await rawProxy(s, `GET http://api.stripe.com/ HTTP/1.1\r\nHost: api.stripe.com\r\nProxy-Authorization: ${good}\r\n\r\n`);
    expect(plain.startsWith('HTTP/1.1 429 ')).toBe(true);
    // One address's failures on the proxy count for the API too: the throttle is per address.
    expect((await s.call('GET', '/vaults')).status).toBe(429);
  });

  it('300 attempts with a revoked token write one auth.failed event at once; the rest are counted, not lost', async () => {
    const dataDir = tempDir();
    s = await startTestServer({ dataDir });
    const { agent, token, tokenId } = await agentWithToken(s, { name: 'revoked' });
    expect((await s.call('DELETE', `/agents/${agent.id}/tokens/${tokenId}`)).status).toBe(204);
    const answers = [];
    for (let i = 0; i < 300; i++) answers.push((await agentCall(s, token, '/environment')).status);
    expect(new Set(answers)).toEqual(new Set([401]));
    const first = await eventsOf(s, 'auth.failed');
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ agent_id: agent.id, target_id: tokenId, reason: 'agent token revoked', source_ip: '127.0.0.1', details: { count: 1 } });
    // Shutdown appends what is pending; after a restart the chain holds every failure, and verifies.
    await s.close({ keepData: true });
    s = await startTestServer({ dataDir, apiKey: s.apiKey });
    const all = await eventsOf(s, 'auth.failed');
    expect(all).toHaveLength(2);
    expect(all.reduce((sum, e) => sum + e.details.count, 0)).toBe(300);
    expect((await s.call('GET', '/audit/verify')).json.ok).toBe(true);
  });
});
