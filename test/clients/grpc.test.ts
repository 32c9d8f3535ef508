// gRPC through `vaultgate run`: @grpc/grpc-js client and server over HTTP/2 with trailers; metadata
// substituted on the allowed host only, placeholders in messages blocked, echoes never delivered.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { leaks, requireBuiltCli } from '../helpers/kit.js';
import { cliPath, repoRoot, startTestServer, type TestServer } from '../helpers/server.js';
import { eventsOf } from '../agents/helpers.js';
import { agentWith, connectTo, makePki, startUpstream, type AgentFx, type Upstream } from '../proxy/helpers.js';

const HOST = 'api.x.com';
const VALUE = 'grpc-token-Vx81+/9q';

/** A JSON codec: the service needs no .proto file, and gRPC's framing and trailers are what is tested. */
const json = { serialize: (o: unknown) => Buffer.from(JSON.stringify(o)), deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown };
const method = (path: string, responseStream: boolean) => ({
  path,
  requestStream: false,
  responseStream,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
});
const service = { echo: method('/vg.Test/Echo', false), count: method('/vg.Test/Count', true) };

interface Seen { host: string; authorization: string | undefined; text: string }

let pki: Awaited<ReturnType<typeof makePki>>;
let h1: Upstream;
let server: grpc.Server;
let s: TestServer;
let fx: AgentFx;
let dir: string;
const seen: Seen[] = [];

/** The client program, run as the agent: prints one JSON line with what the call returned. */
const clientSource = `
import * as grpc from ${JSON.stringify(join(repoRoot, 'node_modules/@grpc/grpc-js/build/src/index.js'))};
const json = { serialize: (o) => Buffer.from(JSON.stringify(o)), deserialize: (b) => JSON.parse(b.toString()) };
const method = (path, responseStream) => ({ path, requestStream: false, responseStream, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize });
const Client = grpc.makeGenericClientConstructor({ echo: method('/vg.Test/Echo', false), count: method('/vg.Test/Count', true) }, 'Test');
const [host, op, text] = process.argv.slice(2);
const client = new Client(host + ':443', grpc.credentials.createSsl());
const meta = new grpc.Metadata();
meta.set('authorization', 'Bearer ' + process.env.GRPC_TOKEN);
const done = (out) => { console.log(JSON.stringify(out)); client.close(); };
if (op === 'count') {
  const got = [];
  const call = client.count({ text }, meta);
  call.on('data', (m) => got.push(m.n));
  call.on('error', (e) => done({ code: e.code, details: e.details }));
  call.on('status', (st) => st.code === 0 && done({ code: 0, got }));
} else {
  client.echo({ text: text === 'PLACEHOLDER' ? process.env.GRPC_TOKEN : text }, meta, (err, reply) => done(err ? { code: err.code, details: err.details } : { code: 0, reply }));
}
`;

beforeAll(async () => {
  requireBuiltCli();
  pki = await makePki();
  h1 = await startUpstream(pki);
  server = new grpc.Server();
  server.addService(service, {
    echo: (call: grpc.ServerUnaryCall<{ text: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const authorization = call.metadata.get('authorization')[0]?.toString();
      seen.push({ host: String(call.metadata.get(':authority')[0] ?? ''), authorization, text: call.request.text });
      if (authorization !== `Bearer ${VALUE}`) return cb({ code: grpc.status.UNAUTHENTICATED, details: 'bad token' });
      if (call.request.text === 'echo') return cb(null, { said: `your token is ${VALUE}` });
      cb(null, { said: `hello ${call.request.text}` });
    },
    count: (call: grpc.ServerWritableStream<{ text: string }, unknown>) => {
      seen.push({ host: '', authorization: call.metadata.get('authorization')[0]?.toString(), text: call.request.text });
      for (let n = 1; n <= 3; n++) call.write({ n });
      call.end();
    },
  });
  const creds = grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(pki.good.keyPem), cert_chain: Buffer.from(pki.good.certPem) }]);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
  // The gRPC server plays api.x.com (allowed) and evil.com (not); every other name is the HTTP/1.1 recorder.
  const env = {
    VAULTGATE_PROXY_CONNECT_TO: `${connectTo(h1)},${HOST}:443=127.0.0.1:${port},evil.com:443=127.0.0.1:${port}`,
    VAULTGATE_UPSTREAM_CA_FILE: pki.caFile,
    VAULTGATE_PROXY_ALLOW_PRIVATE: '1',
  };
  s = await startTestServer({ env });
  fx = await agentWith(s, [{ key: 'GRPC_TOKEN', value: VALUE, allowed_domains: [HOST] }]);
  dir = mkdtempSync(join(tmpdir(), 'vg-grpc-'));
  writeFileSync(join(dir, 'client.mjs'), clientSource);
});
afterAll(async () => {
  await s.close();
  server.forceShutdown();
  await h1.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  seen.length = 0;
});

