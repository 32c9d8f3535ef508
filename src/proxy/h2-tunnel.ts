// The HTTP/2 side of an intercepted tunnel: a server for the sessions whose TLS chose h2 by ALPN,
// bounded like the HTTP/1.1 side (what each stream may name is tunnel-rules.ts's).
import http2, { type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { ConnectionLimits, ConnectionLog } from '../net/connections.js';

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
