// Behind a load balancer the environment names the advertised proxy, with the agent's credentials.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { agentCall, agentWithToken } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ env: { VAULTGATE_PROXY_PUBLIC_URL: 'http://proxy.example.internal:8401' } });
});
afterAll(async () => {
  await s.close();
});

it('proxy_url uses VAULTGATE_PROXY_PUBLIC_URL', async () => {
  const { agent, token } = await agentWithToken(s, { name: 'lb' });
  const env = (await agentCall(s, token, '/environment')).json;
  expect(env.proxy_url).toBe(`http://${agent.id}:${token}@proxy.example.internal:8401`);
});
