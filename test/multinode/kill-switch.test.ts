// The kill switch on two nodes of one PostgreSQL database: a stop on one node is refused by the other on its next request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentWithToken, envOf, readSecret } from '../agents/helpers.js';
import { pgAvailable } from '../helpers/postgres.js';
import { header, send, type Upstream } from '../proxy/helpers.js';
import { ok, show, startTwoNodes, type Node, type TwoNodes } from './helpers.js';

const stopped = { error: 'agent is stopped', code: 'agent_stopped' };

describe.skipIf(!pgAvailable())('the kill switch on two nodes', () => {
  let w: TwoNodes;
  let up: Upstream;
  let a: Node;
  let b: Node;

  beforeAll(async () => {
    w = await startTwoNodes();
    ({ up, a, b } = w);
  }, 60_000);

  afterAll(() => w?.close());

  it('stop on A: B refuses the next environment, vault.read and proxy request; deploy on B: A serves again', async () => {
    const vault = await ok(a.call('POST', '/vaults', { body: { name: 'kill' } }), 201);
    await ok(a.call('POST', `/vaults/${vault.id}/secrets`, { body: { env_key: 'K', value: 'open-kill-value' } }), 201);
    await ok(a.call('POST', `/vaults/${vault.id}/secrets`, { body: { env_key: 'STRIPE', value: 'sk_live_KILL_PG', allowed_domains: ['api.stripe.com'] } }), 201);
    const { agent, token } = await agentWithToken(a.ts, { name: 'kill-agent', vault_ids: [vault.id] });
    const env = await envOf(b.ts, token);
    const fx = { auth: `${agent.id}:${token}`, ca: (await b.call('GET', `${b.url}/api/agent/v1/environment`, { key: token })).json.ca_certificate as string };
    const viaProxy = async (n: Node) => {
      up.reset();
      return send(n.ts, fx, { path: '/v1/charges', headers: { Authorization: `Bearer ${env.STRIPE}` } });
    };
    const served = async (n: Node) => {
      expect(await envOf(n.ts, token)).toEqual(env);
      expect((await readSecret(n.ts, token, 'K')).json).toEqual({ value: 'open-kill-value' });
      const r = await viaProxy(n);
      expect(r.status, r.text).toBe(200);
      expect(header(up.requests[0]!, 'authorization')).toBe('Bearer sk_live_KILL_PG');
    };
    const refused = async (n: Node) => {
      const e = await n.call('GET', `${n.url}/api/agent/v1/environment`, { key: token });
      expect([e.status, e.json], show(e)).toEqual([403, stopped]);
      const r = await readSecret(n.ts, token, 'K');
      expect([r.status, r.json], show(r)).toEqual([403, stopped]);
      const p = await viaProxy(n);
      expect([p.status, p.json], p.text).toEqual([403, stopped]);
      expect(up.requests).toEqual([]);
    };
    await served(b);

    await ok(a.call('POST', `/agents/${agent.id}/stop`), 200);
    await refused(b);
    await refused(a);

    await ok(b.call('POST', `/agents/${agent.id}/deploy`), 200);
    await served(a);
    await served(b);

    // Every refusal is on the one chain, seen from either node.
    const events = (await ok(b.call('GET', `/audit?actor=${agent.id}&limit=1000`), 200)) as { type: string; reason: string | null }[];
    const refusals = events.filter((e) => e.reason === 'agent_stopped' || e.reason === 'agent is stopped').map((e) => `${e.type}:${e.reason}`);
    expect(refusals).toEqual(Array.from({ length: 2 }, () => ['vault.denied:agent_stopped', 'vault.denied:agent_stopped', 'proxy.blocked:agent is stopped']).flat());
  });
});
