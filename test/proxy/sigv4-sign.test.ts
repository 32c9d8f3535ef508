// resignSigV4 against another implementation: requests signed with placeholder credentials by the
// JS SDK (or by smithy directly) are signed again with the real key by a relay standing where the
// proxy will, and checked by test/fixtures/s3-verifier.py, which recomputes every signature with
// botocore. The relay answers the SDK with the verifier's own responses, so the SDK's results prove
// the round trip too; the verifier's log is what upstream received.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startS3Verifier, type S3Verifier, type VerifierRecord } from '../helpers/s3-verifier.js';
import { checkSigV4Scope, parseSigV4Authorization } from '../../src/core/sigv4.js';
import { resignSigV4, type AwsCredentials } from '../../src/proxy/sigv4-sign.js';
import { makePki, type Pki } from './helpers.js';

const base62 = (n: number) => [...randomBytes(n)].map((b) => '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'[b % 62]).join('');
const placeholder = () => `vgph_${base62(40)}`;
const agent = { accessKeyId: placeholder(), secretAccessKey: placeholder(), sessionToken: placeholder() };
const agentNoToken = { accessKeyId: agent.accessKeyId, secretAccessKey: agent.secretAccessKey };
const realWithToken: AwsCredentials = { accessKeyId: 'AKIAREALWITHTOKEN001', secretAccessKey: 'real/Secret+Key=With/Token0000000000000', sessionToken: 'FwoGZXIvYXdzEreal//session+token==' };
const realNoToken: AwsCredentials = { accessKeyId: 'AKIAREALNOTOKEN00002', secretAccessKey: 'real/Secret+Key=NoToken000000000000000' };
const allowed = { regions: ['us-east-1'], services: ['s3', 'sts'] };

interface Sent { method: string; target: string; headers: [string, string][] }
interface Relay { port: number; resign: boolean; real: AwsCredentials; sent: Sent[]; refusals: string[]; received: [string, string][][] }
type LogRecord = VerifierRecord;

let pki: Pki;
let verifier: S3Verifier;
let relay: Relay;
let relayServer: http.Server;

const pairs = (raw: string[]) => raw.flatMap((v, i) => (i % 2 === 0 ? [[v, raw[i + 1] ?? ''] as [string, string]] : []));
const readLog = (): LogRecord[] => verifier.log();
let logStart = 0;
const newLog = () => readLog().slice(logStart);

/** Stands where the proxy will: scope check, re-signing, then the request on to the verifier. */
function startRelay(): Promise<void> {
  relay = { port: 0, resign: true, real: realWithToken, sent: [], refusals: [], received: [] };
  relayServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => void forward(req, Buffer.concat(chunks), res));
  });
  return new Promise((r) => relayServer.listen(0, '127.0.0.1', () => ((relay.port = (relayServer.address() as AddressInfo).port), r())));
}

async function forward(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
  const refuse = (reason: string) => (relay.refusals.push(reason), res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: reason })));
  let headers = pairs(req.rawHeaders).filter(([n]) => n.toLowerCase() !== 'connection');
  const method = req.method ?? 'GET';
  const target = req.url ?? '/';
  relay.received.push(headers);
  if (relay.resign) {
    const auth = parseSigV4Authorization(req.headers.authorization ?? '');
    if (!auth) return void refuse('not a SigV4 request');
    const scope = checkSigV4Scope(allowed, auth);
    if (!scope.ok) return void refuse(scope.reason);
    const result = await resignSigV4({ method, host: req.headers.host ?? '', target, headers, body }, auth, relay.real);
    if (!result.ok) return void refuse(result.reason);
    headers = result.headers;
  }
  relay.sent.push({ method, target, headers });
  const up = https.request({ host: '127.0.0.1', port: verifier.port, method, path: target, setHost: false, ca: pki.ca.certPem, headers: headers.flat(), agent: false }, (upRes) => {
    res.writeHead(upRes.statusCode ?? 502, upRes.headers);
    upRes.pipe(res);
  });
  up.on('error', () => res.writeHead(502).end());
  up.end(body);
}

