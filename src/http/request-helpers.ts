// Small request helpers shared by routes: ids in paths, If-Match, Link headers.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { VaultError, type ErrorCode } from '../contract/errors.js';
import { isId, type IdKind } from '../core/ids.js';

/** A malformed id answers exactly like a missing one. */
export function requireId(kind: IdKind, value: string, notFound: ErrorCode): string {
  if (!isId(kind, value)) throw new VaultError(notFound);
  return value;
}

/** `If-Match: "3"` (also `3` and `W/"3"`); `*` or absent means any version. */
export function parseIfMatch(request: FastifyRequest): number | null {
  const raw = request.headers['if-match'];
  if (raw === undefined || raw.trim() === '*') return null;
  const match = /^\s*(?:W\/)?"?([1-9][0-9]{0,9})"?\s*$/.exec(raw);
  if (!match?.[1]) throw new VaultError('invalid_request', 'If-Match must be a version number in quotes, e.g. "3"');
  return Number(match[1]);
}

/** Sets `Link: <…>; rel="next"` pointing at the same URL with the next cursor. */
export function setNextLink(request: FastifyRequest, reply: FastifyReply, param: string, value: string | null): void {
  if (value === null) return;
  const url = new URL(request.url, 'http://placeholder');
  url.searchParams.set(param, value);
  reply.header('link', `<${url.pathname}${url.search}>; rel="next"`);
}

/** 204 with no body (typed replies otherwise insist on a payload). */
export function noContent(reply: { code(status: number): unknown }): FastifyReply {
  return (reply.code(204) as FastifyReply).send();
}
