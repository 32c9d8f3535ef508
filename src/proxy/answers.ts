// Answers the proxy itself gives the agent: a JSON error on an HTTP/1.1 connection or an HTTP/2
// stream, and which error an upstream failure is.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants as http2Constants, Http2ServerResponse, type Http2ServerRequest } from 'node:http2';
import { VaultError, type ErrorCode } from '../contract/errors.js';
import { closeAfter } from './connection-turns.js';
import { ForbiddenDestinationError } from './upstream.js';

/** An answer to the agent, on an HTTP/1.1 connection or an HTTP/2 stream. */
export type AgentResponse = ServerResponse | Http2ServerResponse;
export type AgentRequest = IncomingMessage | Http2ServerRequest;

export const isH2 = (res: AgentResponse): res is Http2ServerResponse => res instanceof Http2ServerResponse;

export function sendError(res: AgentResponse, code: ErrorCode, message?: string, extraHeaders: Record<string, string> = {}): void {
  const err = new VaultError(code, message);
  const body = JSON.stringify({ error: err.message, code: err.code });
  if (isH2(res)) {
    // An HTTP/2 refusal ends its stream only: the session's other streams are framed apart.
    const { connection: _close, ...headers } = extraHeaders;
    if (res.stream.destroyed || res.writableEnded) return;
    if (res.headersSent) return void res.stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR);
    res.writeHead(err.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
    return void res.end(body);
  }
  // Every refusal closes the connection, and nothing pipelined behind it is processed.
  if (extraHeaders.connection === 'close') closeAfter(res);
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A relay that failed may have left the upstream's (unwritable) reason phrase behind.
  res.statusMessage = '';
  res.writeHead(err.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...extraHeaders });
  res.end(body);
}

/** The answer for an upstream that failed before it answered: its TLS, its address, or anything else. */
export function upstreamFailure(err: NodeJS.ErrnoException): ErrorCode {
  if (err instanceof ForbiddenDestinationError) return 'destination_forbidden';
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME/i.test(err.code ?? '') || /certificate/i.test(err.message);
  return tls ? 'upstream_tls_failed' : 'upstream_failed';
}
