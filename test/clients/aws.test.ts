// An aws_sigv4 secret (SPEC §10) used by unchanged AWS clients under `vaultgate run`: Debian's AWS CLI
// v2 and @aws-sdk/client-s3 in a child Node process. The child holds placeholder credentials and
// signs with them; the proxy signs each request again with the real key. The upstream is
// test/fixtures/s3-verifier.py, which recomputes every signature with botocore and the REAL key, so
// its log is what S3 would have accepted. Out-of-scope regions and services are refused before
// anything is sent, and the real key never shows up anywhere the agent, the logs or the disk hold.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { debianPython, startS3Verifier, type S3Verifier, type VerifierRecord } from '../helpers/s3-verifier.js';
import { agentWithToken, createVault, envOf, ok } from '../agents/helpers.js';
import { leaks, needlesFor, requireBuiltCli, searchDir, sleep } from '../helpers/kit.js';
import { repoRoot, startTestServer, type TestServer } from '../helpers/server.js';
import { makePki, runAs, type Pki, type RunResult } from '../proxy/helpers.js';

/** Debian's AWS CLI v2 and the interpreter with Debian's botocore (awscli and python3-boto3; .ci/run installs them). */
const awsCli = '/usr/bin/aws';
const python = debianPython;

const REAL = { access_key_id: 'AKIAVGREALE2E0000001', secret_access_key: 'vgE2E/Real+Secret=Access0Key1234567890abcd' };
/** A second secret, with a session token, read-only request rules and a rate limit (another agent holds it). */
const TEMP = { access_key_id: 'ASIAVGTEMPE2E0000002', secret_access_key: 'vgE2E/Temp+Secret=Access0Key0987654321wxyz', session_token: 'FwoGZXIvYXdzE2E//session+token/for=the-e2e-test==' };
const reals = [REAL.access_key_id, REAL.secret_access_key, TEMP.access_key_id, TEMP.secret_access_key, TEMP.session_token];
const region = 'us-east-1';
const bucket = 'vg-e2e-bucket';
/** The hosts the clients reach: virtual-hosted and path-style S3 in the allowed region, S3 in another region, and STS. */
const s3Hosts = [`${bucket}.s3.${region}.amazonaws.com`, `s3.${region}.amazonaws.com`, `${bucket}.s3.eu-west-1.amazonaws.com`, 's3.eu-west-1.amazonaws.com', `sts.${region}.amazonaws.com`, 'sts.amazonaws.com'];
const placeholder = /^vgph_[0-9A-Za-z]{40}$/;

type LogRecord = VerifierRecord;

let pki: Pki;
let verifier: S3Verifier;
let s: TestServer;
let agentId = '';
let tempAgentId = '';
let tempSecretId = '';
let secretId = '';
let agentEnv: Record<string, string> = {};
let scratch = '';
/** Everything the children printed, for the canary sweep. */
const outputs: string[] = [];

