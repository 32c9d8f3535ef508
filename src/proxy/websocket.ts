// WebSocket through an intercepted tunnel: the upgrade request is rewritten like any request (its
// headers are the header surface), the upstream's 101 is checked and relayed, then frames flow
// through websocket-relay.ts. Any other answer is relayed as an ordinary response.
import { createHash } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { errorTable, type ErrorCode } from '../contract/errors.js';
import type { CompiledScrub } from '../core/scrub.js';
import type { ProxyAccess, ProxyAudits, ProxySecret } from '../services/proxy-service.js';
import { relayResponse } from './relay.js';
import { clientClosed, ownEchoScrub, responseScrub, rewriteRequest, type Rewritten } from './rewrite.js';
import { sendError, upstreamFailure } from './answers.js';
import type { Upstreams } from './upstream.js';
import { startWebSocketRelay } from './websocket-relay.js';

export interface WebSocketRelayInput {
  /** The agent's upgrade request, already checked (Host, credentials, kill switch). */
  req: IncomingMessage;
  /** A response bound to the tunnel socket: for refusals and an upstream's non-101 answer. */
  res: ServerResponse;
  /** The tunnel (decrypted) and the bytes read past the upgrade request's head. */
  socket: Duplex;
  head: Buffer;
  ctx: ProxyAccess;
  /** Where injections and refusals are put on record. */
  audits: ProxyAudits;
  /** The CONNECT authority, as Host for the upstream. */
  authority: string;
  upstreams: Upstreams;
  limits: { idleTimeoutMs: number; maxBufferedBody: number };
  logger: FastifyBaseLogger;
  /** Audits, logs and answers a refusal before the 101 (403 unless `code` says otherwise). */
  refuse(reason: string, o?: { secret?: ProxySecret | null; code?: ErrorCode; message?: string }): Promise<void>;
  /**
   * The agent's context as it is now, for a frame that carries a placeholder: its token checked
   * again and its status and values read again (a stop or a rotation applies to the next frame);
   * null when the token no longer authenticates the agent.
   */
  refresh(): Promise<ProxyAccess | null>;
}

const acceptGuid = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** What a server must answer in Sec-WebSocket-Accept for a client's key (RFC 6455 §4.2.2). */
export function webSocketAccept(key: string): string {
  return createHash('sha1').update(key + acceptGuid).digest('base64');
}

/** Sixteen bytes in base64 (RFC 6455 §4.1). */
const keyPattern = /^[A-Za-z0-9+/]{22}==$/;

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').trim().toLowerCase() === 'websocket';
}

/** Why the agent's upgrade request cannot be relayed, or null. */
function handshakeProblem(req: IncomingMessage): string | null {
  if (req.method !== 'GET') return 'a WebSocket upgrade must be a GET';
  if (!keyPattern.test(String(req.headers['sec-websocket-key'] ?? ''))) return 'bad Sec-WebSocket-Key';
  // The frame codec speaks version 13, the only one RFC 6455 defines.
  if (req.headers['sec-websocket-version'] !== '13') return 'unsupported Sec-WebSocket-Version';
  // Node does not read a body behind an upgrade head; one announced could only smuggle bytes.
  if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0) return 'a WebSocket upgrade carries no body';
  return null;
}

/** Why the upstream's 101 is not a plain WebSocket accept for `key`, or null. */
export function acceptProblem(headers: IncomingMessage['headers'], key: string): string | null {
  if ((headers.upgrade ?? '').trim().toLowerCase() !== 'websocket') return 'Upgrade is not websocket';
  if (!/(^|,)[ \t]*upgrade[ \t]*(,|$)/i.test(headers.connection ?? '')) return 'Connection does not name upgrade';
  if (headers['sec-websocket-accept'] !== webSocketAccept(key)) return 'Sec-WebSocket-Accept does not match the key';
  // Extensions were not offered; compressed frames could hide a placeholder or an echo.
  if (headers['sec-websocket-extensions'] !== undefined) return 'an extension was negotiated';
  return null;
}

const notRelayedIn101 = new Set(['connection', 'upgrade', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'transfer-encoding', 'content-length', 'te', 'trailer']);
const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const fieldText = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The 101 head for the agent, written raw to the tunnel: reason phrase, header names and values
 * scrubbed; null when a part is not something Node's own writer would send (no CR, LF or NUL).
 */
export function switchingHead(up: Pick<IncomingMessage, 'statusMessage' | 'rawHeaders'>, scrub: CompiledScrub | null): Buffer | null {
  const text = (t: string) => (scrub ? scrub.scrub(Buffer.from(t, 'latin1')).toString('latin1') : t);
  const reason = text(up.statusMessage ?? '');
  const lines = [`HTTP/1.1 101 ${reason}`, 'Upgrade: websocket', 'Connection: Upgrade'];
  let ok = fieldText.test(reason);
  for (let i = 0; i < up.rawHeaders.length; i += 2) {
    if (notRelayedIn101.has(up.rawHeaders[i]!.toLowerCase())) continue;
    const name = text(up.rawHeaders[i]!);
    const value = text(up.rawHeaders[i + 1]!);
    ok &&= token.test(name) && fieldText.test(value);
    lines.push(`${name}: ${value}`);
  }
  return ok ? Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1') : null;
}

