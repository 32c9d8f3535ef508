// One request of an HTTP/2 agent sent on the agent's HTTP/2 session to the upstream, and its answer
// relayed with the same scrubbing as HTTP/1.1, trailers included (gRPC's status travels in them).
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type Http2ServerRequest, type Http2ServerResponse, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { Transform, pipeline } from 'node:stream';
import type { CompiledScrub } from '../core/scrub.js';
import { decodersFor, relayedPairs } from './relay.js';
import { BodyBlockedError } from './request-body.js';
import type { Rewritten } from './rewrite.js';

export interface H2Exchange {
  req: Http2ServerRequest;
  res: Http2ServerResponse;
  request: Rewritten;
  scrub: CompiledScrub | null;
  session: ClientHttp2Session;
  idleTimeoutMs: number;
  /** Seconds from sending the request upstream to its response head (for the metrics). */
  headReceived?: (seconds: number) => void;
  debug(obj: object, msg: string): void;
  /** The upstream failed before it answered. */
  failed(err: NodeJS.ErrnoException): void;
  /** A placeholder was found in the streamed body: the upstream stream is already reset. */
  blocked(reason: string): void;
  /** The upstream's answer cannot be relayed safely (a coding that cannot be scrubbed): answer 502. */
  unrelayable(): void;
  /**
   * After a 401: the request again with fresh access tokens (SPEC §10's one retry), or null when it
   * may not be resent. Absent when the request is not retried.
   */
  retry?: () => Promise<{ request: Rewritten; scrub: CompiledScrub | null } | null>;
}

function append(headers: OutgoingHttpHeaders, name: string, value: string): void {
  const had = headers[name];
  if (had === undefined) headers[name] = value;
  else headers[name] = Array.isArray(had) ? [...had, value] : [String(had), value];
}

/** Raw pairs of a received HTTP/2 header block, pseudo-headers left out. */
function pairsOf(headers: IncomingHttpHeaders): string[] {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) raw.push(name, v);
  }
  return raw;
}

function headerBlock(pairs: [string, string][], start: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  for (const [name, value] of pairs) append(start, name.toLowerCase(), value);
  return start;
}

/** A message compressed by gRPC itself: the scrubber cannot see into it. */
function grpcCompressed(headers: IncomingHttpHeaders): boolean {
  const coding = headers['grpc-encoding'];
  return coding !== undefined && String(coding).trim().toLowerCase() !== 'identity';
}

export function forwardH2(x: H2Exchange): void {
  const head: OutgoingHttpHeaders = { ':method': x.req.method, ':scheme': 'https', ':path': x.request.path };
  for (const [name, value] of x.request.headers) append(head, name.toLowerCase() === 'host' ? ':authority' : name.toLowerCase(), value);
  const body = x.request.body;
  const sentAt = performance.now();
  const up = x.session.request(head, { endStream: body === null });
  let answered = false;
  let blocked = false;
  /** This stream's 401 was dropped for a retry: nothing more of it reaches the agent. */
  let superseded = false;
  up.setTimeout(x.idleTimeoutMs, () => up.close(http2.constants.NGHTTP2_CANCEL));
  up.on('error', (err: NodeJS.ErrnoException) => {
    // The pipeline destroys the stream with the block before its own callback sees it.
    if (blocked || superseded || err instanceof BodyBlockedError) return;
    if (!answered) return x.failed(err);
    x.debug({ code: err.code, err: err.message }, 'upstream h2 stream fault');
    x.res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  });
  up.once('response', (headers, flags) => {
    x.headReceived?.((performance.now() - sentAt) / 1000);
    answered = true;
    const retry = x.retry;
    if (Number(headers[':status']) === 401 && retry) {
      superseded = true;
      up.close(http2.constants.NGHTTP2_CANCEL);
      void retry()
        .then((next) => {
          if (x.res.stream.destroyed || x.res.stream.closed) return;
          if (!next) return x.unrelayable();
          forwardH2({ ...x, request: next.request, scrub: next.scrub, retry: undefined });
        })
        .catch((err: NodeJS.ErrnoException) => x.failed(err));
      return;
    }
    relayH2(up, headers, (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0, x);
  });
  // The agent went away (or reset its stream): so does the upstream stream.
  x.res.once('close', () => {
    if (!up.closed) up.close(http2.constants.NGHTTP2_CANCEL);
  });
  if (body === null) return;
  if (Buffer.isBuffer(body)) return void up.end(body);
  up.write(body.prefix);
  pipeline(x.req, body.rest, up, (err) => {
    if (!(err instanceof BodyBlockedError)) return;
    blocked = true;
    up.close(http2.constants.NGHTTP2_CANCEL);
    x.blocked(err.reason);
  });
}

function relayH2(up: ClientHttp2Stream, headers: IncomingHttpHeaders, ended: boolean, x: H2Exchange): void {
  const { scrub, res } = x;
  const decoders = scrub ? decodersFor(headers['content-encoding'], undefined) : [];
  if (decoders === null || (scrub !== null && grpcCompressed(headers))) {
    up.close(http2.constants.NGHTTP2_CANCEL);
    return x.unrelayable();
  }
  const decoded = decoders.length > 0;
  // An answer that ends with its headers (to HEAD, a 304) has no body to scrub: its Content-Length stays.
  const pairs = relayedPairs(pairsOf(headers), scrub, (lower) => (scrub !== null && !ended && lower === 'content-length') || (decoded && lower === 'content-encoding'));
  const out = headerBlock(pairs, { ':status': Number(headers[':status'] ?? 502) });
  try {
    // An answer that is only a header block (gRPC's trailers-only status) must stay one.
    if (ended) return void res.stream.respond(out, { endStream: true });
    res.stream.respond(out, { waitForTrailers: true });
  } catch {
    up.close(http2.constants.NGHTTP2_CANCEL);
    return x.unrelayable();
  }
  let trailers: IncomingHttpHeaders = {};
  up.once('trailers', (t: IncomingHttpHeaders) => (trailers = t));
  const stream = scrub?.stream() ?? null;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      cb(null, stream ? stream.push(chunk) : chunk);
    },
    flush(cb) {
      // The upstream's trailers arrive before its end; the compatibility response sends what is
      // added here when the stream asks for its trailers.
      res.addTrailers(headerBlock(relayedPairs(pairsOf(trailers), scrub, () => false)));
      cb(null, stream ? stream.end() : undefined);
    },
  });
  pipeline([up, ...decoders, transform, res.stream], (err: NodeJS.ErrnoException | null) => err && x.debug({ code: err.code, err: err.message }, 'h2 relay ended early'));
}
