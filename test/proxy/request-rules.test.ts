// Request rules (SPEC §10) through the real proxy: a secret with rules reaches the upstream only on
// the methods and paths they admit; anything else is a 403 audited as `proxy.blocked` / `rule_denied`
// and nothing is sent. Raw dot segments and encoded slashes go through curl --path-as-is, since
// fetch and URL parsers normalise them away before they could reach the proxy.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ok } from '../agents/helpers.js';
import { leaks } from '../helpers/kit.js';
import { agentWith, blocked, header, proxyAddr, send, startWorld, type AgentFx, type World } from './helpers.js';

const V = {
  CHARGES: 'sk_live_RULES_charges_0b3f9e21aa',
  OPEN: 'sk_live_RULES_open_77c1d2e3f4',
};
const charges = [{ methods: ['GET'], paths: ['/v1/charges/*'] }];

let w: World;
let fx: AgentFx;
let ph: { CHARGES: string; OPEN: string };
let scratch: string;
let caFile: string;

beforeAll(async () => {
  w = await startWorld();
  fx = await agentWith(w.s, [
    { key: 'CHARGES', value: V.CHARGES, allowed_domains: ['api.stripe.com'], rules: charges },
    { key: 'OPEN', value: V.OPEN, allowed_domains: ['api.stripe.com'] },
  ]);
  ph = { CHARGES: fx.env.CHARGES!, OPEN: fx.env.OPEN! };
  scratch = mkdtempSync(join(tmpdir(), 'vg-rules-'));
  caFile = join(scratch, 'proxy-ca.pem');
  writeFileSync(caFile, fx.ca);
});
afterAll(async () => {
  await w.close();
  rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => w.up.reset());

interface AuditEvent { agent_id: string; secret_id: string | null; reason: string; details: Record<string, unknown> }
let seen = 0;
/** The `proxy.blocked` records of this agent written since the last call. */
async function newBlocks(): Promise<AuditEvent[]> {
  const all = ((await ok(w.s.call('GET', '/audit?type=proxy.blocked&limit=1000'), 200)) as AuditEvent[]).filter((e) => e.agent_id === fx.id);
  const fresh = all.slice(seen);
  seen = all.length;
  return fresh;
}
beforeAll(async () => void (await newBlocks()));

const ruleDenied = (detail: string) => blocked(`no request rule of this secret allows it: ${detail}`);

/** The one audit record of a rule refusal: reason `rule_denied`, the secret named, the detail a sentence without the value. */
async function expectRuleDenied(detail: string): Promise<AuditEvent> {
  const events = await newBlocks();
  expect(events).toHaveLength(1);
  const e = events[0]!;
  expect([e.reason, e.secret_id, e.details.host, e.details.detail]).toEqual(['rule_denied', fx.ids.CHARGES, 'api.stripe.com', `no request rule of this secret allows it: ${detail}`]);
  expect(leaks('audit', JSON.stringify(e), V.CHARGES)).toEqual([]);
  expect(JSON.stringify(e)).not.toContain(ph.CHARGES);
  return e;
}

/** curl through the proxy with the target exactly as written (`--path-as-is`); the status and body it got. */
function curl(method: string, target: string, headers: string[]): Promise<{ status: number; body: string }> {
  const { host, port } = proxyAddr(w.s);
  const args = ['-sS', '--path-as-is', '-X', method, '-x', `http://${host}:${port}`, '--proxy-user', fx.auth, '--cacert', caFile, '-w', '\n%{http_code}', ...headers.flatMap((h) => ['-H', h]), `https://api.stripe.com${target}`];
  return new Promise((resolve, reject) => {
    execFile('curl', args, (error, stdout, stderr) => {
      if (error) return reject(new Error(`curl failed: ${stderr}`));
      const at = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) });
    });
  });
}

