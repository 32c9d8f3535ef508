// Rewrites one request for its upstream: hop-by-hop headers out, placeholders in or a block.
import type { IncomingMessage } from 'node:http';
import type { ScrubValue } from '../core/scrub.js';
import { createSubstituter, encodeBytesURIComponent, substituteHeaderValue, substitutePercentEncoded, type Resolve } from '../core/substitution.js';
import type { ProxyRequestContext, ProxySecret as SecretRow, Surface } from '../services/proxy-service.js';

export const maxBodyBytes = 16 * 1024 * 1024;

const basicToken = /^[ \t]*basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i;
const hopByHop = new Set(['connection', 'expect', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

export interface Rewritten {
  path: string;
  /** Raw header pairs for the upstream, Host first. */
  headers: [string, string][];
  body: Buffer | null;
  /** secret id → surfaces its value went into. */
  injected: Map<string, Set<Surface>>;
  /**
   * The encoded forms the proxy itself wrote (percent-encoded values in the URL, re-encoded Basic
   * credentials), each mapped back to what the agent sent, so that an echo of them is scrubbed too.
   */
  echoForms: ScrubValue[];
}

export type RewriteResult = { ok: true; request: Rewritten } | { ok: false; status: number; reason: string; secret: SecretRow | null };

export function resolverFor(ctx: ProxyRequestContext, surface: Surface, injected: Map<string, Set<Surface>>, blockedSecret: { secret: SecretRow | null }, echoForms: ScrubValue[] = []): Resolve {
  return (placeholder) => {
    const decision = ctx.decide(placeholder, surface);
    if (decision.kind === 'block') {
      blockedSecret.secret = decision.secret;
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

function connectionListed(rawHeaders: string[]): Set<string> {
  const listed = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') for (const t of rawHeaders[i + 1]!.split(',')) listed.add(t.trim().toLowerCase());
  }
  return listed;
}

async function readBody(req: IncomingMessage, resolve: Resolve): Promise<{ body: Buffer } | { blocked: string } | { tooLarge: true }> {
  const sub = createSubstituter(resolve);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) return { tooLarge: true };
    parts.push(sub.push(chunk));
    if (sub.blocked) return { blocked: sub.blocked.reason };
  }
  parts.push(sub.end());
  if (sub.blocked) return { blocked: sub.blocked.reason };
  return { body: Buffer.concat(parts) };
}

/**
 * The body is read whole (up to 16 MiB) before anything is sent, so a request blocked by a
 * placeholder anywhere, even in its last byte, sends nothing upstream.
 */
export async function rewriteRequest(req: IncomingMessage, ctx: ProxyRequestContext, target: { path: string; hostHeader: string }): Promise<RewriteResult> {
  const injected = new Map<string, Set<Surface>>();
  const echoForms: ScrubValue[] = [];
  const blocked = { secret: null as SecretRow | null };
  const fail = (status: number, reason: string): RewriteResult => ({ ok: false, status, reason, secret: blocked.secret });

  const qAt = target.path.indexOf('?');
  const rawPath = qAt < 0 ? target.path : target.path.slice(0, qAt);
  const rawQuery = qAt < 0 ? null : target.path.slice(qAt + 1);
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
    if (hopByHop.has(lower) || dropped.has(lower)) continue;
    if (/vgph_/i.test(name)) return fail(403, 'placeholder in a header name');
    if (lower === 'content-length') continue;
    if (lower === 'content-encoding' && req.rawHeaders[i + 1]!.trim().toLowerCase() !== 'identity') encoded = true;
    const original = req.rawHeaders[i + 1]!;
    const value = substituteHeaderValue(original, headerResolve);
    if ('blocked' in value) return fail(403, value.blocked.reason);
    const sent = basicToken.exec(original)?.[1];
    const put = basicToken.exec(value.value)?.[1];
    if (sent && put && sent !== put) echoForms.push({ value: Buffer.from(put, 'latin1'), placeholder: Buffer.from(sent, 'latin1') });
    headers.push([name, value.value]);
  }

  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  let body: Buffer | null = null;
  if (hasBody) {
    // A compressed body could hide a placeholder from the scan: refuse it when the agent has any.
    if (encoded && ctx.holdsPlaceholders) return fail(403, 'compressed request bodies cannot be inspected');
    const read = await readBody(req, resolverFor(ctx, 'body', injected, blocked));
    if ('tooLarge' in read) return fail(413, 'request body too large for inspection (limit 16 MiB)');
    if ('blocked' in read) return fail(403, read.blocked);
    body = read.body;
    headers.push(['Content-Length', String(body.length)]);
  }
  // When a value went out, ask for an uncompressed answer so an echo of it can be scrubbed.
  if (injected.size > 0) {
    for (let i = headers.length - 1; i >= 0; i--) if (headers[i]![0].toLowerCase() === 'accept-encoding') headers.splice(i, 1);
    headers.push(['Accept-Encoding', 'identity']);
  }
  return { ok: true, request: { path: fullPath, headers, body, injected, echoForms } };
}