function s3(creds: typeof agent | typeof agentNoToken, opts: { region?: string; forcePathStyle?: boolean } = {}): S3Client {
  const lookup = (_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) => (o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4));
  const region = opts.region ?? 'us-east-1';
  return new S3Client({
    region, credentials: creds, maxAttempts: 1, forcePathStyle: opts.forcePathStyle ?? true,
    endpoint: `http://s3.${region}.amazonaws.com:${relay.port}`,
    requestHandler: { httpAgent: new http.Agent({ lookup: lookup as never }) },
  });
}

const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** A request signed by smithy itself (the shapes the S3 client does not produce), sent to the relay. */
async function smithySigned(o: { service: string; method: string; path: string; query?: Record<string, string | string[]>; headers: Record<string, string>; body: string; creds: typeof agent }): Promise<{ status: number; body: string }> {
  const host = `${o.service}.us-east-1.amazonaws.com:${relay.port}`;
  const signer = new SignatureV4({ credentials: o.creds, region: 'us-east-1', service: o.service, sha256: Hash.bind(null, 'sha256'), uriEscapePath: o.service !== 's3', applyChecksum: false });
  const signed = await signer.sign(new HttpRequest({ method: o.method, hostname: host, path: o.path, query: o.query ?? {}, headers: { host, ...o.headers, 'content-length': String(Buffer.byteLength(o.body)) }, body: o.body }));
  const qs = Object.entries(signed.query ?? {}).flatMap(([k, v]) => [v ?? ''].flat().map((x) => `${rfc3986(k)}=${rfc3986(x)}`)).join('&');
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: relay.port, method: o.method, path: `${o.path}${qs ? `?${qs}` : ''}`, setHost: false, headers: signed.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

beforeAll(async () => {
  pki = await makePki();
  const credentials = [realWithToken, realNoToken].map((c) => ({ access_key_id: c.accessKeyId, secret_access_key: c.secretAccessKey, session_token: c.sessionToken }));
  verifier = await startS3Verifier(pki, credentials);
  await startRelay();
});

afterAll(async () => {
  verifier?.close();
  await new Promise((r) => relayServer?.close(r));
});

beforeEach(() => {
  Object.assign(relay, { resign: true, real: realWithToken, sent: [], refusals: [], received: [] });
  logStart = readLog().length;
});

describe.each([
  ['session token', agent, realWithToken],
  ['no session token', agentNoToken, realNoToken],
] as const)('S3 through the re-signing relay, %s', (_name, creds, real) => {
  beforeEach(() => void (relay.real = real));
  const bucket = `vg-bucket-${real.accessKeyId.slice(-3)}`;
  const odd = ['dir/k ü~%+=.txt', 'a b/ü+=~ one', 'a b/ü+=~ two', 'a b/other'];

  it.each([true, false])('PutObject (hex payload hash), ListObjectsV2 with an odd prefix, GetObject, HeadObject; path style %s', async (forcePathStyle) => {
    const c = s3(creds, { forcePathStyle });
    for (const Key of odd) await c.send(new PutObjectCommand({ Bucket: bucket, Key, Body: `body of ${Key}` }));
    const listed = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'a b/ü+=~' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['a b/ü+=~ one', 'a b/ü+=~ two']);
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: odd[0] }));
    expect(await got.Body?.transformToString()).toBe(`body of ${odd[0]}`);
    expect((await c.send(new HeadObjectCommand({ Bucket: bucket, Key: odd[0] }))).ContentLength).toBe(Buffer.byteLength(`body of ${odd[0]}`));
    const log = newLog();
    expect(log.map((r) => [r.verified, r.access_key_id, r.session_token, r.bucket])).toEqual(log.map(() => [true, real.accessKeyId, Boolean(real.sessionToken), bucket]));
    expect(log.slice(0, 4).map((r) => [r.method, r.key, r.payload_mode])).toEqual(odd.map((k) => ['PUT', k, 'sha256']));
    expect(log[4]?.target).toMatch(/list-type=2&prefix=a%20b%2F%C3%BC%2B%3D~/);
    expect(log[0]?.host).toBe(forcePathStyle ? `s3.us-east-1.amazonaws.com:${relay.port}` : `${bucket}.s3.us-east-1.amazonaws.com:${relay.port}`);
  });

  it('PutObject streaming with STREAMING-UNSIGNED-PAYLOAD-TRAILER (aws-chunked, CRC32 trailer)', async () => {
    const c = s3(creds);
    const data = Buffer.from('streamed ü body '.repeat(1000));
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'stream~1', Body: Readable.from([data.subarray(0, 5000), data.subarray(5000)]), ContentLength: data.length }));
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'stream~1' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    expect(newLog()[0]).toMatchObject({ verified: true, payload_mode: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', trailers: { 'x-amz-checksum-crc32': 'checked' } });
  });

  it('multipart upload: create, two parts, complete; and an abort', async () => {
    const c = s3(creds);
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'multi part' }));
    const parts = [];
    for (const [i, body] of ['first part, ', 'second part'].entries()) {
      const { ETag } = await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'multi part', UploadId, PartNumber: i + 1, Body: body }));
      parts.push({ ETag, PartNumber: i + 1 });
    }
    await c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'multi part', UploadId, MultipartUpload: { Parts: parts } }));
    expect(await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'multi part' }))).Body?.transformToString()).toBe('first part, second part');
    const second = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'aborted' }));
    await c.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'aborted', UploadId: second.UploadId }));
    expect(newLog().map((r) => [r.method, r.verified])).toEqual([['POST', true], ['PUT', true], ['PUT', true], ['POST', true], ['GET', true], ['POST', true], ['DELETE', true]]);
  });

  it('PutObject with UNSIGNED-PAYLOAD (signed by smithy)', async () => {
    const res = await smithySigned({ service: 's3', method: 'PUT', path: `/${bucket}/unsigned%20~key`, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-type': 'text/plain' }, body: 'not hashed', creds: creds as typeof agent });
    expect(res.status).toBe(200);
    expect(newLog()).toMatchObject([{ verified: true, payload_mode: 'UNSIGNED-PAYLOAD', key: 'unsigned ~key', access_key_id: real.accessKeyId }]);
  });

  it('a query with repeated names and reserved characters (signed by smithy)', async () => {
    const query = { 'list-type': '2', prefix: 'a b/ü+=~', 'x-vg': ['2', '1 +', '&='], empty: '' };
    const res = await smithySigned({ service: 's3', method: 'GET', path: `/${bucket}`, query, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, body: '', creds: creds as typeof agent });
    expect(res.status).toBe(200);
    expect(newLog()).toMatchObject([{ verified: true, target: `/${bucket}?list-type=2&prefix=a%20b%2F%C3%BC%2B%3D~&x-vg=2&x-vg=1%20%2B&x-vg=%26%3D&empty=` }]);
  });

  it('a non-S3 service: an STS form POST without x-amz-content-sha256, whose body hash is signed', async () => {
    const res = await smithySigned({ service: 'sts', method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: 'Action=GetCallerIdentity&Version=2011-06-15', creds: creds as typeof agent });
    expect(res).toEqual({ status: 200, body: expect.stringContaining('<Service>sts</Service>') as unknown });
    expect(newLog()).toMatchObject([{ verified: true, payload_mode: 'absent', access_key_id: real.accessKeyId }]);
  });

  it('the returned headers: the agent\'s own, the real token or none, and only the real signature', async () => {
    await s3(creds).send(new PutObjectCommand({ Bucket: bucket, Key: 'h', Body: 'x' }));
    const [sent] = relay.sent;
    const text = JSON.stringify(sent);
    for (const p of [agent.accessKeyId, agent.secretAccessKey, agent.sessionToken]) expect(text).not.toContain(p);
    const auth = sent!.headers.filter(([n]) => n.toLowerCase() === 'authorization');
    expect(auth).toHaveLength(1);
    expect(auth[0]![1]).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${real.accessKeyId}/\\d{8}/us-east-1/s3/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`));
    const tokens = sent!.headers.filter(([n]) => n.toLowerCase() === 'x-amz-security-token');
    expect(tokens).toEqual(real.sessionToken ? [['x-amz-security-token', real.sessionToken]] : []);
    const own = ([n]: [string, string]) => !['authorization', 'x-amz-security-token'].includes(n.toLowerCase());
    expect(sent!.headers.filter(own)).toEqual(relay.received[0]!.filter(own));
    const agentAuth = parseSigV4Authorization(relay.received[0]!.find(([n]) => n === 'authorization')?.[1] ?? '');
    expect(parseSigV4Authorization(auth[0]![1])?.signedHeaders).toEqual(agentAuth?.signedHeaders.filter((h) => real.sessionToken || h !== 'x-amz-security-token'));
  });
});

describe('botocore as the agent\'s SDK too', () => {
  it('boto3 PutObject and ListObjectsV2 with placeholder credentials, re-signed, verified', async () => {
    const script = [
      'import boto3, json, sys',
      'c = boto3.client("s3", region_name="us-east-1", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], aws_session_token=sys.argv[4])',
      'c.put_object(Bucket="vg-boto", Key="p q/ü+~ 1", Body=b"from boto")',
      'print(json.dumps([o["Key"] for o in c.list_objects_v2(Bucket="vg-boto", Prefix="p q/ü+")["Contents"]]))',
    ].join('\n');
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('/usr/bin/python3', ['-c', script, `http://127.0.0.1:${relay.port}`, agent.accessKeyId, agent.secretAccessKey, agent.sessionToken], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`boto3 exited ${String(code)}`))));
    });
    expect(JSON.parse(out)).toEqual(['p q/ü+~ 1']);
    expect(newLog().map((r) => [r.method, r.verified, r.access_key_id, r.session_token])).toEqual([['PUT', true, realWithToken.accessKeyId, true], ['GET', true, realWithToken.accessKeyId, true]]);
  });
});

