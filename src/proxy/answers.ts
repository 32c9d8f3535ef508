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

/**
 * AWS SDKs and the AWS CLI read an error from XML (`<Error><Code>…`) and show a JSON body as a
 * parse failure, so a refusal of a SigV4-signed request is written their way: a block is
 * `AccessDenied`, a rate limit `SlowDown` (which they retry, after a pause).
 */
export type ErrorFormat = 'json' | 'aws-xml';

const awsCodes: Partial<Record<ErrorCode, string>> = { rate_limited: 'SlowDown', upstream_failed: 'ServiceUnavailable' };
const xmlEscape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Whether the request is signed with AWS Signature Version 4 (then its client expects AWS's error format). */
export function errorFormatOf(req: AgentRequest): ErrorFormat {
  const auth = req.headers.authorization;
  return typeof auth === 'string' && auth.trimStart().startsWith('AWS4-') ? 'aws-xml' : 'json';
}

/** Which error the proxy itself answered an exchange with (its metrics read the outcome from it). */
const answers = new WeakMap<AgentResponse, ErrorCode>();
export const answeredWith = (res: AgentResponse): ErrorCode | undefined => answers.get(res);

export function sendError(res: AgentResponse, code: ErrorCode, message?: string, extraHeaders: Record<string, string> = {}, format: ErrorFormat = 'json'): void {
  if (!res.writableEnded) answers.set(res, code);
  const err = new VaultError(code, message);
  const body =
    format === 'aws-xml'
      ? // The ErrorResponse wrapper is read alike by the REST-XML (S3) and query (STS, …) error parsers.
        `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender</Type><Code>${awsCodes[code] ?? 'AccessDenied'}</Code><Message>${xmlEscape(err.message)}</Message><VaultgateCode>${err.code}</VaultgateCode></Error></ErrorResponse>`
      : JSON.stringify({ error: err.message, code: err.code });
  const contentType = format === 'aws-xml' ? 'application/xml' : 'application/json; charset=utf-8';
  if (isH2(res)) {
    // An HTTP/2 refusal ends its stream only: the session's other streams are framed apart.
    const { connection: _close, ...headers } = extraHeaders;
    if (res.stream.destroyed || res.writableEnded) return;
    if (res.headersSent) return void res.stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR);
    res.writeHead(err.status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers });
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
  res.writeHead(err.status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...extraHeaders });
  res.end(body);
}

/** The answer for an upstream that failed before it answered: its TLS, its address, or anything else. */
export function upstreamFailure(err: NodeJS.ErrnoException): ErrorCode {
  if (err instanceof ForbiddenDestinationError) return 'destination_forbidden';
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME/i.test(err.code ?? '') || /certificate/i.test(err.message);
  return tls ? 'upstream_tls_failed' : 'upstream_failed';
}
