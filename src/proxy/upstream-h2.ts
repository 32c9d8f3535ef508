// HTTP/2 to upstreams: which destinations speak it (learned from ALPN, remembered a while), and one
// multiplexed session per agent tunnel, dialled with the same address guard and trust.
import http2, { type ClientHttp2Session } from 'node:http2';
import type { LookupFunction } from 'node:net';
import tls, { type SecureContext } from 'node:tls';

export interface H2UpstreamOptions {
  lookup: LookupFunction;
  secureContext: SecureContext | undefined;
  /** A session with no open stream for this long is closed. */
  idleMs: number;
  /** How long an ALPN answer is trusted. */
  alpnTtlMs?: number;
  maxSessions?: number;
}

/** Where to dial (after the connect-to mapping) and the name TLS verifies. */
export interface H2Target {
  host: string;
  port: number;
  servername: string | undefined;
}

const probeTimeoutMs = 5_000;

export function createH2Upstreams(opts: H2UpstreamOptions) {
  const alpnTtl = opts.alpnTtlMs ?? 10 * 60_000;
  const maxSessions = opts.maxSessions ?? 1000;
  /** `host:port` → whether it chose h2, and until when that is believed. */
  const speaks = new Map<string, { h2: boolean; until: number }>();
  /** A tunnel → its session, connecting or connected. */
  const sessions = new WeakMap<object, Promise<ClientHttp2Session | null>>();
  /** Every session open, for close(). */
  const open = new Set<ClientHttp2Session>();

  const remember = (key: string, h2: boolean) => {
    speaks.delete(key);
    speaks.set(key, { h2, until: Date.now() + alpnTtl });
    if (speaks.size > maxSessions) speaks.delete(speaks.keys().next().value as string);
  };

  /** One TLS connection offering h2 first; resolves with the session when the upstream chose h2, else null. */
  function dial(target: H2Target, destinationKey: string): Promise<ClientHttp2Session | null> {
    return new Promise((resolve) => {
      const socket = tls.connect({
        host: target.host,
        port: target.port,
        servername: target.servername,
        ALPNProtocols: ['h2', 'http/1.1'],
        lookup: opts.lookup,
        ...(opts.secureContext ? { secureContext: opts.secureContext } : {}),
      });
      const timer = setTimeout(() => socket.destroy(new Error('upstream handshake timed out')), probeTimeoutMs);
      timer.unref();
      socket.once('error', () => {
        clearTimeout(timer);
        resolve(null);
      });
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        const h2 = socket.alpnProtocol === 'h2';
        remember(destinationKey, h2);
        if (!h2) {
          socket.destroy();
          return resolve(null);
        }
        const session = http2.connect(`https://${target.servername ?? target.host}:${target.port}`, { createConnection: () => socket });
        session.on('error', () => undefined);
        session.setTimeout(opts.idleMs, () => session.close());
        open.add(session);
        session.once('close', () => open.delete(session));
        resolve(session);
      });
    });
  }

  /** A probe's session, kept for the first tunnel of that agent to that destination. */
  const spare = new Map<string, ClientHttp2Session>();

  function keep(key: string, session: ClientHttp2Session): void {
    spare.get(key)?.close();
    spare.set(key, session);
    const forget = () => spare.get(key) === session && spare.delete(key);
    session.once('close', forget);
    session.once('goaway', forget);
    if (spare.size > maxSessions) {
      const [oldest, s] = spare.entries().next().value as [string, ClientHttp2Session];
      spare.delete(oldest);
      s.close();
    }
  }

  return {
    /** Whether the destination is known to speak h2: asks it (once a while) when not known. */
    async speaksH2(agentId: string, target: H2Target, destinationKey: string): Promise<boolean> {
      const known = speaks.get(destinationKey);
      if (known && known.until > Date.now()) return known.h2;
      const session = await dial(target, destinationKey);
      if (session) keep(`${agentId}\0${destinationKey}`, session);
      return session !== null;
    },

    /**
     * The session of one agent tunnel to the destination, or null when it does not speak h2 (or
     * cannot be reached). One per tunnel, never shared: a client that cancels streams by the
     * thousand (an upstream closes such a session) or stalls one only hurts its own requests.
     */
    session(tunnel: object, agentId: string, target: H2Target, destinationKey: string): Promise<ClientHttp2Session | null> {
      const open = sessions.get(tunnel);
      if (open) return open;
      const key = `${agentId}\0${destinationKey}`;
      const ready = spare.get(key);
      spare.delete(key);
      const made = ready && !ready.closed && !ready.destroyed ? Promise.resolve(ready) : dial(target, destinationKey);
      sessions.set(tunnel, made);
      void made.then((session) => {
        if (!session) return void sessions.delete(tunnel);
        const forget = () => sessions.get(tunnel) === made && sessions.delete(tunnel);
        session.once('close', forget);
        session.once('goaway', forget);
        session.once('error', forget);
      });
      return made;
    },

    /** The tunnel closed: so does its upstream session. */
    release(tunnel: object): void {
      void sessions.get(tunnel)?.then((session) => session?.close());
      sessions.delete(tunnel);
    },

    close(): void {
      for (const s of spare.values()) s.destroy();
      spare.clear();
      open.forEach((session) => session.destroy());
      open.clear();
    },
  };
}

export type H2Upstreams = ReturnType<typeof createH2Upstreams>;
