// Request bodies on their way upstream: scanned for placeholders in bounded memory, held whole
// only where one of the agent's values may go into the body for this destination.
import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import { createSubstituter, type Resolve } from '../core/substitution.js';

/**
 * A streamed body is first read this far before anything is sent: a request whose body ends
 * within it (nearly every API call) is blocked with nothing sent upstream, as a held body is.
 */
export const lookAheadBytes = 64 * 1024;

export type BodyOutcome =
  | { kind: 'whole'; body: Buffer }
  /** Longer than the look-ahead and nothing may be injected into it: `prefix`, then `rest` piped from the request. */
  | { kind: 'stream'; prefix: Buffer; rest: Transform }
  | { kind: 'blocked'; reason: string }
  | { kind: 'too_large' }
  /** The client went away before the body was read. */
  | { kind: 'aborted' };

export const placeholderInTrailer = 'placeholder in a trailer';

/**
 * Trailer fields are never forwarded (a held body goes out with a Content-Length, a streamed one
 * re-chunked without them; RFC 9112 §7.1.2 lets a recipient that removes the chunked coding discard
 * them), but one that names a placeholder still blocks the request, as a header would.
 */
function trailerNamesPlaceholder(req: IncomingMessage): boolean {
  return req.rawTrailers.some((field) => /vgph_/i.test(field));
}

export class BodyBlockedError extends Error {
  override name = 'BodyBlockedError';
  constructor(readonly reason: string) {
    super('request body blocked');
  }
}

/** Reads until `limit` bytes or the end, whichever is first; leaves the request paused. */
function readUpTo(req: IncomingMessage, limit: number): Promise<{ chunks: Buffer[]; size: number; ended: boolean } | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: { chunks: Buffer[]; size: number; ended: boolean } | null) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) {
        req.pause();
        done({ chunks, size, ended: false });
      }
    };
    const onEnd = () => done({ chunks, size, ended: true });
    const onClose = () => {
      if (!req.complete) done(null);
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    req.once('error', onClose);
    if (req.complete && req.readableEnded) done({ chunks, size, ended: true });
  });
}

/**
 * Plans the body: whole (up to `maxBuffered`, else too_large) when `injectable`, otherwise whole
 * if it ends within the look-ahead, else streamed through the same scanner. A streamed body is
 * byte-for-byte the agent's (no value can go into it), so its framing can stay as it was.
 */
export async function takeBody(req: IncomingMessage, resolve: Resolve, opts: { injectable: boolean; maxBuffered: number; lookAhead?: number }): Promise<BodyOutcome> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (opts.injectable && declared > opts.maxBuffered) return { kind: 'too_large' };
  const limit = opts.injectable ? opts.maxBuffered + 1 : (opts.lookAhead ?? lookAheadBytes);
  const read = limit === 0 ? { chunks: [], size: 0, ended: false } : await readUpTo(req, limit);
  if (!read) return { kind: 'aborted' };
  if (opts.injectable && read.size > opts.maxBuffered) return { kind: 'too_large' };
  const sub = createSubstituter(resolve);
  const parts = read.chunks.map((chunk) => sub.push(chunk));
  if (read.ended) parts.push(sub.end());
  if (sub.blocked) return { kind: 'blocked', reason: sub.blocked.reason };
  if (read.ended && trailerNamesPlaceholder(req)) return { kind: 'blocked', reason: placeholderInTrailer };
  if (read.ended) return { kind: 'whole', body: Buffer.concat(parts) };
  const rest = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const out = sub.push(chunk);
      cb(sub.blocked ? new BodyBlockedError(sub.blocked.reason) : null, out);
    },
    flush(cb) {
      const out = sub.end();
      // The trailers are parsed before the body's end, so before this flush.
      const reason = sub.blocked?.reason ?? (trailerNamesPlaceholder(req) ? placeholderInTrailer : null);
      cb(reason !== null ? new BodyBlockedError(reason) : null, out);
    },
  });
  return { kind: 'stream', prefix: Buffer.concat(parts), rest };
}
