import { describe, expect, it } from 'vitest';
import { checkSigV4Scope, parseSigV4Authorization, payloadMode, presignedAccessKey, type SigV4Auth } from './sigv4.js';

const sig = '1f23f43ed1ed115d022a4b5245dc3b6136a312c749a61fdae48b568965675f25';
const ph = `vgph_${'a1B2c3D4e5'.repeat(4)}`;

// Real headers: botocore 1.43 (S3SigV4Auth with a session token; SigV4Auth for STS) and
// @aws-sdk/client-s3 3.1177 (captured off the wire), then the spacing variants other signers use.
const good: [source: string, header: string, expected: SigV4Auth][] = [
  [
    'botocore S3',
    `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261206/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=${sig}`,
    { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', date: '20261206', region: 'us-east-1', service: 's3', signedHeaders: ['host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token'], signature: sig },
  ],
  [
    'botocore STS',
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261206/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=4f01c673964479c72cf31b0f336581800055f978045038700aadd812d032df0b',
    { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', date: '20261206', region: 'us-east-1', service: 'sts', signedHeaders: ['content-type', 'host', 'x-amz-date'], signature: '4f01c673964479c72cf31b0f336581800055f978045038700aadd812d032df0b' },
  ],
  [
    'JS SDK v3 PutObject, placeholder key',
    `AWS4-HMAC-SHA256 Credential=${ph}/20261206/eu-west-3/s3/aws4_request, SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-checksum-crc32;x-amz-content-sha256;x-amz-date;x-amz-sdk-checksum-algorithm;x-amz-security-token;x-amz-user-agent, Signature=${sig}`,
    {
      accessKeyId: ph, date: '20261206', region: 'eu-west-3', service: 's3', signature: sig,
      signedHeaders: ['amz-sdk-invocation-id', 'amz-sdk-request', 'content-length', 'content-type', 'host', 'x-amz-checksum-crc32', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-sdk-checksum-algorithm', 'x-amz-security-token', 'x-amz-user-agent'],
    },
  ],
  [
    'no spaces after commas, components reordered, tabs and outer blanks',
    `\t AWS4-HMAC-SHA256\tSignature=${sig.toUpperCase()},Credential=AK/20240229/us-gov-west-1/execute-api/aws4_request ,  SignedHeaders=Host;X-Amz-Date  `,
    { accessKeyId: 'AK', date: '20240229', region: 'us-gov-west-1', service: 'execute-api', signedHeaders: ['host', 'x-amz-date'], signature: sig.toUpperCase() },
  ],
];

describe('parseSigV4Authorization', () => {
  it.each(good)('%s', (_source, header, expected) => {
    expect(parseSigV4Authorization(header)).toEqual(expected);
  });

  const cred = 'AK/20240101/us-east-1/s3/aws4_request';
  const malformed: [why: string, header: string][] = [
    ['empty', ''],
    ['another algorithm (SigV4a)', `AWS4-ECDSA-P256-SHA256 Credential=${cred}, SignedHeaders=host, Signature=${sig}`],
    ['SigV2', 'AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg='],
    ['algorithm in lowercase', `aws4-hmac-sha256 Credential=${cred}, SignedHeaders=host, Signature=${sig}`],
    ['no blank after the algorithm', `AWS4-HMAC-SHA256Credential=${cred}, SignedHeaders=host, Signature=${sig}`],
    ['missing Signature', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=host`],
    ['missing SignedHeaders', `AWS4-HMAC-SHA256 Credential=${cred}, Signature=${sig}`],
    ['a component twice', `AWS4-HMAC-SHA256 Credential=${cred}, Credential=${cred}, SignedHeaders=host, Signature=${sig}`],
    ['an unknown component', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=host, Signature=${sig}, Extra=1`],
    ['component name in another case', `AWS4-HMAC-SHA256 credential=${cred}, SignedHeaders=host, Signature=${sig}`],
    ['a trailing comma', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=host, Signature=${sig},`],
    ['semicolons between components', `AWS4-HMAC-SHA256 Credential=${cred}; SignedHeaders=host; Signature=${sig}`],
    ['short signature', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=host, Signature=${sig.slice(1)}`],
    ['non-hex signature', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=host, Signature=${sig.slice(1)}g`],
    ['scope without terminator', `AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/s3, SignedHeaders=host, Signature=${sig}`],
    ['wrong terminator', `AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/s3/aws4_requests, SignedHeaders=host, Signature=${sig}`],
    ['extra scope part', `AWS4-HMAC-SHA256 Credential=AK/x/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${sig}`],
    ['empty access key', `AWS4-HMAC-SHA256 Credential=/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${sig}`],
    ['date not 8 digits', `AWS4-HMAC-SHA256 Credential=AK/2024011/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${sig}`],
    ['long date in the scope', `AWS4-HMAC-SHA256 Credential=AK/20240101T000000Z/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${sig}`],
    ['empty region', `AWS4-HMAC-SHA256 Credential=AK/20240101//s3/aws4_request, SignedHeaders=host, Signature=${sig}`],
    ['odd characters in the region', `AWS4-HMAC-SHA256 Credential=AK/20240101/us<east/s3/aws4_request, SignedHeaders=host, Signature=${sig}`],
    ['empty signed header', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=host;;x-amz-date, Signature=${sig}`],
    ['signed header listed twice', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=host;host, Signature=${sig}`],
    ['signed header not a token', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=host;x:y, Signature=${sig}`],
    ['a space inside a value', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=host; x-amz-date, Signature=${sig}`],
    ['CR LF inside', `AWS4-HMAC-SHA256 Credential=${cred},\r\n SignedHeaders=host, Signature=${sig}`],
    ['empty value', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=, Signature=${sig}`],
  ];
  it.each(malformed)('null: %s', (_why, header) => {
    expect(parseSigV4Authorization(header)).toBeNull();
  });
});

describe('presignedAccessKey', () => {
  const rows: [query: string, expected: string | null][] = [
    [`X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${ph}%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=${sig}`, ph],
    [`?x-amz-credential=${ph}/20240101/us-east-1/s3/aws4_request`, ph],
    [`a=1&X%2DAmz%2DCredential=AKIA%5FX%2F20240101`, 'AKIA_X'],
    ['X-AMZ-CREDENTIAL=AK&X-Amz-Credential=OTHER', 'AK'],
    ['X-Amz-Credential=AK%ZZ/x', 'AK%ZZ'],
    ['X-Amz-Credential=&x=1', null],
    ['X-Amz-Credential', null],
    ['list-type=2&prefix=X-Amz-Credential%3DAK', null],
    ['', null],
  ];
  it.each(rows)('%s → %s', (query, expected) => {
    expect(presignedAccessKey(query)).toBe(expected);
  });
});

describe('checkSigV4Scope', () => {
  const auth = (region: string, service: string): SigV4Auth => ({ accessKeyId: ph, date: '20240101', region, service, signedHeaders: ['host'], signature: sig });
  const allowed = { regions: ['us-east-1', 'EU-West-1'], services: ['s3', 'sts'] };
  it.each([
    ['us-east-1', 's3', { ok: true }],
    ['eu-west-1', 'STS', { ok: true }],
    ['us-east-2', 's3', { ok: false, reason: 'region us-east-2 is not among the regions this secret may sign for' }],
    ['us-east-1', 'iam', { ok: false, reason: 'service iam is not among the services this secret may sign for' }],
    ['us-east-1x', 's3', { ok: false, reason: 'region us-east-1x is not among the regions this secret may sign for' }],
    ['us-east-1', 's3-object-lambda', { ok: false, reason: 'service s3-object-lambda is not among the services this secret may sign for' }],
  ])('%s / %s', (region, service, expected) => {
    expect(checkSigV4Scope(allowed, auth(region, service))).toEqual(expected);
  });

  it('refuses everything when nothing is listed', () => {
    expect(checkSigV4Scope({ regions: [], services: [] }, auth('us-east-1', 's3')).ok).toBe(false);
    expect(checkSigV4Scope({ regions: ['us-east-1'], services: [] }, auth('us-east-1', 's3')).ok).toBe(false);
  });

  it('never names the access key in a refusal', () => {
    const verdict = checkSigV4Scope(allowed, auth('ap-south-1', 's3'));
    expect(verdict.ok ? '' : verdict.reason).not.toContain(ph);
  });
});

describe('payloadMode', () => {
  const hash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  const unsignedAdvice = /configure the client for unsigned payloads/;
  it.each([
    [[['Host', 'x']], 'absent'],
    [[['x-amz-content-sha256', 'UNSIGNED-PAYLOAD']], 'unsigned'],
    [[['X-Amz-Content-SHA256', hash]], 'sha256'],
    [[['x-amz-content-sha256', hash.toUpperCase()]], 'sha256'],
    [[['x-amz-content-sha256', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER']], 'unsigned-trailer'],
  ] as [[string, string][], string][])('%j → %s', (headers, kind) => {
    expect(payloadMode(headers)).toEqual({ kind });
  });

  it.each(['STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD', 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER'])('refuses %s and says what to do instead', (value) => {
    const mode = payloadMode([['x-amz-content-sha256', value]]);
    expect(mode.kind).toBe('refused');
    expect(mode.kind === 'refused' ? mode.reason : '').toMatch(unsignedAdvice);
  });

  it.each([
    [[['x-amz-content-sha256', 'unsigned-payload']]],
    [[['x-amz-content-sha256', hash.slice(1)]]],
    [[['x-amz-content-sha256', '']]],
    [[['x-amz-content-sha256', hash], ['X-Amz-Content-Sha256', hash]]],
  ] as [[string, string][]][])('refuses %j', (headers) => {
    expect(payloadMode(headers).kind).toBe('refused');
  });
});