describe('one secret with rules [{methods: [GET], paths: [/v1/charges/*]}]', () => {
  it('GET /v1/charges/ch_1: injected, byte for byte', async () => {
    const r = await send(w.s, fx, { path: '/v1/charges/ch_1', headers: { Authorization: `Bearer ${ph.CHARGES}` } });
    expect(r.status, r.text).toBe(200);
    expect(w.up.requests).toHaveLength(1);
    const got = w.up.requests[0]!;
    expect([got.method, got.url, header(got, 'authorization')]).toEqual(['GET', '/v1/charges/ch_1', `Bearer ${V.CHARGES}`]);
    expect(await newBlocks()).toEqual([]);
  });

  it('the same through curl: the query string is ignored by the path pattern and sent as it was', async () => {
    const r = await curl('GET', '/v1/charges/ch_2?expand=customer', [`Authorization: Bearer ${ph.CHARGES}`]);
    expect(r.status, r.body).toBe(200);
    expect(w.up.requests.map((q) => [q.url, header(q, 'authorization')])).toEqual([['/v1/charges/ch_2?expand=customer', `Bearer ${V.CHARGES}`]]);
  });

  it('POST on an admitted path: 403 rule_denied, nothing reached the upstream', async () => {
    const r = await send(w.s, fx, { method: 'POST', path: '/v1/charges/ch_1', headers: { Authorization: `Bearer ${ph.CHARGES}` }, body: 'amount=1' });
    expect([r.status, r.json]).toEqual([403, ruleDenied('no rule matches the method and path')]);
    expect(w.up.requests).toHaveLength(0);
    expect(w.up.received).toHaveLength(0);
    // The record says what the rule judged: the method and the path (never the query).
    expect((await expectRuleDenied('no rule matches the method and path')).details).toMatchObject({ method: 'POST', path: '/v1/charges/ch_1' });
  });

  it('HEAD is not implied by GET', async () => {
    const r = await send(w.s, fx, { method: 'HEAD', path: '/v1/charges/ch_1', headers: { Authorization: `Bearer ${ph.CHARGES}` } });
    expect(r.status).toBe(403);
    expect(w.up.requests).toHaveLength(0);
    await expectRuleDenied('no rule matches the method and path');
  });

  it('GET on a path outside the pattern (one segment too many, none, another collection)', async () => {
    for (const path of ['/v1/charges/ch_1/refunds', '/v1/charges', '/v1/charges/', '/v1/customers/cus_1']) {
      const r = await send(w.s, fx, { path, headers: { Authorization: `Bearer ${ph.CHARGES}` } });
      expect([path, r.status, r.json]).toEqual([path, 403, ruleDenied('no rule matches the method and path')]);
      await expectRuleDenied('no rule matches the method and path');
    }
    expect(w.up.requests).toHaveLength(0);
  });

  it('curl --path-as-is /v1/charges/../customers: a raw dot segment is refused, not normalised', async () => {
    const r = await curl('GET', '/v1/charges/../customers', [`Authorization: Bearer ${ph.CHARGES}`]);
    expect([r.status, JSON.parse(r.body)]).toEqual([403, ruleDenied('a dot segment in the request path')]);
    expect(w.up.requests).toHaveLength(0);
    await expectRuleDenied('a dot segment in the request path');
  });

  it('curl --path-as-is: an encoded dot segment, an encoded slash, a doubly encoded slash', async () => {
    const cases: [string, string][] = [
      ['/v1/charges/%2e%2e', 'a dot segment in the request path'],
      ['/v1/charges/a%2Fb', 'an encoded slash in the request path'],
      ['/v1/charges/a%2fb', 'an encoded slash in the request path'],
      ['/v1/charges/a%5Cb', 'an encoded slash in the request path'],
      ['/v1/charges/a%252Fb', 'a doubly encoded request path'],
    ];
    for (const [target, detail] of cases) {
      const r = await curl('GET', target, [`Authorization: Bearer ${ph.CHARGES}`]);
      expect([target, r.status, JSON.parse(r.body)]).toEqual([target, 403, ruleDenied(detail)]);
      await expectRuleDenied(detail);
    }
    expect(w.up.requests).toHaveLength(0);
  });

  it('a request without the secret is not subject to its rules (POST, dot segments pass as a plain forward proxy would)', async () => {
    const r = await curl('POST', '/v1/charges/../customers', ['X-Plain: 1']);
    expect(r.status, r.body).toBe(200);
    expect(w.up.requests.map((q) => [q.method, q.url])).toEqual([['POST', '/v1/charges/../customers']]);
    expect(await newBlocks()).toEqual([]);
  });
});

