// Black-box tests of /healthz, /readyz, /openapi.json (and its version) and the generic 404 for unknown routes.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, repoRoot, startTestServer, type TestServer } from '../helpers/server.js';
import { err, expectJson } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
});

const operatorRoutes: [string, string][] = [
  ['/api/public/v1/vaults', 'get'],
  ['/api/public/v1/vaults', 'post'],
  ['/api/public/v1/vaults/{vault_id}', 'get'],
  ['/api/public/v1/vaults/{vault_id}', 'patch'],
  ['/api/public/v1/vaults/{vault_id}', 'delete'],
  ['/api/public/v1/vaults/{vault_id}/secrets', 'get'],
  ['/api/public/v1/vaults/{vault_id}/secrets', 'post'],
  ['/api/public/v1/vaults/{vault_id}/secrets/{secret_id}', 'get'],
  ['/api/public/v1/vaults/{vault_id}/secrets/{secret_id}', 'patch'],
  ['/api/public/v1/vaults/{vault_id}/secrets/{secret_id}', 'delete'],
  ['/api/public/v1/vaults/{vault_id}/secrets/{secret_id}/versions', 'get'],
  ['/api/public/v1/vaults/{vault_id}/secrets/{secret_id}/reveal', 'post'],
  ['/api/public/v1/secrets/{secret_id}', 'get'],
  ['/api/public/v1/secrets/{secret_id}', 'patch'],
  ['/api/public/v1/secrets/{secret_id}', 'delete'],
  ['/api/public/v1/secrets/{secret_id}/versions', 'get'],
  ['/api/public/v1/secrets/{secret_id}/reveal', 'post'],
  ['/api/public/v1/audit', 'get'],
  ['/api/public/v1/audit/verify', 'get'],
  ['/api/public/v1/audit/stream', 'get'],
];

describe('health and readiness', () => {
  it('/healthz answers 200 without auth', async () => {
    expectJson(await s.call('GET', `${s.url}/healthz`, { key: null }), 200, { status: 'ok' });
  });

  it('/readyz answers 200 when the store answers', async () => {
    expectJson(await s.call('GET', `${s.url}/readyz`, { key: null }), 200, { status: 'ready' });
  });
});

describe('/openapi.json', () => {
  it('is OpenAPI 3.1 and lists every operator route', async () => {
    const res = await s.call('GET', `${s.url}/openapi.json`, { key: null });
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe('3.1.0');
    expect(res.json.info.title).toBe('Vaultgate API');
    for (const [path, method] of operatorRoutes) {
      expect(res.json.paths[path]?.[method], `${method.toUpperCase()} ${path}`).toBeDefined();
    }
    expect(res.json.components.securitySchemes).toEqual({ apiKey: { type: 'http', scheme: 'bearer' } });
  });

  it("carries package.json's version, which `vaultgate --version` prints too", async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    const spec = (await s.call('GET', `${s.url}/openapi.json`, { key: null })).json;
    const cli = await promisify(execFile)(process.execPath, [cliPath, '--version']);
    expect([spec.info.version, cli.stdout, cli.stderr]).toEqual([version, `${version}\n`, '']);
  });

  it('documents the create-secret body with every seed and SPEC §10 field', async () => {
    const spec = (await s.call('GET', `${s.url}/openapi.json`, { key: null })).json;
    const body = spec.paths['/api/public/v1/vaults/{vault_id}/secrets'].post.requestBody.content['application/json'].schema;
    // The seed's fields and SPEC §10's, no more.
    expect(Object.keys(body.properties).sort()).toEqual(['allowed_domains', 'description', 'env_key', 'inject_in', 'labels', 'rate_limit', 'regions', 'revealable', 'rules', 'services', 'type', 'value']);
    expect(body.required).toEqual(['env_key']);
    expect(body.additionalProperties).toBe(false);
  });
});

describe('unknown routes', () => {
  it.each([
    ['GET', '/api/public/v1/nope'],
    ['GET', '/api/public/v1/vaults/x/y/z'],
    ['GET', '/nope'],
  ])('%s %s → 404 not found', async (method, path) => {
    expectJson(await s.call(method, `${s.url}${path}`), 404, err('not found', 'not_found'));
  });
});
