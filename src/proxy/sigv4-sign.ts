// Signs again, with the real key, a request an agent signed with placeholder AWS credentials
// (SPEC §10, `aws_sigv4`). The signing itself is @smithy/signature-v4's; this module only decides
// what it is given: the client's date, the headers the client signed, the wire path and query.
// Nothing here logs, and no result or error carries a key.
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { payloadMode, type SigV4Auth } from '../core/sigv4.js';

/** A request as the proxy will send it upstream. */
export interface SigV4Request {
  method: string;
  /** The Host header value as sent upstream (with a port when it has one). */
  host: string;
  /** Path and query exactly as on the wire (origin form). */
  target: string;
  /** The final header pairs, in order. */
  headers: readonly (readonly [string, string])[];
  /** Needed only when there is no x-amz-content-sha256 header (the body's hash is then signed); null is an empty body. */
  body: Buffer | null;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export type ResignResult = { ok: true; headers: [string, string][] } | { ok: false; reason: string };

const tokenHeader = 'x-amz-security-token';
const amzDate = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

class Sha256 extends Hash {
  constructor(secret?: ConstructorParameters<typeof Hash>[1]) {
    super('sha256', secret);
  }
}

/** `X-Amz-Date` as a Date, or null unless it is exactly `yyyymmddThhmmssZ`. */
function signingDate(value: string | undefined): Date | null {
  const m = value === undefined ? null : amzDate.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return date.getUTCDate() === d && date.getUTCHours() === h ? date : null;
}

/**
 * The raw query as the decoded key → value(s) object smithy canonicalises: smithy encodes each
 * decoded name and value per RFC 3986, which gives back the wire bytes of every SDK's query. `+` is
 * a plus, not a space. Null for an escape that is malformed or not UTF-8.
 */
export function queryForSigning(rawQuery: string): Record<string, string | string[]> | null {
  const decoded = new Map<string, string[]>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
    } catch {
      return null;
    }
    decoded.set(name, [...(decoded.get(name) ?? []), value]);
  }
  return Object.fromEntries([...decoded].map(([name, values]) => [name, values.length === 1 ? (values[0] ?? '') : values]));
}

/** Header values by lowercase name, repeated headers joined by commas as SigV4 canonicalises them. */
function headerValues(headers: SigV4Request['headers']): Map<string, string> {
  const values = new Map<string, string>();
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    const seen = values.get(lower);
    values.set(lower, seen === undefined ? value : `${seen},${value}`);
  }
  return values;
}

/**
 * The header pairs to send: the request's own, in order, with `Authorization` signed by
 * `credentials` (same region, service and date as the client's), `X-Amz-Security-Token` holding the
 * real session token (dropped, and not signed, when there is none), everything else unchanged. The
 * headers signed are those the client signed, plus x-amz-content-sha256 when present.
 */
export async function resignSigV4(request: SigV4Request, auth: SigV4Auth, credentials: AwsCredentials): Promise<ResignResult> {
  const mode = payloadMode(request.headers);
  if (mode.kind === 'refused') return { ok: false, reason: mode.reason };
  if (request.headers.filter(([name]) => name.toLowerCase() === 'authorization').length !== 1) return { ok: false, reason: 'an AWS request needs exactly one Authorization header' };
  const values = headerValues(request.headers);
  const date = signingDate(values.get('x-amz-date'));
  if (!date) return { ok: false, reason: 'an AWS request needs an X-Amz-Date header of the form yyyymmddThhmmssZ' };
  if (values.get('x-amz-date')?.slice(0, 8) !== auth.date) return { ok: false, reason: 'X-Amz-Date is not on the credential scope date' };
  if (!request.target.startsWith('/')) return { ok: false, reason: 'an AWS request target must be a path' };
  const q = request.target.indexOf('?');
  const query = queryForSigning(q < 0 ? '' : request.target.slice(q + 1));
  if (!query) return { ok: false, reason: 'the query string has a malformed percent-encoding' };

  values.set('host', request.host);
  const signed = new Set(auth.signedHeaders.filter((name) => name !== tokenHeader && name !== 'authorization' && values.has(name)));
  if (values.has('x-amz-content-sha256')) signed.add('x-amz-content-sha256');
  const headers = Object.fromEntries([...signed].map((name) => [name, values.get(name) ?? '']));
  const sessionToken = credentials.sessionToken || undefined;
  const signer = new SignatureV4({
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken },
    region: auth.region,
    service: auth.service,
    sha256: Sha256,
    uriEscapePath: auth.service !== 's3',
    applyChecksum: false,
  });
  const toSign = new HttpRequest({
    method: request.method,
    hostname: request.host,
    path: q < 0 ? request.target : request.target.slice(0, q),
    query,
    headers,
    body: mode.kind === 'absent' ? (request.body ?? undefined) : undefined,
  });
  let authorization: string;
  try {
    const out = await signer.sign(toSign, { signingDate: date, signableHeaders: new Set([...signed, tokenHeader, 'x-amz-date']) });
    authorization = String(out.headers.authorization);
  } catch {
    return { ok: false, reason: 'the request could not be signed' };
  }
  return { ok: true, headers: replaceAuth(request.headers, authorization, sessionToken) };
}

function replaceAuth(headers: SigV4Request['headers'], authorization: string, sessionToken: string | undefined): [string, string][] {
  const out: [string, string][] = [];
  let tokenSent = false;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === 'authorization') out.push([name, authorization]);
    else if (lower !== tokenHeader) out.push([name, value]);
    else if (sessionToken !== undefined && !tokenSent) {
      out.push([name, sessionToken]);
      tokenSent = true;
    }
  }
  if (sessionToken !== undefined && !tokenSent) out.push(['X-Amz-Security-Token', sessionToken]);
  return out;
}
