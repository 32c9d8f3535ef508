// Rewrites one request for its upstream: hop-by-hop headers out, placeholders in or a block.
import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import { chainScrubs, compileScrub, type CompiledScrub, type ScrubValue } from '../core/scrub.js';
import { encodeBytesURIComponent, substituteHeaderValue, substitutePercentEncoded, type Resolution, type Resolve } from '../core/substitution.js';
import { takeBody } from './request-body.js';
import { blockReason, decideSignature, resolvePlaceholder, type BlockCause, type PlaceholderResolution } from '../core/access.js';
import { readAwsCredentials } from '../core/credential-values.js';
import { parseSigV4Authorization, payloadMode, presignedAccessKey, type PayloadMode, type SigV4Auth } from '../core/sigv4.js';
import { resignSigV4, type AwsCredentials } from './sigv4-sign.js';
import type { ProxyAccess, ProxySecret as SecretRow, Surface } from '../services/proxy-service.js';

const basicToken = /^[ \t]*basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i;
const hopByHop = new Set(['connection', 'expect', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

export interface Rewritten {
  path: string;
  /** Raw header pairs for the upstream, Host first. */
  headers: [string, string][];
  /** Held whole, or a look-ahead prefix and the rest still streaming from the agent. */
  body: Buffer | { prefix: Buffer; rest: Transform } | null;
  /** secret id → surfaces its value went into. */
  injected: Map<string, Set<Surface>>;
  /**
   * The encoded forms the proxy itself wrote (percent-encoded values in the URL, re-encoded Basic
   * credentials), each mapped back to what the agent sent, so that an echo of them is scrubbed too.
   */
  echoForms: ScrubValue[];
  /** For a streamed body: the secret whose rule blocked it, once the scan past the look-ahead has. */
  blockedBy: BlockedBy;
}

/** Not a refusal: the agent went away mid-body, so there is nobody to answer and nothing to audit. */
export const clientClosed = 499;

export type RewriteResult = { ok: true; request: Rewritten } | { ok: false; status: number; reason: string; secret: SecretRow | null; cause?: BlockCause };

/** One placeholder found in one surface of this request, decided by the one rule (core/access). */
export function decideIn(access: ProxyAccess, placeholder: string, surface: Surface): PlaceholderResolution<SecretRow> {
  return resolvePlaceholder(access.held, placeholder, { destination: access.destination, surface, tls: access.tls, request: access.request });
}

/** Where a block came from: the secret whose rule refused, and which rule. */
export interface BlockedBy {
  secret: SecretRow | null;
  cause?: BlockCause;
}

export function resolverFor(ctx: ProxyAccess, surface: Surface, injected: Map<string, Set<Surface>>, blockedSecret: BlockedBy, echoForms: ScrubValue[] = []): Resolve {
  return (placeholder) => {
    const decision = decideIn(ctx, placeholder, surface);
    if (decision.kind === 'block') {
      blockedSecret.secret = decision.secret;
      blockedSecret.cause = decision.cause;
      return { kind: 'block', reason: decision.reason, secretId: decision.secret?.id ?? null };
    }
    const surfaces = injected.get(decision.secret.id) ?? new Set<Surface>();
    surfaces.add(surface);
    injected.set(decision.secret.id, surfaces);
    if (surface === 'path' || surface === 'query') {
      const encoded = Buffer.from(encodeBytesURIComponent(decision.value), 'latin1');
      if (!encoded.equals(decision.value)) echoForms.push({ value: encoded, placeholder: Buffer.from(placeholder, 'latin1') });
    }
    return { kind: 'inject', value: decision.value, secretId: decision.secret.id };
  };
}

/** A placeholder where no value may go: what blocks it is the secret's own rule, or the gRPC rule. */
function blockedAs(placeholder: string, ctx: ProxyAccess, blocked: BlockedBy): Resolution {
  const decision = decideIn(ctx, placeholder, 'body');
  blocked.secret = decision.secret;
  if (decision.kind === 'block') blocked.cause = decision.cause;
  const reason = decision.kind === 'block' ? decision.reason : placeholderInGrpcMessage;
  return { kind: 'block', reason, secretId: decision.secret?.id ?? null };
}

/**
 * Whether a Content-Encoding hides the body's bytes from the scan. `aws-chunked` (S3's framing of
 * a streamed upload, with its checksum in a trailer) does not: the bytes are there as sent.
 */
function compresses(contentEncoding: string): boolean {
  return contentEncoding.split(',').some((coding) => !['', 'identity', 'aws-chunked'].includes(coding.trim().toLowerCase()));
}

function connectionListed(rawHeaders: string[]): Set<string> {
  const listed = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') for (const t of rawHeaders[i + 1]!.split(',')) listed.add(t.trim().toLowerCase());
  }
  return listed;
}

/**
 * Path, query and headers are decided before anything is sent. The body is held whole (up to
 * `maxBufferedBody`) only where a value may go into it; otherwise it streams (request-body.ts).
 */
export interface RewriteTarget {
  path: string;
  hostHeader: string;
  maxBufferedBody: number;
  /** The agent spoke HTTP/2: pseudo-headers are not copied, and `TE: trailers` is kept for an h2 upstream. */
  http2?: boolean;
}

/** gRPC messages are length-prefixed binary: a value cannot be substituted into one without breaking it. */
export const placeholderInGrpcMessage = 'placeholder in a gRPC message';

export function isGrpc(req: IncomingMessage): boolean {
  return /^application\/grpc(\+|;|$)/i.test(String(req.headers['content-type'] ?? ''));
}

/** Whether a body follows the head: HTTP/2 says so with END_STREAM, HTTP/1.1 with its framing headers. */
function announcesBody(req: IncomingMessage, http2: boolean): boolean {
  if (http2) return !(req as unknown as { stream: { endAfterHeaders: boolean } }).stream.endAfterHeaders;
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

export async function rewriteRequest(req: IncomingMessage, ctx: ProxyAccess, target: RewriteTarget): Promise<RewriteResult> {
  const injected = new Map<string, Set<Surface>>();
  const echoForms: ScrubValue[] = [];
  const blocked: BlockedBy = { secret: null };
  const fail = (status: number, reason: string): RewriteResult => ({ ok: false, status, reason, secret: blocked.secret, cause: blocked.cause });

  const qAt = target.path.indexOf('?');
  const rawPath = qAt < 0 ? target.path : target.path.slice(0, qAt);
  const rawQuery = qAt < 0 ? null : target.path.slice(qAt + 1);
  const presigned = rawQuery === null ? null : presignedAccessKey(rawQuery);
  if (presigned !== null && ctx.held.get(presigned)?.part === 'access_key_id') {
    blocked.secret = ctx.held.get(presigned)!.secret;
    blocked.cause = 'credential_type';
    return fail(403, 'a URL presigned with a placeholder key cannot be signed again; send the request signed in its Authorization header');
  }
  // A request signed with an aws_sigv4 placeholder key: decided here, signed again once it is final.
  const signing = signingOf(req.rawHeaders, ctx);
  if (signing && !signing.ok) {
    blocked.secret = signing.secret;
    blocked.cause = signing.cause;
    return fail(403, signing.reason);
  }
  const path = substitutePercentEncoded(rawPath, resolverFor(ctx, 'path', injected, blocked, echoForms));
  if ('blocked' in path) return fail(403, path.blocked.reason);
  let fullPath = path.value;
  if (rawQuery !== null) {
    const query = substitutePercentEncoded(rawQuery, resolverFor(ctx, 'query', injected, blocked, echoForms));
    if ('blocked' in query) return fail(403, query.blocked.reason);
    fullPath += `?${query.value}`;
  }

  const dropped = connectionListed(req.rawHeaders);
  const headers: [string, string][] = [['Host', target.hostHeader]];
  const headerResolve = resolverFor(ctx, 'header', injected, blocked);
  let encoded = false;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (target.http2 && lower.startsWith(':')) continue;
    const keptTe = target.http2 && lower === 'te' && req.rawHeaders[i + 1]!.trim().toLowerCase() === 'trailers';
    if ((hopByHop.has(lower) && !keptTe) || dropped.has(lower)) continue;
    if (/vgph_/i.test(name)) return fail(403, 'placeholder in a header name');
    if (lower === 'content-length') continue;
    if (lower === 'content-encoding' && compresses(req.rawHeaders[i + 1]!)) encoded = true;
    const original = req.rawHeaders[i + 1]!;
    // The signature and the session token placeholder are the signer's to replace, below.
    if (signing && (lower === 'authorization' || (lower === 'x-amz-security-token' && original.trim() === signing.sessionPlaceholder))) {
      headers.push([name, original]);
      continue;
    }
    const value = substituteHeaderValue(original, headerResolve);
    if ('blocked' in value) return fail(403, value.blocked.reason);
    const sent = basicToken.exec(original)?.[1];
    const put = basicToken.exec(value.value)?.[1];
    if (sent && put && sent !== put) echoForms.push({ value: Buffer.from(put, 'latin1'), placeholder: Buffer.from(sent, 'latin1') });
    headers.push([name, value.value]);
  }

  const grpc = isGrpc(req);
  let body: Rewritten['body'] = null;
  if (announcesBody(req, target.http2 === true)) {
    // A compressed body could hide a placeholder from the scan: refuse it when the agent has any.
    if (encoded && ctx.held.size > 0) return fail(403, 'compressed request bodies cannot be inspected');
    // A gRPC stream may wait for answers between its messages: it streams from the first byte, and
    // any placeholder in it blocks (substituting would break the message framing).
    const bodyResolve: Resolve = grpc ? (placeholder) => blockedAs(placeholder, ctx, blocked) : resolverFor(ctx, 'body', injected, blocked);
    // A signed request without a payload hash header signs the hash of its body: it is held whole.
    const holdWhole = (ctx.bodyInjectable || signing?.mode === 'absent') && !grpc;
    const taken = await takeBody(req, bodyResolve, { injectable: holdWhole, maxBuffered: target.maxBufferedBody, lookAhead: grpc ? 0 : undefined });
    if (taken.kind === 'too_large') return fail(413, `request body too large for inspection (limit ${target.maxBufferedBody} bytes)`);
    if (taken.kind === 'blocked') return fail(403, taken.reason);
    if (taken.kind === 'aborted') return fail(clientClosed, 'the client closed the request before its body ended');
    if (taken.kind === 'whole') {
      body = taken.body;
      headers.push(['Content-Length', String(taken.body.length)]);
    } else {
      body = taken;
      const length = req.headers['content-length'];
      if (length !== undefined && req.headers['transfer-encoding'] === undefined) headers.push(['Content-Length', length]);
    }
  }
  if (signing) {
    // A hash of the body, or checksums in its trailer, commit to the bytes the agent sent.
    const bodyChanged = [...injected.values()].some((surfaces) => surfaces.has('body'));
    if (bodyChanged && signing.mode !== 'absent' && signing.mode !== 'unsigned') {
      return fail(403, 'a placeholder in the body of an AWS request whose payload hash is signed; send it with UNSIGNED-PAYLOAD');
    }
    const signed = await resignSigV4(
      { method: req.method ?? 'GET', host: target.hostHeader, target: fullPath, headers, body: Buffer.isBuffer(body) ? body : null },
      signing.auth,
      signing.credentials,
    );
    if (!signed.ok) {
      blocked.secret = signing.secret;
      return fail(403, signed.reason);
    }
    headers.splice(0, headers.length, ...signed.headers);
    const surfaces = injected.get(signing.secret.id) ?? new Set<Surface>();
    injected.set(signing.secret.id, surfaces.add('header'));
  }
  // When an answer from here is scrubbed (always so where a value went), ask for it uncompressed.
  if (ctx.echo !== null) {
    const coding = grpc ? 'grpc-accept-encoding' : 'accept-encoding';
    for (let i = headers.length - 1; i >= 0; i--) if (headers[i]![0].toLowerCase() === coding) headers.splice(i, 1);
    headers.push([grpc ? 'grpc-accept-encoding' : 'Accept-Encoding', 'identity']);
  }
  return { ok: true, request: { path: fullPath, headers, body, injected, echoForms, blockedBy: blocked } };
}

type Signing =
  | { ok: true; secret: SecretRow; auth: SigV4Auth; credentials: AwsCredentials; sessionPlaceholder: string | null; mode: PayloadMode['kind'] }
  | { ok: false; secret: SecretRow; reason: string; cause: BlockCause | undefined };

/**
 * Whether the request is signed with an aws_sigv4 placeholder access key the agent holds, and if so
 * whether that secret may sign it (core/access `decideSignature`) and with what. Null: not such a
 * request (a SigV4 request signed with any other key id passes as it is; a placeholder in it is
 * found by the scan like any other).
 */
function signingOf(rawHeaders: string[], ctx: ProxyAccess): Signing | null {
  const authorizations: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === 'authorization') authorizations.push(rawHeaders[i + 1]!);
  const auth = authorizations.length === 1 ? parseSigV4Authorization(authorizations[0]!) : null;
  const entry = auth && ctx.held.get(auth.accessKeyId);
  if (!auth || !entry || entry.part !== 'access_key_id') return null;
  const { secret } = entry;
  const verdict = decideSignature(secret, { destination: ctx.destination, tls: ctx.tls, request: ctx.request }, auth);
  if (!verdict.inject) return { ok: false, secret, reason: verdict.reason, cause: verdict.cause };
  if (entry.value === null) return { ok: false, secret, reason: blockReason.unavailable, cause: 'unavailable' };
  const pairs: [string, string][] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) pairs.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  const mode = payloadMode(pairs);
  if (mode.kind === 'refused') return { ok: false, secret, reason: mode.reason, cause: undefined };
  const aws = readAwsCredentials(entry.value.toString('utf8'));
  const sessionPlaceholder = [...ctx.held].find(([, h]) => h.secret.id === secret.id && h.part === 'session_token')?.[0] ?? null;
  return {
    ok: true,
    secret,
    auth,
    credentials: { accessKeyId: aws.access_key_id, secretAccessKey: aws.secret_access_key, sessionToken: aws.session_token },
    sessionPlaceholder,
    mode: mode.kind,
  };
}