const readLog = (): LogRecord[] => verifier.log();
let logStart = 0;
const newLog = () => readLog().slice(logStart);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  requireBuiltCli();
  for (const f of [awsCli, python]) if (!existsSync(f)) throw new Error(`${f} is missing: install awscli and python3-boto3 (see .ci/run)`);
  scratch = mkdtempSync(join(tmpdir(), 'vg-aws-clients-'));
  pki = await makePki(s3Hosts);
  verifier = await startS3Verifier(pki, [REAL, TEMP]);
  s = await startTestServer({
    env: {
      VAULTGATE_PROXY_CONNECT_TO: s3Hosts.map((h) => `${h}:443=127.0.0.1:${verifier.port}`).join(','),
      VAULTGATE_UPSTREAM_CA_FILE: pki.caFile,
      VAULTGATE_PROXY_ALLOW_PRIVATE: '1',
    },
  });
  const v = await createVault(s, `aws-${Date.now()}`);
  const secret = await ok(
    s.call('POST', `/vaults/${v.id}/secrets`, {
      body: { env_key: 'AWS', type: 'aws_sigv4', value: REAL, regions: [region], services: ['s3'], allowed_domains: ['*.amazonaws.com'] },
    }),
    201,
  );
  secretId = secret.id;
  const a = await agentWithToken(s, { name: `aws-agent-${Date.now()}`, vault_ids: [v.id] });
  agentId = a.agent.id;
  agentEnv = await envOf(s, a.token);
  const tv = await createVault(s, `aws-temp-${Date.now()}`);
  const temp = await ok(
    s.call('POST', `/vaults/${tv.id}/secrets`, {
      body: {
        env_key: 'AWS', type: 'aws_sigv4', value: TEMP, regions: [region], services: ['s3'], allowed_domains: ['*.amazonaws.com'],
        rules: [{ methods: ['GET', 'HEAD'] }], rate_limit: { requests: 3, per: 'hour' },
      },
    }),
    201,
  );
  tempSecretId = temp.id;
  tempAgentId = (await agentWithToken(s, { name: `aws-temp-agent-${Date.now()}`, vault_ids: [tv.id] })).agent.id;
});

