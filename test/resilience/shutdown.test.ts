// Graceful shutdown: SIGTERM with an open SSE stream and requests in flight → exit 0 within 5 s.
import { Agent, request as httpRequest, type ClientRequest } from 'node:http';
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { requireBuiltCli, sleep, SseClient } from '../helpers/kit.js';
import { newAdminKey, spawnServer, tempDir, type SpawnedServer } from '../helpers/server.js';
import { apiClient, ephemeralAddrs, exitWithin } from './helpers.js';

const dirs: string[] = [];
const servers: SpawnedServer[] = [];
afterAll(() => {
  keepAlive.destroy();
  for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

// A keep-alive client without an idle timeout (like many HTTP client pools): the server must close.
const keepAlive = new Agent({ keepAlive: true });

/** Starts a POST whose body arrives in two parts; returns the request and its eventual status (or error). */
function slowPost(url: string, path: string, apiKey: string, body: string): { req: ClientRequest; result: Promise<string> } {
  const u = new URL(`${url}/api/public/v1${path}`);
  const req = httpRequest({ agent: keepAlive, host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
  const result = new Promise<string>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(`status ${res.statusCode} connection ${res.headers.connection}`));
    });
    req.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code ?? err.message}`));
  });
  req.write(body.slice(0, 10));
  return { req, result };
}

/** An open SSE stream with its first bytes received (`ended` says how it ended: 'end' when the server closed it cleanly). */
async function openSse(url: string, apiKey: string): Promise<SseClient> {
  const sse = await SseClient.open({ api: `${url}/api/public/v1`, apiKey }, '/audit/stream');
  expect(sse.status).toBe(200);
  await sse.until(() => sse.raw !== '');
  return sse;
}

async function started() {
  requireBuiltCli();
  const dataDir = tempDir('vg-shutdown-');
  dirs.push(dataDir);
  const adminKey = newAdminKey();
  const srv = await spawnServer({ ...ephemeralAddrs, VAULTGATE_DATA_DIR: dataDir, VAULTGATE_ADMIN_KEY: adminKey });
  servers.push(srv);
  const call = apiClient(srv.url, adminKey);
  const vault = await call('POST', '/vaults', { body: { name: 'shutdown' } });
  expect(vault.status).toBe(201);
  return { srv, adminKey, vaultId: vault.json.id as string, call };
}

it('SIGTERM with an open SSE stream and an in-flight request exits 0 within 5 s', async () => {
  const { srv, adminKey, vaultId } = await started();
  const sse = await openSse(srv.url, adminKey);
  expect(sse.raw).toMatch(/retry:|id: /);
  const body = JSON.stringify({ env_key: 'IN_FLIGHT', value: 'in-flight-value' });
  const post = slowPost(srv.url, `/vaults/${vaultId}/secrets`, adminKey, body);
  await sleep(100);
  const t0 = Date.now();
  srv.child.kill('SIGTERM');
  await sleep(300);
  post.req.end(body.slice(10));
  expect(await exitWithin(srv.exited, 5000)).toBe(0);
  // Well under the 3 s grace period: the drained connection closed by itself, nothing was cut.
  expect(Date.now() - t0).toBeLessThan(2500);
  // The in-flight request was answered (completed, or refused as the server closes), never cut off silently.
  expect(await post.result).toMatch(/^status (201|503) connection close$/);
  expect(await sse.ended).toBe('end');
  expect(srv.output()).toMatch(/shutting down/);
});

it('SIGTERM while a client stalls mid-body still exits within 5 s', async () => {
  const { srv, adminKey, vaultId } = await started();
  const sse = await openSse(srv.url, adminKey);
  const stalled = slowPost(srv.url, `/vaults/${vaultId}/secrets`, adminKey, JSON.stringify({ env_key: 'STALLED', value: 'never-finished' }));
  await sleep(100);
  srv.child.kill('SIGTERM');
  const code = await exitWithin(srv.exited, 5000).catch((err: Error) => err.message);
  stalled.req.destroy();
  expect(code).toBe(0);
  expect(await sse.ended).toBe('end');
  await stalled.result;
});
