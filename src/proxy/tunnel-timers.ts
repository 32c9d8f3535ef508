// Time limits of the requests inside one intercepted tunnel: Node enforces head and request
// timeouts only on sockets a listening server accepted, so a tunnel keeps its own.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface TunnelTimerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleTimeoutMs: number;
}

export interface TunnelTimers {
  /** A request head was parsed: its body has `requestTimeoutMs` to arrive. */
  requestStarted(req: IncomingMessage, res: ServerResponse): void;
  /** The tunnel now carries an upgraded protocol (WebSocket): only the idle limit still applies. */
  upgraded(): void;
}

/**
 * From the handshake, the first head must arrive within `headersTimeoutMs`; after each response,
 * the next within `keepAliveTimeoutMs + headersTimeoutMs` (idle, then a head as slow as allowed).
 * A tunnel with no byte either way for `idleTimeoutMs` is closed. Every limit closes the tunnel.
 */
export function startTunnelTimers(socket: TLSSocket, limits: TunnelTimerLimits): TunnelTimers {
  let head: NodeJS.Timeout | null = null;
  let inFlight = 0;
  const cut = () => socket.destroy();
  const awaitHead = (ms: number) => {
    if (head) clearTimeout(head);
    head = setTimeout(cut, ms);
    head.unref();
  };
  awaitHead(limits.headersTimeoutMs);
  socket.setTimeout(limits.idleTimeoutMs);
  socket.on('timeout', cut);
  socket.once('close', () => head && clearTimeout(head));
  return {
    upgraded() {
      if (head) clearTimeout(head);
      head = null;
    },
    requestStarted(req, res) {
      inFlight++;
      if (head) clearTimeout(head);
      head = null;
      const body = setTimeout(cut, limits.requestTimeoutMs);
      body.unref();
      const bodyDone = () => clearTimeout(body);
      req.once('end', bodyDone);
      req.once('close', bodyDone);
      res.once('finish', () => {
        inFlight--;
        if (inFlight === 0 && !socket.destroyed) awaitHead(limits.keepAliveTimeoutMs + limits.headersTimeoutMs);
      });
    },
  };
}