/** Origin-form path: an absolute-form target (already checked to name the destination) loses its authority. */
function originPath(url: string): string {
  if (url.startsWith('/')) return url;
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}

export async function relayWebSocket(input: WebSocketRelayInput): Promise<void> {
  const { req, res, ctx, upstreams, limits } = input;
  const problem = handshakeProblem(req);
  if (problem) return input.refuse(problem, { code: 'proxy_bad_request', message: `bad WebSocket upgrade: ${problem}` });
  const rewritten = await rewriteRequest(req, ctx, { path: originPath(req.url ?? '/'), hostHeader: input.authority, maxBufferedBody: limits.maxBufferedBody });
  if (!rewritten.ok) {
    if (rewritten.status === clientClosed) return void res.destroy();
    return input.refuse(rewritten.reason, { secret: rewritten.secret });
  }
  const { request } = rewritten;
  const target = upstreams.target(ctx.destination.host, ctx.destination.port);
  if (!upstreams.literalAllowed(target.host)) return input.refuse('destination address not allowed', { code: 'destination_forbidden', message: errorTable.destination_forbidden.message });
  // Fail closed: the injection is on record before the value leaves.
  await input.audits.auditInjected(ctx, request.injected);
  if (input.socket.destroyed) return;
  dial(input, request, target);
}

/** The rewritten upgrade, without extension offers, on a connection of its own (never a pooled one). */
function dial(input: WebSocketRelayInput, request: Rewritten, target: { host: string; port: number }): void {
  const { res, ctx, upstreams, limits, logger } = input;
  const ownEcho = ownEchoScrub(request);
  const scrub = responseScrub(ownEcho, ctx.echo);
  const headers = request.headers.filter(([name]) => name.toLowerCase() !== 'sec-websocket-extensions');
  headers.push(['Connection', 'Upgrade'], ['Upgrade', 'websocket']);
  const upReq = https.request({
    host: target.host,
    port: target.port,
    method: 'GET',
    path: request.path,
    headers: headers.flat() as unknown as https.RequestOptions['headers'],
    setHost: false,
    agent: false,
    ...(ctx.destination.isIp ? {} : { servername: ctx.destination.host }),
    ...upstreams.dialOptions(),
  });
  let settled = false;
  const log = { agent_id: ctx.caller.agentId, host: ctx.destination.host };
  upReq.setTimeout(limits.idleTimeoutMs, () => upReq.destroy(Object.assign(new Error('upstream idle'), { code: 'EVAULTGATE_IDLE' })));
  input.socket.once('close', () => settled || upReq.destroy());
  upReq.on('response', (upRes) => {
    settled = true;
    upRes.on('error', (err) => logger.debug({ err: err.message }, 'upstream response fault'));
    try {
      relayResponse(upRes, res, scrub, (err) => logger.debug({ err: err.message }, 'relay ended early'));
    } catch (err) {
      logger.warn({ ...log, code: (err as NodeJS.ErrnoException).code }, 'upstream answer cannot be relayed');
      upRes.destroy();
      sendError(res, 'upstream_failed');
    }
  });
  upReq.on('upgrade', (upRes: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
    settled = true;
    upSocket.on('error', (err) => logger.debug({ err: err.message }, 'upstream websocket fault'));
    try {
      switchProtocols(input, upRes, upSocket, upHead, ownEcho, scrub);
    } catch (err) {
      // Whatever goes wrong here ends this connection, never the process.
      logger.warn({ ...log, err: (err as Error).message }, 'WebSocket relay could not start');
      upSocket.destroy();
      input.socket.destroy();
    }
  });
  upReq.on('error', (err: NodeJS.ErrnoException) => {
    if (settled) return;
    settled = true;
    if (input.socket.destroyed) return void logger.debug(log, 'agent left before the upstream answered');
    logger.warn({ ...log, code: err.code }, 'upstream error');
    const failure = upstreamFailure(err);
    if (failure === 'destination_forbidden') return void input.refuse('destination address not allowed', { code: failure, message: errorTable.destination_forbidden.message }).catch(() => sendError(res, 'internal'));
    sendError(res, failure);
  });
  upReq.end();
}

/** A 101 that is a plain WebSocket accept goes to the agent (scrubbed) and the frame relay starts; any other is a 502. */
function switchProtocols(input: WebSocketRelayInput, upRes: IncomingMessage, upSocket: Socket, upHead: Buffer, ownEcho: CompiledScrub | null, scrub: CompiledScrub | null): void {
  const { res, ctx, limits, logger } = input;
  const why = acceptProblem(upRes.headers, String(input.req.headers['sec-websocket-key']));
  const head = why === null ? switchingHead(upRes, scrub) : null;
  if (head === null || input.socket.destroyed) {
    if (head === null) logger.warn({ agent_id: ctx.caller.agentId, host: ctx.destination.host, reason: why ?? 'a 101 head that cannot be written' }, 'upstream WebSocket accept refused');
    upSocket.destroy();
    return sendError(res, 'upstream_failed');
  }
  // From here the relay owns both sockets and their idle limit.
  upSocket.setTimeout(0);
  input.socket.write(head);
  startWebSocketRelay({ client: input.socket, clientHead: input.head, upstream: upSocket, upstreamHead: upHead, ctx, audits: input.audits, refresh: () => input.refresh(), ownEcho, limits, logger });
}
