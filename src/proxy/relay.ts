// Relays an upstream response to the agent, replacing any echoed secret value by its placeholder.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { createScrubber, scrubAll, type ScrubValue } from '../core/scrub.js';

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

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
function decodersFor(contentEncoding: string | undefined, transferEncoding: string | undefined): Transform[] | null {
  const list = (v: string | undefined) => (v ?? '').split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity' && c !== 'chunked');
  const codings = [...list(contentEncoding), ...list(transferEncoding)];
  const decoders = codings.reverse().map(decoderFor);
  return decoders.every((d) => d !== null) ? (decoders as Transform[]) : null;
}

/**
 * Without injected values the response passes through untouched. With them, headers and body are
 * scrubbed; a compressed body (the upstream ignored `Accept-Encoding: identity`) is decompressed
 * first and sent uncompressed, since scrubbing compressed bytes cannot work.
 */
export function relayResponse(upstream: IncomingMessage, res: ServerResponse, values: ScrubValue[], onError: (err: Error) => void): void {
  const scrub = values.length > 0;
  const decoders = scrub ? decodersFor(upstream.headers['content-encoding'], upstream.headers['transfer-encoding']) : [];
  if (decoders === null) {
    // A body in a coding we cannot undo could carry the value past the scrubber: refuse it.
    upstream.destroy();
    const body = JSON.stringify({ error: 'upstream request failed', code: 'upstream_failed' });
    res.writeHead(502, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const decoder = decoders.length > 0;
  const headers: [string, string][] = [];
  for (let i = 0; i < upstream.rawHeaders.length; i += 2) {
    const name = upstream.rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (hopByHop.has(lower)) continue;
    if (scrub && lower === 'content-length') continue;
    if (decoder && lower === 'content-encoding') continue;
    const value = upstream.rawHeaders[i + 1]!;
    headers.push([name, scrub ? scrubAll(Buffer.from(value, 'latin1'), values).toString('latin1') : value]);
  }
  const reason = upstream.statusMessage ?? '';
  res.writeHead(upstream.statusCode ?? 502, scrub ? scrubAll(Buffer.from(reason, 'latin1'), values).toString('latin1') : reason, headers.flat());
  if (!scrub) {
    pipeline(upstream, res, (err) => err && onError(err));
    return;
  }
  const scrubber = createScrubber(values);
  const transform = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      cb(null, scrubber.push(chunk));
    },
    flush(cb) {
      cb(null, scrubber.end());
    },
  });
  const done = (err: NodeJS.ErrnoException | null) => err && onError(err);
  pipeline([upstream, ...decoders, transform, res], done);
}
