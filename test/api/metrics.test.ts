// GET /metrics (SPEC §11): Prometheus text, every name `vaultgate_`, counters that move with API
// and proxy traffic, no value or credential in the body; kept request ids and trace context.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaks } from '../helpers/kit.js';
import { startTestServer } from '../helpers/server.js';
import { agentWith, header, send, sendPlain, startWorld, type AgentFx, type World } from '../proxy/helpers.js';

const V = { K: 'metrics-canary-value-Qx81zP', OWN: 'metrics-canary-own-Lw20vB' };
let w: World;
let fx: AgentFx;

beforeAll(async () => {
  w = await startWorld();
  fx = await agentWith(w.s, [
    { key: 'K', value: V.K, allowed_domains: ['api.stripe.com'] },
    { key: 'OWN', value: V.OWN, allowed_domains: ['api.stripe.com'], inject_in: ['header'] },
  ]);
});
afterAll(() => w.close());

async function scrape(url = `${w.s.url}/metrics`): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

/** The value of one sample (`name{labels}` exactly as written), or 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('GET /metrics', () => {
  it('answers Prometheus text without auth, every name prefixed vaultgate_', async () => {
    const r = await scrape();
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = r.text.split('\n').filter((l) => l !== '');
    for (const line of lines) {
      if (line.startsWith('#')) expect(line).toMatch(/^# (HELP|TYPE) vaultgate_[a-z0-9_]+ /);
      else expect(line).toMatch(/^vaultgate_[a-z0-9_]+(\{[a-z_]+="[^"\n]*"(,[a-z_]+="[^"\n]*")*\})? -?[0-9.e+-]+|NaN|[+-]Inf$/);
    }
    expect(r.text).toMatch(/^# TYPE vaultgate_process_cpu_user_seconds_total counter$/m);
    expect(r.text).toMatch(/^# TYPE vaultgate_http_requests_total counter$/m);
    expect(r.text).toMatch(/^# TYPE vaultgate_proxy_upstream_duration_seconds histogram$/m);
    expect(r.text).toMatch(/^vaultgate_proxy_open_tunnels 0$/m);
    expect(r.text).toMatch(/^vaultgate_auth_failures_total\{surface="proxy"\} \d+$/m);
  });

  it('counts API requests under their route pattern, never the raw URL', async () => {
    const vaults = await w.s.call('GET', '/vaults');
    expect(vaults.status).toBe(200);
    const missing = await w.s.call('GET', '/secrets/sec_01HZZZZZZZZZZZZZZZZZZZZZZZ');
    expect(missing.status).toBe(404);
    const text = (await scrape()).text;
    expect(sample(text, 'vaultgate_http_requests_total{method="GET",route="/api/public/v1/vaults",status="200"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'vaultgate_http_requests_total{method="GET",route="/api/public/v1/secrets/:secret_id",status="404"}')).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('sec_01HZZZZZZZZZZZZZZZZZZZZZZZ');
    expect(text).toMatch(/^vaultgate_http_request_duration_seconds_count\{method="GET",route="\/api\/public\/v1\/vaults"\} [1-9]/m);
  });

  it('counts failed authentications by surface', async () => {
    const before = (await scrape()).text;
    expect((await w.s.call('GET', '/vaults', { key: 'not-a-key' })).status).toBe(401);
    expect((await w.s.call('GET', `${w.s.url}/api/agent/v1/environment`, { key: 'not-a-token' })).status).toBe(401);
    expect((await sendPlain(w.s, `${fx.id}:wrong-token`, 'http://api.stripe.com/')).status).toBe(407);
    const after = (await scrape()).text;
    for (const surface of ['api', 'agent', 'proxy']) {
      const series = `vaultgate_auth_failures_total{surface="${surface}"}`;
      expect(sample(after, series), surface).toBe(sample(before, series) + 1);
    }
  });

  it('counts an injection by surface, a block by reason, the upstream latency and audit appends', async () => {
    const before = (await scrape()).text;
    const ok = await send(w.s, fx, { headers: { 'X-K': fx.ph.K } });
    expect(ok.status, ok.text).toBe(200);
    const refused = await send(w.s, fx, { authority: 'evil.com:443', headers: { 'X-K': fx.ph.K } });
    expect(refused.status).toBe(403);
    const after = (await scrape()).text;
    const moved = (series: string) => sample(after, series) - sample(before, series);
    expect(moved('vaultgate_proxy_injections_total{surface="header"}')).toBe(1);
    expect(moved('vaultgate_proxy_blocks_total{reason="host"}')).toBe(1);
    expect(moved('vaultgate_proxy_requests_total{outcome="injected"}')).toBe(1);
    expect(moved('vaultgate_proxy_requests_total{outcome="blocked"}')).toBe(1);
    expect(moved('vaultgate_proxy_upstream_duration_seconds_count')).toBe(1);
    expect(moved('vaultgate_proxy_certificate_cache_total{result="miss"}') + moved('vaultgate_proxy_certificate_cache_total{result="hit"}')).toBe(2);
    expect(sample(after, 'vaultgate_proxy_leaf_certificates')).toBeGreaterThanOrEqual(2);
    // proxy.injected and proxy.blocked: one append each.
    expect(moved('vaultgate_audit_append_duration_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(moved('vaultgate_audit_append_batch_size_sum')).toBeGreaterThanOrEqual(2);
  });

  it('a passing request without a placeholder counts as passed', async () => {
    const before = (await scrape()).text;
    expect((await send(w.s, fx, { headers: { 'X-Plain': 'nothing' } })).status).toBe(200);
    const after = (await scrape()).text;
    const series = 'vaultgate_proxy_requests_total{outcome="passed"}';
    expect(sample(after, series) - sample(before, series)).toBe(1);
  });

  it('never holds a value, a token or an API key', async () => {
    const text = (await scrape()).text;
    for (const secret of [V.K, V.OWN, fx.token, w.s.apiKey, fx.ph.K]) expect(leaks('/metrics', text, secret)).toEqual([]);
  });
});

describe('request ids', () => {
  it('keep a valid incoming X-Request-Id, echo it and record it in the audit event', async () => {
    const id = 'lb-7f3a.req:2024_x';
    const res = await w.s.call('POST', '/vaults', { body: { name: `req-id-${Date.now()}` }, headers: { 'x-request-id': id } });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe(id);
    const events = await w.s.call('GET', '/audit?type=vault.created');
    expect(events.status).toBe(200);
    const event = (events.json as any[]).find((e) => e.vault_id === res.json.id);
    expect(event?.request_id).toBe(id);
  });

  it.each([['x'.repeat(129)], ['has space'], ['semi;colon'], ['']])('replace an invalid one (%j) with a new id', async (id) => {
    const res = await w.s.call('GET', '/vaults', { headers: { 'x-request-id': id } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^req_[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it('log the request id and the W3C trace context', async () => {
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const span = '00f067aa0ba902b7';
    const id = `trace-test-${Date.now()}`;
    await w.s.call('GET', '/vaults', { headers: { 'x-request-id': id, traceparent: `00-${trace}-${span}-01` } });
    const lines = w.s.logs.filter((l) => l.includes(id)).map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line).toMatchObject({ request_id: id, trace_id: trace, span_id: span });
  });

  it('ignore an invalid traceparent', async () => {
    const id = `bad-trace-${Date.now()}`;
    await w.s.call('GET', '/vaults', { headers: { 'x-request-id': id, traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` } });
    const lines = w.s.logs.filter((l) => l.includes(id)).map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line.trace_id).toBeUndefined();
  });

  it('reach the upstream unchanged through the proxy, and head its refusals and audit events', async () => {
    w.up.reset();
    const id = `proxy-req-${Date.now()}`;
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const ok = await send(w.s, fx, { headers: { 'X-Request-Id': id, traceparent, 'X-K': fx.ph.K } });
    expect(ok.status).toBe(200);
    expect(header(w.up.requests[0]!, 'x-request-id')).toBe(id);
    expect(header(w.up.requests[0]!, 'traceparent')).toBe(traceparent);
    const refused = await send(w.s, fx, { authority: 'evil.com:443', headers: { 'X-Request-Id': `${id}-b`, 'X-K': fx.ph.K } });
    expect(refused.status).toBe(403);
    expect(refused.headers['x-request-id']).toBe(`${id}-b`);
    const events = (await w.s.call('GET', '/audit?type=proxy.*')).json as any[];
    expect(events.find((e) => e.type === 'proxy.injected' && e.request_id === id)).toBeDefined();
    expect(events.find((e) => e.type === 'proxy.blocked' && e.request_id === `${id}-b`)).toBeDefined();
  });
});

describe('configuration', () => {
  it('VAULTGATE_METRICS_ADDR serves /metrics on its own listener instead of the API one', async () => {
    const s = await startTestServer({ env: { VAULTGATE_METRICS_ADDR: '127.0.0.1:0' } });
    try {
      expect(s.server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const r = await scrape(`${s.server.metricsUrl}/metrics`);
      expect(r.status).toBe(200);
      expect(r.text).toMatch(/^# TYPE vaultgate_http_requests_total counter$/m);
      const other = await fetch(`${s.server.metricsUrl}/`);
      expect(other.status).toBe(404);
      expect(await other.json()).toEqual({ error: 'not found', code: 'not_found' });
      expect((await scrape(`${s.url}/metrics`)).status).toBe(404);
    } finally {
      await s.close();
    }
  });

  it('VAULTGATE_METRICS=off answers 404', async () => {
    const s = await startTestServer({ env: { VAULTGATE_METRICS: 'off' } });
    try {
      expect(s.server.metricsUrl).toBeNull();
      const res = await fetch(`${s.url}/metrics`);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'not found', code: 'not_found' });
    } finally {
      await s.close();
    }
  });
});