afterAll(async () => {
  verifier?.close();
  await s?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

beforeEach(() => {
  logStart = readLog().length;
});

/** The AWS CLI's environment besides what `vaultgate run` adds: no profile, no metadata service, one attempt. */
const awsEnv = (extra: Record<string, string> = {}) => ({
  HOME: scratch,
  AWS_DEFAULT_REGION: region,
  AWS_CONFIG_FILE: join(scratch, 'no-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'no-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_MAX_ATTEMPTS: '1',
  AWS_PAGER: '',
  ...extra,
});

async function run(command: string[], env: Record<string, string> = {}, agent = agentId): Promise<RunResult> {
  const r = await runAs(s, agent, command, { cwd: scratch, env: awsEnv(env) });
  outputs.push(r.stdout, r.stderr);
  return r;
}

/** Audit records of this agent of one type, oldest first. */
interface AuditEvent { agent_id: string; secret_id: string | null; reason: string; details: Record<string, unknown> }
const eventsOf = async (type: string, agent = agentId) => ((await ok(s.call('GET', `/audit?type=${type}&limit=1000`), 200)) as AuditEvent[]).filter((e) => e.agent_id === agent);

/** Every request since the test began reached the verifier signed with the real key id, and verified. */
function allVerified(records: LogRecord[], keyId = REAL.access_key_id): void {
  expect(records.length).toBeGreaterThan(0);
  for (const rec of records) {
    expect({ target: rec.target, access_key_id: rec.access_key_id, verified: rec.verified, signature_ok: rec.signature_ok, error: rec.error }).toEqual({
      target: rec.target,
      access_key_id: keyId,
      verified: true,
      signature_ok: true,
      error: undefined,
    });
  }
}

const file = (name: string, bytes: Buffer) => {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
};

describe('the child environment', () => {
  it('holds the credentials as placeholders (never the real ones), and the CA trust variables', async () => {
    const r = await run(['sh', '-c', 'env']);
    expect(r.code, r.stderr).toBe(0);
    const env = Object.fromEntries(r.stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(env.AWS_ACCESS_KEY_ID).toMatch(placeholder);
    expect(env.AWS_SECRET_ACCESS_KEY).toMatch(placeholder);
    expect(env.AWS_ACCESS_KEY_ID).not.toBe(env.AWS_SECRET_ACCESS_KEY);
    expect(env.AWS_SESSION_TOKEN).toBeUndefined();
    expect([env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY]).toEqual([agentEnv.AWS_ACCESS_KEY_ID, agentEnv.AWS_SECRET_ACCESS_KEY]);
    // botocore (the AWS CLI) reads REQUESTS_CA_BUNDLE, Node SDKs NODE_EXTRA_CA_CERTS; the Python hook covers a pinned bundle.
    for (const name of ['REQUESTS_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS', 'VAULTGATE_CA_FILE', 'PYTHONPATH']) expect(env[name], name).toBeTruthy();
    expect(leaks('child env', r.stdout, REAL.secret_access_key)).toEqual([]);
    expect(leaks('child env', r.stdout, REAL.access_key_id)).toEqual([]);
  });
});

describe('AWS CLI v2 (Debian awscli) through vaultgate run', () => {
  const small = randomBytes(3000);
  const big = randomBytes(20 * 1024 * 1024);

  it('s3api put-object (one PUT), then list-objects-v2 and head-object', async () => {
    const body = file('put.bin', small);
    const put = await run([awsCli, 's3api', 'put-object', '--bucket', bucket, '--key', 'cli/put.bin', '--body', body]);
    expect(put.code, put.stderr).toBe(0);
    expect(JSON.parse(put.stdout).ETag).toBe(`"${createHash('md5').update(small).digest('hex')}"`);
    const list = await run([awsCli, 's3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'cli/']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).Contents.map((o: { Key: string; Size: number }) => [o.Key, o.Size])).toEqual([['cli/put.bin', small.length]]);
    const head = await run([awsCli, 's3api', 'head-object', '--bucket', bucket, '--key', 'cli/put.bin']);
    expect(head.code, head.stderr).toBe(0);
    expect(JSON.parse(head.stdout).ContentLength).toBe(small.length);
    const log = newLog();
    allVerified(log);
    expect(log.map((r) => [r.method, r.host, r.target.split('?')[0], r.service, r.region])).toEqual([
      ['PUT', `${bucket}.s3.${region}.amazonaws.com`, '/cli/put.bin', 's3', region],
      ['GET', `${bucket}.s3.${region}.amazonaws.com`, '/', 's3', region],
      ['HEAD', `${bucket}.s3.${region}.amazonaws.com`, '/cli/put.bin', 's3', region],
    ]);
    const injected = await eventsOf('proxy.injected');
    expect(injected.at(-1)).toMatchObject({ secret_id: secretId, details: { host: `${bucket}.s3.${region}.amazonaws.com`, surfaces: ['header'], env_key: 'AWS' } });
  });

  it('s3 cp of a small file up and down: the bytes read back equal what was written', async () => {
    const up = await run([awsCli, 's3', 'cp', file('small.bin', small), `s3://${bucket}/cli/small.bin`]);
    expect(up.code, up.stderr).toBe(0);
    const down = await run([awsCli, 's3', 'cp', `s3://${bucket}/cli/small.bin`, join(scratch, 'small.down')]);
    expect(down.code, down.stderr).toBe(0);
    expect(sha256(readFileSync(join(scratch, 'small.down')))).toBe(sha256(small));
    allVerified(newLog());
  });

  it('s3 cp of 20 MiB: a multipart upload, a ranged parallel download, sha256 equal', async () => {
    const up = await run([awsCli, 's3', 'cp', file('big.bin', big), `s3://${bucket}/cli/big.bin`]);
    expect(up.code, up.stderr).toBe(0);
    const upLog = newLog();
    allVerified(upLog);
    const ops = upLog.map((r) => `${r.method} ${r.target.replace(/uploadId=[0-9a-f]+/, 'uploadId=U')}`);
    expect(ops[0]).toBe('POST /cli/big.bin?uploads');
    expect(ops.filter((o) => /^PUT \/cli\/big\.bin\?(partNumber=\d+&uploadId=U|uploadId=U&partNumber=\d+)$/.test(o))).toHaveLength(3);
    expect(ops.at(-1)).toBe('POST /cli/big.bin?uploadId=U');
    logStart = readLog().length;
    const down = await run([awsCli, 's3', 'cp', `s3://${bucket}/cli/big.bin`, join(scratch, 'big.down')]);
    expect(down.code, down.stderr).toBe(0);
    expect(sha256(readFileSync(join(scratch, 'big.down')))).toBe(sha256(big));
    const downLog = newLog();
    allVerified(downLog);
    // Above the CLI's 8 MiB threshold the download is parallel ranged GETs: each one signed again too.
    expect(downLog.filter((r) => r.method === 'GET' && r.range !== undefined).length).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it('path-style addressing (config file) reaches s3.<region>.amazonaws.com, signed and verified', async () => {
    const config = file('path-style.config', Buffer.from('[default]\ns3 =\n  addressing_style = path\n'));
    const r = await run([awsCli, 's3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'cli/put'], { AWS_CONFIG_FILE: config });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).Contents.map((o: { Key: string }) => o.Key)).toEqual(['cli/put.bin']);
    const log = newLog();
    allVerified(log);
    expect(log.map((rec) => [rec.host, rec.target.split('?')[0]])).toEqual([[`s3.${region}.amazonaws.com`, `/${bucket}`]]);
  });

  it('a parent AWS_CA_BUNDLE naming public roots only: the CLI still trusts the proxy', async () => {
    const publicRoots = file('public-roots.pem', Buffer.from(`${(await import('node:tls')).rootCertificates.join('\n')}\n`));
    const r = await run([awsCli, 's3api', 'head-object', '--bucket', bucket, '--key', 'cli/put.bin'], { AWS_CA_BUNDLE: publicRoots });
    expect(r.code, r.stderr).toBe(0);
    allVerified(newLog());
  });
});

/** @aws-sdk/client-s3 in a child Node process started by `vaultgate run`, as test/clients/node-sdks.test.ts runs SDKs. */
function sdkChild(body: string, clientRegion = region): string[] {
  const code = `const out = { env: process.env.AWS_ACCESS_KEY_ID };
const s3 = await import('@aws-sdk/client-s3');
const { createHash, randomBytes } = await import('node:crypto');
const sha = (b) => createHash('sha256').update(b).digest('hex');
const c = new s3.S3Client({ region: ${JSON.stringify(clientRegion)}, maxAttempts: 1 });
const Bucket = ${JSON.stringify(bucket)};
try { out.got = await (async () => { ${body} })(); }
catch (e) { out.error = { name: e.name, status: e.$metadata?.httpStatusCode ?? null, message: String(e.message).slice(0, 300) }; }
process.stdout.write(JSON.stringify(out));`;
  return [process.execPath, '--input-type=module', '-e', code];
}

interface SdkOut { env: string; got?: any; error?: { name: string; status: number | null; message: string } }
async function sdk(body: string, clientRegion?: string): Promise<SdkOut> {
  const r = await runAs(s, agentId, sdkChild(body, clientRegion), { cwd: repoRoot, env: awsEnv() });
  outputs.push(r.stdout, r.stderr);
  try {
    return JSON.parse(r.stdout) as SdkOut;
  } catch {
    throw new Error(`child printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

describe('@aws-sdk/client-s3 in a child node process', () => {
  it('PutObject small and 20 MiB, HeadObject, GetObject, ListObjectsV2: what is read back is what was written', async () => {
    const out = await sdk(`const small = Buffer.from('small object from the node sdk ' + randomBytes(8).toString('hex'));
const big = randomBytes(20 * 1024 * 1024);
await c.send(new s3.PutObjectCommand({ Bucket, Key: 'sdk/small.txt', Body: small }));
await c.send(new s3.PutObjectCommand({ Bucket, Key: 'sdk/big.bin', Body: big }));
const head = await c.send(new s3.HeadObjectCommand({ Bucket, Key: 'sdk/big.bin' }));
const read = async (Key) => Buffer.from(await (await c.send(new s3.GetObjectCommand({ Bucket, Key }))).Body.transformToByteArray());
const list = await c.send(new s3.ListObjectsV2Command({ Bucket, Prefix: 'sdk/' }));
return { wrote: [sha(small), sha(big)], read: [sha(await read('sdk/small.txt')), sha(await read('sdk/big.bin'))], headLength: head.ContentLength, listed: list.Contents.map((o) => [o.Key, o.Size]), smallLength: small.length };`);
    expect(out.error).toBeUndefined();
    expect(out.env).toBe(agentEnv.AWS_ACCESS_KEY_ID);
    expect(out.got.read).toEqual(out.got.wrote);
    expect(out.got.headLength).toBe(20 * 1024 * 1024);
    expect(out.got.listed).toEqual([['sdk/big.bin', 20 * 1024 * 1024], ['sdk/small.txt', out.got.smallLength]]);
    const log = newLog();
    allVerified(log);
    expect(log.map((r) => `${r.method} ${r.target.split('?')[0]}`)).toEqual(['PUT /sdk/small.txt', 'PUT /sdk/big.bin', 'HEAD /sdk/big.bin', 'GET /', 'GET /sdk/small.txt', 'GET /sdk/big.bin']);
  }, 120_000);
});

describe('out of scope: refused before anything is sent, and audited', () => {
  it('the CLI configured for eu-west-1 (not among the regions): 403, nothing reached the verifier', async () => {
    const before = (await eventsOf('proxy.blocked')).length;
    const r = await run([awsCli, 's3api', 'list-objects-v2', '--bucket', bucket, '--region', 'eu-west-1']);
    expect(r.code).not.toBe(0);
    // The refusal is written as AWS writes errors, so the CLI shows its code and the reason.
    expect(r.stderr).toContain('An error occurred (AccessDenied) when calling the ListObjectsV2 operation');
    expect(r.stderr).toContain(': request blocked: region eu-west-1 is not among the regions this secret may sign for');
    expect(newLog()).toEqual([]);
    const blocked = (await eventsOf('proxy.blocked')).slice(before);
    expect(blocked.map((e) => [e.reason, e.secret_id, e.details.host])).toEqual([['region eu-west-1 is not among the regions this secret may sign for', secretId, `${bucket}.s3.eu-west-1.amazonaws.com`]]);
  });

  it('the node SDK configured for eu-west-1: 403, nothing reached the verifier', async () => {
    const before = (await eventsOf('proxy.blocked')).length;
    const out = await sdk(`return (await c.send(new s3.ListObjectsV2Command({ Bucket }))).KeyCount;`, 'eu-west-1');
    expect(out.error?.status).toBe(403);
    expect(out.error?.message).toBe('request blocked: region eu-west-1 is not among the regions this secret may sign for');
    expect(newLog()).toEqual([]);
    const blocked = (await eventsOf('proxy.blocked')).slice(before);
    expect(blocked.map((e) => [e.reason, e.secret_id])).toEqual([['region eu-west-1 is not among the regions this secret may sign for', secretId]]);
  });

  it('a service not allowed (aws sts get-caller-identity): 403, nothing reached the verifier', async () => {
    const before = (await eventsOf('proxy.blocked')).length;
    const r = await run([awsCli, 'sts', 'get-caller-identity']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('An error occurred (AccessDenied) when calling the GetCallerIdentity operation');
    expect(r.stderr).toContain(': request blocked: service sts is not among the services this secret may sign for');
    expect(newLog()).toEqual([]);
    const blocked = (await eventsOf('proxy.blocked')).slice(before);
    expect(blocked.map((e) => [e.reason, e.secret_id, e.details.host])).toEqual([['service sts is not among the services this secret may sign for', secretId, `sts.${region}.amazonaws.com`]]);
  });
});

describe('a session token, request rules and a rate limit on the secret (another agent)', () => {
  // The limit counts per hour, in windows aligned to the hour: all of this must fall in one.
  beforeAll(async () => {
    const left = 3_600_000 - (Date.now() % 3_600_000);
    if (left < 40_000) await sleep(left + 250);
  });

  it('the CLI gets AWS_SESSION_TOKEN as a placeholder; GET and HEAD arrive with the real token, signed and verified', async () => {
    const env = await run(['sh', '-c', 'echo "$AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN"'], {}, tempAgentId);
    const held = env.stdout.trim().split(' ');
    expect(held).toHaveLength(3);
    for (const p of held) expect(p).toMatch(placeholder);
    const list = await run([awsCli, 's3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'cli/put'], {}, tempAgentId);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).Contents.map((o: { Key: string }) => o.Key)).toEqual(['cli/put.bin']);
    const head = await run([awsCli, 's3api', 'head-object', '--bucket', bucket, '--key', 'cli/put.bin'], {}, tempAgentId);
    expect(head.code, head.stderr).toBe(0);
    const log = newLog();
    allVerified(log, TEMP.access_key_id);
    expect(log.map((r) => [r.method, r.session_token])).toEqual([['GET', true], ['HEAD', true]]);
  });

  it('a PUT is refused by the rules (rule_denied), nothing reached the verifier', async () => {
    const r = await run([awsCli, 's3api', 'put-object', '--bucket', bucket, '--key', 'cli/denied.bin', '--body', file('denied.bin', Buffer.from('no'))], {}, tempAgentId);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('An error occurred (AccessDenied) when calling the PutObject operation');
    expect(r.stderr).toContain(': request blocked: no request rule of this secret allows it: no rule matches the method and path');
    expect(newLog()).toEqual([]);
    const blocked = await eventsOf('proxy.blocked', tempAgentId);
    expect(blocked.map((e) => [e.reason, e.secret_id, e.details.detail])).toEqual([['rule_denied', tempSecretId, 'no request rule of this secret allows it: no rule matches the method and path']]);
  });

  it('the third request this hour passes, the fourth is 429 rate_limited (the refused PUT took no slot)', async () => {
    const third = await run([awsCli, 's3api', 'head-object', '--bucket', bucket, '--key', 'cli/put.bin'], {}, tempAgentId);
    expect(third.code, third.stderr).toBe(0);
    const fourth = await run([awsCli, 's3api', 'head-object', '--bucket', bucket, '--key', 'cli/put.bin'], {}, tempAgentId);
    expect(fourth.code).not.toBe(0);
    expect(fourth.stderr).toMatch(/429|Too Many Requests/);
    expect(newLog().map((r) => r.method)).toEqual(['HEAD']);
    const blocked = await eventsOf('proxy.blocked', tempAgentId);
    expect(blocked.map((e) => [e.reason, e.secret_id])).toEqual([['rule_denied', tempSecretId], ['rate_limited', tempSecretId]]);
  });
});

describe('canary sweep: the real key id and secret key appear nowhere but upstream', () => {
  it('not in the children’s output or environment, the server log, the audit log, nor any file in the data dir', async () => {
    const audit = JSON.stringify(await ok(s.call('GET', '/audit?limit=1000'), 200));
    const hits: string[] = [];
    for (const real of reals) {
      hits.push(...outputs.flatMap((o, i) => leaks(`child output ${i}`, o, real)));
      hits.push(...leaks('server log', s.logs.join(''), real), ...leaks('audit', audit, real));
      hits.push(...searchDir(s.dataDir, needlesFor(real)).map((h) => `${h.where}: ${h.encoding}`));
    }
    expect(hits).toEqual([]);
    expect(outputs.length).toBeGreaterThan(10);
    // The sweep would find them: the verifier's log (the upstream) holds the real key ids.
    expect(leaks('verifier log', readFileSync(verifier.logFile), REAL.access_key_id)).not.toEqual([]);
    expect(leaks('verifier log', readFileSync(verifier.logFile), TEMP.access_key_id)).not.toEqual([]);
  });
});
