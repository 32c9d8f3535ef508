// The HTTP/2 side of an intercepted tunnel: a server for the sessions whose TLS chose h2 by ALPN,
// bounded like the HTTP/1.1 side, and the check that every stream names exactly the CONNECT authority.
import http2, { type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { parseAuthority, type Destination } from '../core/host-match.js';
import type { ConnectionLimits, ConnectionLog } from '../net/connections.js';
import { namesPlaceholder, placeholderInDestination } from './destination-guard.js';

/** Streams one session may have open at once (also what the proxy asks of each upstream). */
export const maxConcurrentStreams = 100;

export function createH2TunnelServer(limits: ConnectionLimits, log: ConnectionLog, onRequest: (req: Http2ServerRequest, res: Http2ServerResponse) => void): http2.Http2Server {
  const server = http2.createServer(
    {
      settings: { maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes, enablePush: false },
      maxHeaderListPairs: 256,
      // Memory a session may hold in nghttp2's buffers (MB); past it, new streams are refused.
      maxSessionMemory: 16,
    },
    onRequest,
  );
  server.on('session', (session) => {
    // A protocol error ends the session and its tunnel, never the process.
    session.on('error', (err: NodeJS.ErrnoException) => {
      log.debug({ code: err.code, err: err.message }, 'h2 session fault');
      session.destroy();
    });
    session.on('frameError', () => session.destroy());
    // No frame either way for the idle limit: the whole tunnel goes.
    session.setTimeout(limits.idleTimeoutMs, () => session.destroy());
  });
  server.on('sessionError', (err: NodeJS.ErrnoException) => log.debug({ code: err.code, err: err.message }, 'h2 session fault'));
  server.on('stream', (stream) => {
    stream.on('error', (err: NodeJS.ErrnoException) => log.debug({ code: err.code, err: err.message }, 'h2 stream fault'));
    // A stream whose body stalls is reset; the session's other streams go on.
    stream.setTimeout(limits.requestTimeoutMs, () => stream.close(http2.constants.NGHTTP2_CANCEL));
  });
  return server;
}

/**
 * The CONNECT authority is the only destination (SPEC §6): `:authority` (or Host, when a client sends
 * that instead) must name exactly it, and both must agree when both are sent. Extended CONNECT
 * (RFC 8441 WebSocket over HTTP/2) is not relayed.
 */
export function checkH2Request(req: Http2ServerRequest, destination: Destination): string | null {
  const headers = req.headers;
  const authority = headers[':authority'];
  const host = headers.host;
  if ((authority !== undefined && namesPlaceholder(authority)) || (host !== undefined && namesPlaceholder(host))) return placeholderInDestination;
  if (req.method === 'CONNECT') return 'CONNECT inside a tunnel is not supported';
  if (headers[':scheme'] !== 'https') return 'request target names another scheme';
  const named = authority ?? host;
  if (named === undefined) return 'exactly one Host header is required';
  if (authority !== undefined && host !== undefined && authority !== host) return 'Host does not match the CONNECT destination';
  const parsed = parseAuthority(named, 443);
  if (!parsed.ok || parsed.host !== destination.host || parsed.port !== destination.port) return 'Host does not match the CONNECT destination';
  return null;
}
