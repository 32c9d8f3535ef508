// HTTP/2 to upstreams: which destinations speak it (learned from ALPN, remembered a while), and one
// multiplexed session per agent and destination, dialled with the same address guard and trust.
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
  /** `agent \0 host:port` → its session, connecting or connected. */
  const sessions = new Map<string, Promise<ClientHttp2Session | null>>();

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
        resolve(session);
      });
    });
  }

  return {
    /** Whether the destination is known to speak h2: asks it (once a while) when not known. */
    async speaksH2(agentId: string, target: H2Target, destinationKey: string): Promise<boolean> {
      const known = speaks.get(destinationKey);
      if (known && known.until > Date.now()) return known.h2;
      // The probe's connection is the agent's first session when the answer is yes.
      return (await this.session(agentId, target, destinationKey)) !== null;
    },

    /** The agent's session to the destination, or null when it does not speak h2 (or cannot be reached). */
    session(agentId: string, target: H2Target, destinationKey: string): Promise<ClientHttp2Session | null> {
      const key = `${agentId}\0${destinationKey}`;
      const open = sessions.get(key);
      if (open) return open;
      const made = dial(target, destinationKey);
      sessions.set(key, made);
      if (sessions.size > maxSessions) {
        const oldest = sessions.keys().next().value as string;
        void sessions.get(oldest)?.then((s) => s?.close());
        sessions.delete(oldest);
      }
      void made.then((session) => {
        if (!session) return void sessions.delete(key);
        const forget = () => {
          if (sessions.get(key) === made) sessions.delete(key);
        };
        session.once('close', forget);
        session.once('goaway', forget);
        session.once('error', forget);
      });
      return made;
    },

    close(): void {
      for (const s of sessions.values()) void s.then((session) => session?.destroy());
      sessions.clear();
    },
  };
}

export type H2Upstreams = ReturnType<typeof createH2Upstreams>;
