// AWS Signature Version 4 as the proxy reads it (SPEC §10, `aws_sigv4`): the Authorization header,
// the access key of a presigned URL, the region and service a secret may sign for, and which
// payload modes can be signed again. Parsing is exact: anything malformed is null, never guessed.

/** One parsed `AWS4-HMAC-SHA256` Authorization header. */
export interface SigV4Auth {
  accessKeyId: string;
  /** The credential scope's date, `yyyymmdd`. */
  date: string;
  region: string;
  service: string;
  /** Lowercase, in the order the client listed them. */
  signedHeaders: string[];
  /** 64 hex digits. */
  signature: string;
}

/** Spaces and tabs only: a CR or LF anywhere makes the header malformed. */
const trimBlanks = (s: string) => s.replace(/^[ \t]+|[ \t]+$/g, '');
/** An access key id: anything but the scope's separator, commas and whitespace (placeholders have `_`). */
const accessKeyPattern = /^[^/,\s=]+$/;
/** Region and service names are echoed in refusals, so they are held to a plain alphabet. */
const scopeNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** RFC 9110 token characters, lowercase as SigV4 requires. */
const headerNamePattern = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

function parseCredential(value: string): Pick<SigV4Auth, 'accessKeyId' | 'date' | 'region' | 'service'> | null {
  const parts = value.split('/');
  if (parts.length !== 5) return null;
  const [accessKeyId = '', date = '', region = '', service = '', terminator] = parts;
  if (terminator !== 'aws4_request' || !accessKeyPattern.test(accessKeyId) || !/^\d{8}$/.test(date)) return null;
  if (!scopeNamePattern.test(region) || !scopeNamePattern.test(service)) return null;
  return { accessKeyId, date, region, service };
}

function parseSignedHeaders(value: string): string[] | null {
  const names = value.split(';').map((n) => n.toLowerCase());
  if (names.some((n) => !headerNamePattern.test(n)) || new Set(names).size !== names.length) return null;
  return names;
}

/**
 * `AWS4-HMAC-SHA256 Credential=<akid>/<date>/<region>/<service>/aws4_request, SignedHeaders=a;b,
 * Signature=<hex>`: the three components once each, in any order, separated by commas with optional
 * whitespace around them. Any other algorithm, component or shape is null.
 */
export function parseSigV4Authorization(value: string): SigV4Auth | null {
  const m = /^[ \t]*AWS4-HMAC-SHA256[ \t]+([^]*?)[ \t]*$/.exec(value);
  if (!m?.[1]) return null;
  const fields = new Map<string, string>();
  for (const component of m[1].split(',')) {
    const eq = component.indexOf('=');
    const name = trimBlanks(component.slice(0, eq));
    const val = trimBlanks(component.slice(eq + 1));
    if (eq < 0 || fields.has(name) || !/^[A-Za-z]+$/.test(name) || !/^[\x21-\x7e]+$/.test(val)) return null;
    fields.set(name, val);
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (fields.size !== 3 || !credential || !signedHeaders || !signature) return null;
  const scope = parseCredential(credential);
  const headers = parseSignedHeaders(signedHeaders);
  if (!scope || !headers || !/^[0-9a-f]{64}$/i.test(signature)) return null;
  return { ...scope, signedHeaders: headers, signature };
}

/** Percent-decodes valid `%XX` runs that form UTF-8 and leaves anything else as written. */
function lenientDecode(s: string): string {
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/**
 * The access key id of a presigned URL's `X-Amz-Credential` (name matched case-insensitively, both
 * percent-decoded), from a raw query string with or without its `?`; null when there is none. The
 * first such parameter counts: AWS reads one, and the proxy refuses a presigned URL whatever it holds.
 */
export function presignedAccessKey(query: string): string | null {
  const raw = query.startsWith('?') ? query.slice(1) : query;
  for (const pair of raw.split('&')) {
    const eq = pair.indexOf('=');
    const name = lenientDecode(eq < 0 ? pair : pair.slice(0, eq));
    if (name.toLowerCase() !== 'x-amz-credential') continue;
    const value = eq < 0 ? '' : lenientDecode(pair.slice(eq + 1));
    const accessKeyId = value.split('/')[0] ?? '';
    return accessKeyId === '' ? null : accessKeyId;
  }
  return null;
}

export interface SigV4Scope {
  regions: readonly string[];
  services: readonly string[];
}

export type ScopeVerdict = { ok: true } | { ok: false; reason: string };

/** The request's region and service must each be listed on the secret (compared in lowercase). */
export function checkSigV4Scope(allowed: SigV4Scope, auth: Pick<SigV4Auth, 'region' | 'service'>): ScopeVerdict {
  const listed = (list: readonly string[], name: string) => list.some((entry) => entry.toLowerCase() === name.toLowerCase());
  if (!listed(allowed.regions, auth.region)) return { ok: false, reason: `region ${auth.region} is not among the regions this secret may sign for` };
  if (!listed(allowed.services, auth.service)) return { ok: false, reason: `service ${auth.service} is not among the services this secret may sign for` };
  return { ok: true };
}

/**
 * What `x-amz-content-sha256` says about the body. `absent`, `unsigned`, `sha256` and
 * `unsigned-trailer` (aws-chunked with unsigned chunks) are covered by the request's one signature;
 * signed streaming chains a signature per chunk from it, so it is refused with what to do instead.
 */
export type PayloadMode =
  | { kind: 'absent' | 'unsigned' | 'sha256' | 'unsigned-trailer' }
  | { kind: 'refused'; reason: string };

const signedStreaming = /^STREAMING-(AWS4-HMAC-SHA256|AWS4-ECDSA-P256-SHA256)-PAYLOAD(-TRAILER)?$/;

export function payloadMode(headers: readonly (readonly [string, string])[]): PayloadMode {
  const values = headers.filter(([name]) => name.toLowerCase() === 'x-amz-content-sha256').map(([, v]) => v.trim());
  if (values.length === 0) return { kind: 'absent' };
  if (values.length > 1) return { kind: 'refused', reason: 'more than one x-amz-content-sha256 header' };
  const value = values[0] ?? '';
  if (value === 'UNSIGNED-PAYLOAD') return { kind: 'unsigned' };
  if (value === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') return { kind: 'unsigned-trailer' };
  if (/^[0-9a-f]{64}$/i.test(value)) return { kind: 'sha256' };
  if (signedStreaming.test(value)) {
    return { kind: 'refused', reason: 'signed streaming payloads (aws-chunked with chunk signatures) cannot be signed again; configure the client for unsigned payloads (UNSIGNED-PAYLOAD or STREAMING-UNSIGNED-PAYLOAD-TRAILER)' };
  }
  return { kind: 'refused', reason: 'x-amz-content-sha256 is neither a SHA-256 hash nor a known payload mode' };
}
