// WebSocket through an intercepted tunnel (placeholder: refused until the relay lands).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { ErrorCode } from '../contract/errors.js';
import type { ProxyRequestContext, ProxySecret } from '../services/proxy-service.js';
import type { Upstreams } from './upstream.js';

export interface WebSocketRelayInput {
  /** The agent's upgrade request, already checked (Host, credentials, kill switch). */
  req: IncomingMessage;
  /** A response bound to the tunnel socket: for refusals and an upstream's non-101 answer. */
  res: ServerResponse;
  /** The tunnel (decrypted) and the bytes read past the upgrade request's head. */
  socket: Duplex;
  head: Buffer;
  ctx: ProxyRequestContext;
  /** The CONNECT authority, as Host for the upstream. */
  authority: string;
  upstreams: Upstreams;
  limits: { idleTimeoutMs: number; maxBufferedBody: number };
  logger: FastifyBaseLogger;
  /** Audits, logs and answers a refusal before the 101 (403 unless `code` says otherwise). */
  refuse(reason: string, o?: { secret?: ProxySecret | null; code?: ErrorCode; message?: string }): Promise<void>;
}

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').trim().toLowerCase() === 'websocket';
}

export async function relayWebSocket(input: WebSocketRelayInput): Promise<void> {
  await input.refuse('WebSocket is not supported');
}
