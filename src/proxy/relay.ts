// Relays an upstream response to the agent, replacing any echoed secret value, in any of its
// common forms, by its placeholder: status reason, header names and values, body and trailers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { CompiledScrub } from '../core/scrub.js';

export const hopByHop = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function decoderFor(coding: string) {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return null;
  }
}

/**
 * Decoders undoing `Content-Encoding` and then any transfer coding besides the `chunked` that
 * Node already removed (codings are listed in the order applied, so undone in reverse); `null`
 * when a coding is unknown, since such a body cannot be scrubbed.
 */
export function decodersFor(contentEncoding: string | undefined, transferEncoding: string | undefined): Transform[] | null {
  const list = (v: string | undefined) => (v ?? '').split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity' && c !== 'chunked');
  const codings = [...list(contentEncoding), ...list(transferEncoding)];
  const decoders = codings.reverse().map(decoderFor);
  return decoders.every((d) => d !== null) ? (decoders) : null;
}

export const scrubText = (scrub: CompiledScrub | null, text: string) => (scrub ? scrub.scrub(Buffer.from(text, 'latin1')).toString('latin1') : text);

/** Raw header pairs without hop-by-hop fields, names and values scrubbed. */
export function relayedPairs(raw: string[], scrub: CompiledScrub | null, drop: (lower: string) => boolean): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (hopByHop.has(lower) || drop(lower)) continue;
    pairs.push([scrubText(scrub, name), scrubText(scrub, raw[i + 1]!)]);
  }
  return pairs;
}

/**
 * With no value that may reach this destination (`scrub` null), the response passes through as it
 * came. Otherwise the head, body and trailers are scrubbed; a compressed body (the upstream ignored
 * `Accept-Encoding: identity`) is decompressed first and sent uncompressed, and one in a coding
 * the proxy cannot undo is refused with a 502, since it could carry a value past the scrubber.
 */
export function relayResponse(upstream: IncomingMessage, res: ServerResponse, scrub: CompiledScrub | null, onError: (err: Error) => void): void {
  const decoders = scrub ? decodersFor(upstream.headers['content-encoding'], upstream.headers['transfer-encoding']) : [];
  if (decoders === null) {
    upstream.destroy();
    const body = JSON.stringify({ error: 'upstream request failed', code: 'upstream_failed' });
    res.writeHead(502, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const decoded = decoders.length > 0;
  // A scrubbed body may change length, so its Content-Length goes; an answer without a body (to HEAD,
  // or a 304) keeps it: there it states the representation's length (S3's HeadObject reads it).
  const bodiless = res.req?.method === 'HEAD' || upstream.statusCode === 304;
  const headers = relayedPairs(upstream.rawHeaders, scrub, (lower) => (scrub !== null && !bodiless && lower === 'content-length') || (decoded && lower === 'content-encoding'));
  res.writeHead(upstream.statusCode ?? 502, scrubText(scrub, upstream.statusMessage ?? ''), headers.flat());
  const body = scrub?.stream() ?? null;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      cb(null, body ? body.push(chunk) : chunk);
    },
    flush(cb) {
      // Trailers exist only on chunked messages; the upstream has ended, so they are known now.
      const trailers = relayedPairs(upstream.rawTrailers, scrub, () => false);
      try {
        if (trailers.length > 0) res.addTrailers(trailers);
      } catch {
        // A trailer Node refuses to write (a control character in it) is the upstream's fault: dropped.
      }
      cb(null, body ? body.end() : undefined);
    },
  });
  pipeline([upstream, ...decoders, transform, res], (err: NodeJS.ErrnoException | null) => err && onError(err));
}
