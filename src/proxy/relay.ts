// Relays an upstream response to the agent, replacing any echoed secret value by its placeholder.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { createScrubber, scrubAll, type ScrubValue } from '../core/scrub.js';

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function decoderFor(encoding: string | undefined) {
  switch ((encoding ?? 'identity').trim().toLowerCase()) {
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
 * Without injected values the response passes through untouched. With them, headers and body are
 * scrubbed; a compressed body (the upstream ignored `Accept-Encoding: identity`) is decompressed
 * first and sent uncompressed, since scrubbing compressed bytes cannot work.
 */
export function relayResponse(upstream: IncomingMessage, res: ServerResponse, values: ScrubValue[], onError: (err: Error) => void): void {
  const scrub = values.length > 0;
  const encoding = upstream.headers['content-encoding'];
  const decoder = scrub ? decoderFor(encoding) : null;
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
  res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, headers.flat());
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
  if (decoder) pipeline(upstream, decoder, transform, res, done);
  else pipeline(upstream, transform, res, done);
}
