// The operator-API set-up the proxy scenarios share: a vault with one secret allowed for a host, a
// deployed agent holding it with a token, and what the agent's environment gives its client.
import { randomBytes } from 'node:crypto';
import { apiClient } from './servers.mjs';

/** The JSON of `res` (an apiClient answer, or a promise of one) when its status is `status` (or one of them); else throws naming `what`. */
export async function must(res, status, what) {
  const r = await res;
  if (![status].flat().includes(r.status)) throw new Error(`${what} -> ${r.status} ${r.text?.slice(0, 300)}`);
  return r.json;
}

/**
 * Through the operator API `api`: vault `name`, its secret API_KEY = `value` allowed for `host`
 * (with `secretFields` besides), agent `${name}-agent` with the vault attached, deployed, and a token.
 */
export async function createAgent(api, { name, host, value, secretFields = {} }) {
  const vault = await must(api('POST', '/vaults', { name }), 201, 'create vault');
  const secret = await must(api('POST', `/vaults/${vault.id}/secrets`, { env_key: 'API_KEY', value, allowed_domains: [host], ...secretFields }), 201, 'create secret');
  const agent = await must(api('POST', '/agents', { name: `${name}-agent` }), 201, 'create agent');
  await must(api('POST', `/agents/${agent.id}/vaults`, { vault_id: vault.id }), [200, 201], 'attach vault');
  await must(api('POST', `/agents/${agent.id}/deploy`), 200, 'deploy agent');
  const token = (await must(api('POST', `/agents/${agent.id}/tokens`), 201, 'agent token')).token;
  return { vault, secret, agent, token };
}

/** The agent's environment from the node at `nodeUrl`: its API_KEY placeholder, the proxy ({ host, port, auth }) and the proxy's CA. */
export async function agentProxy(nodeUrl, token) {
  const environment = await must(apiClient(`${nodeUrl}/api/agent/v1`, token)('GET', '/environment'), 200, 'agent environment');
  const placeholder = environment.env?.API_KEY;
  if (!/^vgph_[0-9A-Za-z]{40}$/.test(placeholder ?? '')) throw new Error(`environment has no placeholder for API_KEY: ${JSON.stringify(environment.env)}`);
  const url = new URL(environment.proxy_url);
  const proxy = { host: url.hostname, port: Number(url.port), auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` };
  return { placeholder, proxy, ca: environment.ca_certificate };
}

/** A fresh random value for `host` behind agent `name` on `vg`, as its client sees it: { value, placeholder, secretId, agentId, proxy, ca }. */
export async function proxiedAgent(vg, { name, host }) {
  const value = randomBytes(20).toString('hex');
  const { secret, agent, token } = await createAgent(vg.api, { name, host, value });
  return { value, secretId: secret.id, agentId: agent.id, ...(await agentProxy(vg.url, token)) };
}
