// A small, realistic org for the dashboard's screenshots: vaults, secrets, an agent that used them.
import type { TestServer } from '../helpers/server.js';

async function ok(res: Promise<{ status: number; text: string; json: any }>): Promise<any> {
  const r = await res;
  if (r.status >= 300) throw new Error(`demo data: HTTP ${r.status} ${r.text}`);
  return r.json;
}

export interface DemoData {
  payments: { id: string };
  research: { id: string };
  stripe: { id: string };
  github: { id: string };
  agent: { id: string };
  /** The agent's placeholder for STRIPE_KEY, for the "Test a request" panel. */
  stripePlaceholder: string;
}

export async function seedDemo(s: TestServer): Promise<DemoData> {
  const payments = await ok(s.call('POST', '/vaults', { body: { name: 'payments', description: 'Payment provider credentials' } }));
  const research = await ok(s.call('POST', '/vaults', { body: { name: 'research', description: 'Search and model APIs' } }));
  await ok(s.call('POST', '/vaults', { body: { name: 'staging' } }));
  const stripe = await ok(
    s.call('POST', `/vaults/${payments.id}/secrets`, {
      body: {
        env_key: 'STRIPE_KEY',
        value: 'sk_demo_not_a_real_key',
        allowed_domains: ['api.stripe.com'],
        labels: { team: 'payments', env: 'prod' },
        description: 'Live Stripe key',
        rules: [{ methods: ['GET'], paths: ['/v1/charges/**', '/v1/customers/*'] }],
        rate_limit: { requests: 100, per: 'minute' },
      },
    }),
  );
  await ok(s.call('POST', `/vaults/${payments.id}/secrets`, { body: { env_key: 'WEBHOOK_SIGNING', value: 'whsec_demo', allowed_domains: ['*.example.com'], inject_in: ['header', 'body'] } }));
  await ok(s.call('POST', `/vaults/${payments.id}/secrets`, { body: { env_key: 'LOG_LEVEL_TOKEN', value: 'plain-demo' } }));
  const github = await ok(
    s.call('POST', `/vaults/${research.id}/secrets`, { body: { env_key: 'GITHUB_TOKEN', value: 'ghp_demo_value', allowed_domains: ['api.github.com'], revealable: true, labels: { team: 'infra' } } }),
  );
  await ok(s.call('POST', `/vaults/${research.id}/secrets`, { body: { env_key: 'OPENAI_API_KEY', value: 'sk-demo', allowed_domains: ['api.openai.com'] } }));
  await ok(s.call('PATCH', `/secrets/${stripe.id}`, { body: { value: 'sk_demo_rotated' } }));
  const agent = await ok(s.call('POST', '/agents', { body: { name: 'researcher', env: { MODE: 'dev', REGION: 'eu-west-1' }, vault_ids: [payments.id] } }));
  await ok(s.call('POST', '/grants', { body: { agent_id: agent.id, secret_id: github.id } }));
  await ok(s.call('POST', `/agents/${agent.id}/deploy`));
  const token = await ok(s.call('POST', `/agents/${agent.id}/tokens`));
  // The agent at work: its environment, a read it may do, and one it may not.
  const runtime = `${s.url}/api/agent/v1`;
  const environment = await ok(s.call('GET', `${runtime}/environment`, { key: token.token }));
  await s.call('GET', `${runtime}/secrets/LOG_LEVEL_TOKEN`, { key: token.token });
  await s.call('GET', `${runtime}/secrets/STRIPE_KEY`, { key: token.token });
  return { payments, research, stripe, github, agent, stripePlaceholder: environment.env.STRIPE_KEY };
}