interface Done { code: number | null; out: { code: number; reply?: { said: string }; got?: number[]; details?: string }; stdout: string; stderr: string; env: string }

/** The client as the agent, with a parent environment free of the machine's CA settings. */
function asAgent(host: string, op: string, text = 'world'): Promise<Done> {
  const env = { PATH: process.env.PATH ?? '', HOME: dir, VAULTGATE_URL: s.url, VAULTGATE_API_KEY: s.apiKey };
  const script = `printf '%s' "$GRPC_TOKEN" > ${join(dir, 'env-seen')}; exec node ${join(dir, 'client.mjs')} ${host} ${op} ${text}`;
  const child = spawn(process.execPath, [cliPath, 'run', '--agent', fx.id, '--', 'sh', '-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      let out = { code: -1 };
      try {
        out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
      } catch {
        // Left as -1: the assertion shows stdout and stderr.
      }
      resolve({ code, out, stdout, stderr, env: readFileSync(join(dir, 'env-seen'), 'utf8') });
    }),
  );
}

describe('gRPC through vaultgate run', () => {
  it('a unary call: the server reads the real token from the metadata; the agent held a placeholder', async () => {
    const r = await asAgent(HOST, 'echo');
    expect([r.code, r.out], r.stderr).toEqual([0, { code: 0, reply: { said: 'hello world' } }]);
    expect(r.env).toMatch(/^vgph_[0-9A-Za-z]{40}$/);
    expect(seen.map((x) => [x.authorization, x.text])).toEqual([[`Bearer ${VALUE}`, 'world']]);
    const injected = (await eventsOf(s, 'proxy.injected')).at(-1);
    expect([injected.details.host, injected.details.surfaces]).toEqual([HOST, ['header']]);
  });

  it('a server stream: every message and the OK status (sent in trailers) arrive', async () => {
    const r = await asAgent(HOST, 'count');
    expect(r.out, r.stderr).toEqual({ code: 0, got: [1, 2, 3] });
    expect(seen.map((x) => x.authorization)).toEqual([`Bearer ${VALUE}`]);
  });

  it('an error status (a trailers-only answer) reaches the client as the server sent it', async () => {
    const r = await asAgent(HOST, 'echo', 'x');
    expect(r.out.code).toBe(0);
    // The same call without the agent's placeholder: the server refuses it with UNAUTHENTICATED.
    const script = `GRPC_TOKEN=not-the-token node ${join(dir, 'client.mjs')} ${HOST} echo x`;
    const env = { PATH: process.env.PATH ?? '', HOME: dir, VAULTGATE_URL: s.url, VAULTGATE_API_KEY: s.apiKey };
    const child = spawn(process.execPath, [cliPath, 'run', '--agent', fx.id, '--', 'sh', '-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    await new Promise((resolve) => child.on('close', resolve));
    expect(JSON.parse(stdout.trim())).toEqual({ code: grpc.status.UNAUTHENTICATED, details: 'bad token' });
  });

  it('a placeholder inside a message is blocked and audited; the server never gets it', async () => {
    const r = await asAgent(HOST, 'echo', 'PLACEHOLDER');
    expect(r.out.code).not.toBe(0);
    expect(seen.map((x) => x.text)).not.toContain(VALUE);
    expect(seen.every((x) => !x.text.startsWith('vgph_'))).toBe(true);
    const blocked = (await eventsOf(s, 'proxy.blocked')).at(-1);
    expect([blocked.reason, blocked.details.host]).toEqual(['secret may not be sent in the body', HOST]);
  });

  it('the same client pointed at a host the secret does not allow delivers no value', async () => {
    const r = await asAgent('evil.com', 'echo');
    expect(r.out.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(seen).toEqual([]);
    const blocked = (await eventsOf(s, 'proxy.blocked')).at(-1);
    expect([blocked.reason, blocked.details.host]).toEqual(['destination not allowed for this secret', 'evil.com']);
  });

  it('a value the server echoes in a message never reaches the agent', async () => {
    const r = await asAgent(HOST, 'echo', 'echo');
    expect(seen.map((x) => x.text)).toEqual(['echo']);
    expect(leaks('agent stdout', r.stdout + r.stderr, VALUE)).toEqual([]);
    // The message is rewritten (the placeholder is longer than the value), so it no longer decodes.
    expect(r.out.code).not.toBe(0);
  });
});