describe('a request carrying two secrets', () => {
  it('both admitted: both injected', async () => {
    const r = await send(w.s, fx, { path: '/v1/charges/ch_9', headers: [['Authorization', `Bearer ${ph.CHARGES}`], ['X-Other', ph.OPEN]] });
    expect(r.status, r.text).toBe(200);
    const got = w.up.requests[0]!;
    expect([header(got, 'authorization'), header(got, 'x-other')]).toEqual([`Bearer ${V.CHARGES}`, V.OPEN]);
  });

  it('one refused by its rules: the whole request is refused, the other value is not sent either', async () => {
    for (const headers of [
      [['Authorization', `Bearer ${ph.CHARGES}`], ['X-Other', ph.OPEN]],
      [['X-Other', ph.OPEN], ['Authorization', `Bearer ${ph.CHARGES}`]],
    ] as [string, string][][]) {
      const r = await send(w.s, fx, { method: 'DELETE', path: '/v1/charges/ch_9', headers });
      expect([r.status, r.json]).toEqual([403, ruleDenied('no rule matches the method and path')]);
      await expectRuleDenied('no rule matches the method and path');
    }
    expect(w.up.requests).toHaveLength(0);
    expect(w.up.received).toHaveLength(0);
    const injected = ((await ok(w.s.call('GET', '/audit?type=proxy.injected&limit=1000'), 200)) as AuditEvent[]).filter((e) => e.agent_id === fx.id);
    // Only the admitted requests above put an injection on record: none for the refused ones.
    expect(injected.filter((e) => e.secret_id === fx.ids.OPEN)).toHaveLength(1);
  });
});

describe('rules changed by PATCH apply to the next request', () => {
  it('adding a rule written with a lowercase method (post) admits the POST; null removes the rules', async () => {
    const patch = (rules: unknown) => ok(w.s.call('PATCH', `/vaults/${fx.vaultId}/secrets/${fx.ids.CHARGES}`, { body: { rules } }), 200);
    await patch([...charges, { methods: ['post'], paths: ['/v1/charges/*'] }]);
    const post = await send(w.s, fx, { method: 'POST', path: '/v1/charges/ch_1', headers: { Authorization: `Bearer ${ph.CHARGES}` }, body: 'amount=1' });
    expect(post.status, post.text).toBe(200);
    expect(header(w.up.requests[0]!, 'authorization')).toBe(`Bearer ${V.CHARGES}`);
    w.up.reset();
    await patch(null);
    const any = await send(w.s, fx, { method: 'PUT', path: '/anything/else', headers: { Authorization: `Bearer ${ph.CHARGES}` } });
    expect(any.status, any.text).toBe(200);
    expect(header(w.up.requests[0]!, 'authorization')).toBe(`Bearer ${V.CHARGES}`);
    await patch(charges);
  });
});

describe('no value in what the agent or the log saw', () => {
  it('the server log and the refusals hold neither value', async () => {
    expect(leaks('server log', w.s.logs.join(''), V.CHARGES)).toEqual([]);
    expect(leaks('server log', w.s.logs.join(''), V.OPEN)).toEqual([]);
    const audit = JSON.stringify(await ok(w.s.call('GET', '/audit?limit=1000'), 200));
    expect(leaks('audit', audit, V.CHARGES)).toEqual([]);
    expect(leaks('audit', audit, V.OPEN)).toEqual([]);
  });
});