describe('session tokens the agent and the secret disagree on', () => {
  it.each([
    ['the agent sends a placeholder token, the secret has none: dropped, not signed', agent, realNoToken],
    ['the agent sends none, the secret has one: added and signed', agentNoToken, realWithToken],
  ] as const)('%s', async (_name, creds, real) => {
    relay.real = real;
    await s3(creds).send(new PutObjectCommand({ Bucket: 'vg-bucket-tok', Key: 't', Body: 'x' }));
    expect(newLog()).toMatchObject([{ verified: true, access_key_id: real.accessKeyId, session_token: Boolean(real.sessionToken) }]);
    const tokens = relay.sent[0]!.headers.filter(([n]) => n.toLowerCase() === 'x-amz-security-token').map(([, v]) => v);
    expect(tokens).toEqual(real.sessionToken ? [real.sessionToken] : []);
  });
});

describe('refusals', () => {
  it('the same requests without re-signing are refused by the verifier (403)', async () => {
    relay.resign = false;
    const c = s3(agent);
    await expect(c.send(new PutObjectCommand({ Bucket: 'vg-bucket-raw', Key: 'k', Body: 'x' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    await expect(c.send(new ListObjectsV2Command({ Bucket: 'vg-bucket-raw' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    expect(newLog().map((r) => [r.verified, r.error])).toEqual([[false, 'InvalidAccessKeyId'], [false, 'InvalidAccessKeyId']]);
  });

  it('the placeholder signature under the real access key id is SignatureDoesNotMatch; so is a re-signing with a wrong secret', async () => {
    relay.resign = false;
    const c = s3(agentNoToken);
    c.middlewareStack.add((next) => async (args) => {
      const req = args.request as HttpRequest;
      req.headers.authorization = String(req.headers.authorization).replace(agent.accessKeyId, realNoToken.accessKeyId);
      return next(args);
    }, { step: 'finalizeRequest', priority: 'low', name: 'swapAccessKey' });
    await expect(c.send(new ListObjectsV2Command({ Bucket: 'vg-bucket-raw' }))).rejects.toMatchObject({ Code: 'SignatureDoesNotMatch' });
    Object.assign(relay, { resign: true, real: { ...realNoToken, secretAccessKey: 'not-the-real-secret' } });
    await expect(s3(agentNoToken).send(new ListObjectsV2Command({ Bucket: 'vg-bucket-raw' }))).rejects.toMatchObject({ Code: 'SignatureDoesNotMatch' });
    expect(newLog().map((r) => [r.verified, r.error, r.access_key_id])).toEqual([[false, 'SignatureDoesNotMatch', realNoToken.accessKeyId], [false, 'SignatureDoesNotMatch', realNoToken.accessKeyId]]);
  });

  it('a region or service the secret may not sign for is refused before anything is signed or sent', async () => {
    await expect(s3(agent, { region: 'eu-central-1' }).send(new ListObjectsV2Command({ Bucket: 'vg-bucket-x' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    const res = await smithySigned({ service: 'iam', method: 'POST', path: '/', headers: {}, body: 'Action=ListUsers', creds: agent });
    expect(res).toEqual({ status: 403, body: JSON.stringify({ error: 'service iam is not among the services this secret may sign for' }) });
    expect(relay.refusals).toEqual(['region eu-central-1 is not among the regions this secret may sign for', 'service iam is not among the services this secret may sign for']);
    expect(relay.sent).toEqual([]);
    expect(newLog()).toEqual([]);
  });
});

describe('resignSigV4 refuses what it cannot sign faithfully, naming no key', () => {
  const sig = 'a'.repeat(64);
  const auth = parseSigV4Authorization(`AWS4-HMAC-SHA256 Credential=${agent.accessKeyId}/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${sig}`)!;
  const base: [string, string][] = [['Authorization', 'AWS4-HMAC-SHA256 …'], ['x-amz-date', '20240101T120000Z'], ['x-amz-content-sha256', 'UNSIGNED-PAYLOAD']];
  const without = (name: string) => base.filter(([n]) => n !== name);
  it.each([
    ['no X-Amz-Date', { headers: without('x-amz-date') }, 'an AWS request needs an X-Amz-Date header of the form yyyymmddThhmmssZ'],
    ['an X-Amz-Date of another shape', { headers: [...without('x-amz-date'), ['X-Amz-Date', '2024-01-01T12:00:00Z']] }, 'an AWS request needs an X-Amz-Date header of the form yyyymmddThhmmssZ'],
    ['an impossible X-Amz-Date', { headers: [...without('x-amz-date'), ['X-Amz-Date', '20240231T120000Z']] }, 'an AWS request needs an X-Amz-Date header of the form yyyymmddThhmmssZ'],
    ['X-Amz-Date off the scope date', { headers: [...without('x-amz-date'), ['X-Amz-Date', '20240102T000000Z']] }, 'X-Amz-Date is not on the credential scope date'],
    ['two Authorization headers', { headers: [...base, ['authorization', 'x']] }, 'an AWS request needs exactly one Authorization header'],
    ['a signed streaming payload', { headers: [...without('x-amz-content-sha256'), ['x-amz-content-sha256', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD']] }, expect.stringContaining('configure the client for unsigned payloads')],
    ['an absolute target', { target: 'https://s3.amazonaws.com/b/k' }, 'an AWS request target must be a path'],
    ['a malformed escape in the query', { target: '/b?prefix=%E0%A4%A' }, 'the query string has a malformed percent-encoding'],
    ['an escape that is not UTF-8 in the query', { target: '/b?prefix=%FF' }, 'the query string has a malformed percent-encoding'],
  ] as [string, { headers?: [string, string][]; target?: string }, unknown][])('%s', async (_why, change, reason) => {
    const request = { method: 'GET', host: 's3.amazonaws.com', target: '/b/k', headers: base, body: null, ...change };
    const result = await resignSigV4(request, auth, realWithToken);
    expect(result).toEqual({ ok: false, reason });
    const text = JSON.stringify(result);
    for (const secret of [realWithToken.secretAccessKey, realWithToken.sessionToken!, realWithToken.accessKeyId, agent.accessKeyId]) expect(text).not.toContain(secret);
  });

  it('signs with the client\'s date and scope, so the same input gives the same signature', async () => {
    const request = { method: 'GET', host: 's3.amazonaws.com', target: '/b/k', headers: base, body: null };
    const [a, b] = await Promise.all([resignSigV4(request, auth, realNoToken), resignSigV4(request, auth, realNoToken)]);
    expect(a).toEqual(b);
    expect(a.ok && a.headers[0]?.[1]).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAREALNOTOKEN00002\/20240101\/us-east-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/);
  });
});