/** The forms this request itself wrote (a re-encoded Basic credential), as a scrubber; null when none. */
export function ownEchoScrub(request: Rewritten): CompiledScrub | null {
  return request.echoForms.length > 0 ? compileScrub(request.echoForms) : null;
}

/** What an answer is scrubbed of: the request's own forms in front of the destination's values. */
export function responseScrub(own: CompiledScrub | null, echo: CompiledScrub | null): CompiledScrub | null {
  return own && echo ? chainScrubs(own, echo) : (own ?? echo);
}

/**
 * The request with one injected value replaced by another everywhere it went (an OAuth access token
 * renewed after a 401): in the path and query (also percent-encoded), the headers and a held body.
 */
export function replaceInjected(request: Rewritten, old: Buffer, fresh: Buffer): Rewritten {
  const swap = (text: string) => text.split(old.toString('latin1')).join(fresh.toString('latin1'));
  const encodedOld = encodeBytesURIComponent(old);
  const path = swap(request.path).split(encodedOld).join(encodeBytesURIComponent(fresh));
  const headers = request.headers.map(([name, value]): [string, string] => [name, swap(value)]);
  let body = request.body;
  if (Buffer.isBuffer(body) && body.includes(old)) {
    body = Buffer.from(swap(body.toString('latin1')), 'latin1');
    const at = headers.findIndex(([name]) => name.toLowerCase() === 'content-length');
    if (at >= 0) headers[at] = [headers[at]![0], String(body.length)];
  }
  return { ...request, path, headers, body };
}
