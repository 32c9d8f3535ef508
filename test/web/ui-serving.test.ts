// The dashboard's assets at `/`: strict headers on the UI, no inline script, the API untouched.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtUiDir, startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const csp =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const notFound = { error: 'not found', code: 'not_found' };

if (!existsSync(join(builtUiDir, 'index.html'))) throw new Error(`${builtUiDir} has no index.html: run npm run build first`);
const assets = readdirSync(join(builtUiDir, 'assets'));
const script = assets.find((f) => f.endsWith('.js'));
const style = assets.find((f) => f.endsWith('.css'));

function expectUiHeaders(h: Headers): void {
  expect(h.get('content-security-policy')).toBe(csp);
  expect(h.get('referrer-policy')).toBe('no-referrer');
  expect(h.get('x-frame-options')).toBe('DENY');
  expect(h.get('x-content-type-options')).toBe('nosniff');
  expect(h.get('cross-origin-opener-policy')).toBe('same-origin');
}

describe('a server with the dashboard', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ ui: true });
  });
  afterAll(async () => {
    await s.close();
  });

  it('serves index.html at / with the strict headers, never cached', async () => {
    for (const path of ['/', '/index.html']) {
      const res = await s.call('GET', `${s.url}${path}`, { key: null });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expectUiHeaders(res.headers);
      expect(res.text).toContain('<div id="root"></div>');
    }
  });

  it('index.html loads only same-origin files: no inline script, style or handler', async () => {
    const html = (await s.call('GET', `${s.url}/`, { key: null })).text;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBe(1);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/assets\/[\w.-]+\.js"/);
      expect(body).toBe('');
    }
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=|javascript:/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('serves the hashed assets with the same headers, cacheable for good', async () => {
    expect(script && style).toBeTruthy();
    const js = await s.call('GET', `${s.url}/assets/${script}`, { key: null });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expectUiHeaders(js.headers);
    expect(js.text).toBe(readFileSync(join(builtUiDir, 'assets', script!), 'utf8'));
    const css = await s.call('GET', `${s.url}/assets/${style}`, { key: null });
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expectUiHeaders(css.headers);
    // Nothing in the bundle is fetched from elsewhere.
    expect(css.text).not.toMatch(/url\((['"])?(https?:)?\/\//);
  });

  it('leaves the API and unknown paths as they were', async () => {
    const api = await s.call('GET', '/vaults');
    expect(api.status).toBe(200);
    expect(api.headers.get('content-security-policy')).toBeNull();
    expect(api.headers.get('cache-control')).toBe('no-store');
    for (const path of ['/nope', '/assets/missing.js', '/api/public/v1/nope', '/index.htm']) {
      const res = await s.call('GET', `${s.url}${path}`, { key: null });
      expect(res.status, path).toBe(404);
      expect(res.json).toEqual(notFound);
    }
    expect((await s.call('GET', `${s.url}/healthz`, { key: null })).json).toEqual({ status: 'ok' });
  });
});

describe('a server without a built dashboard', () => {
  it('answers / with the standard 404 and serves the API as usual', async () => {
    // A dashboard dir that was never built (no index.html), as when running from source.
    const unbuilt = tempDir('vg-no-ui-');
    const s = await startTestServer({ ui: unbuilt });
    try {
      const res = await s.call('GET', `${s.url}/`, { key: null });
      expect(res.status).toBe(404);
      expect(res.json).toEqual(notFound);
      expect((await s.call('GET', '/vaults')).status).toBe(200);
      expect(s.logs.join('')).toContain('no built dashboard there (npm run build makes it)');
    } finally {
      await s.close();
      rmSync(unbuilt, { recursive: true, force: true });
    }
  });
});
