// Owns every accepted socket of a listener from its first byte: errors handled, connections
// capped in total and per source address, heads and idle time bounded (SPEC §9).
import type http from 'node:http';
import type { Server, Socket } from 'node:net';

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleTimeoutMs: number;
}

export interface ConnectionLog {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Options for `http.createServer` that only take effect at creation. Node enforces the head and
 * request timeouts from a periodic check, so it must run often enough for the timeouts to mean
 * what they say.
 */
export function httpServerOptions(limits: ConnectionLimits): http.ServerOptions {
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** A fault in one connection is that connection's: logged at debug level, never thrown at the process. */
export function ownSocket(socket: Socket, log: ConnectionLog, stage: string): void {
  socket.on('error', (err: NodeJS.ErrnoException) => log.debug({ stage, code: err.code, err: err.message }, 'connection fault'));
}

/**
 * Applies the limits to a listening-to-be server. Node drops connections past `maxConnections`
 * itself; the per-address cap closes a new connection at once, before any byte is read.
 */
export function guardListener(server: Server, limits: ConnectionLimits, log: ConnectionLog, name: string): void {
  server.maxConnections = limits.maxConnections;
  const perAddress = new Map<string, number>();
  let warned = 0;
  server.on('connection', (socket: Socket) => {
    ownSocket(socket, log, name);
    const address = socket.remoteAddress ?? '';
    const open = perAddress.get(address) ?? 0;
    if (open >= limits.maxConnectionsPerAddress) {
      // One warning a minute at most: the log must not become the flood.
      if (Date.now() - warned > 60_000) {
        warned = Date.now();
        log.warn({ listener: name, address, limit: limits.maxConnectionsPerAddress }, 'too many connections from one address');
      }
      socket.destroy();
      return;
    }
    perAddress.set(address, open + 1);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  });
}

/** For `http.Server`s: also an idle timeout on sockets while they speak HTTP. */
export function guardHttpServer(server: http.Server, limits: ConnectionLimits, log: ConnectionLog, name: string): void {
  guardListener(server, limits, log, name);
  server.setTimeout(limits.idleTimeoutMs);
}
