// Live audit wake-ups across nodes: LISTEN on a dedicated connection that reconnects by itself.
import pg from 'pg';
import { int, rowDecoder, text } from '../rows.js';
import type { AuditListener } from '../types.js';
import { auditChannel } from './pg-audit.js';
import { rowsOf } from './pg-tx.js';

const toHead = rowDecoder<{ org_id: string; seq: number }>({ org_id: text, seq: int });

export interface AuditHub {
  add(listener: AuditListener): () => void;
  /** This node's own commits, announced right after COMMIT; their NOTIFY echoes are then skipped. */
  announce(events: [string, number][]): void;
  close(): Promise<void>;
}

export interface AuditHubOptions {
  url: string;
  /** For the catch-up read after a reconnect (the LISTEN connection itself stays idle). */
  pool: pg.Pool;
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Listeners are woken once per new seq of an org, whichever way it arrives first: announced by
 * this node after its COMMIT (no round trip of latency for local SSE clients) or NOTIFYed by any
 * node. Skipping a seq at or below one already delivered loses nothing: seq N+1 is only taken
 * after seq N committed (the head row lock), so a listener re-reading after N+1 sees N too.
 * After a dropped LISTEN connection, the reconnect reads every chain head and wakes listeners
 * for each org that moved meanwhile, so no commit made while disconnected goes unannounced.
 */
export async function startAuditHub(opts: AuditHubOptions): Promise<AuditHub> {
  const minDelay = opts.minDelayMs ?? 100;
  const maxDelay = opts.maxDelayMs ?? 5000;
  const listeners = new Set<AuditListener>();
  const delivered = new Map<string, number>();
  let client: pg.Client | null = null;
  let timer: NodeJS.Timeout | null = null;
  let delay = minDelay;
  let closed = false;

  function deliver(org: string, seq: number, force = false): void {
    if (!force && seq <= (delivered.get(org) ?? 0)) return;
    delivered.set(org, Math.max(seq, delivered.get(org) ?? 0));
    for (const l of [...listeners]) {
      try {
        l(org, seq);
      } catch {
        // A listener's failure must neither fail a committed write nor stop the other listeners.
      }
    }
  }

  async function connect(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: opts.url, application_name: 'vaultgate-listen', keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    let dead = false;
    const lost = () => {
      if (dead) return;
      dead = true;
      if (client !== c) return;
      client = null;
      c.end().catch(() => undefined);
      reconnectSoon();
    };
    c.on('error', lost);
    c.on('end', lost);
    c.on('notification', (n) => {
      if (n.channel !== auditChannel || !n.payload) return;
      const at = n.payload.lastIndexOf(':');
      const seq = Number(n.payload.slice(at + 1));
      if (at > 0 && Number.isSafeInteger(seq)) deliver(n.payload.slice(0, at), seq);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${auditChannel}`);
      if (dead) throw new Error('the LISTEN connection was lost while subscribing');
      return c;
    } catch (err) {
      dead = true;
      await c.end().catch(() => undefined);
      throw err;
    }
  }

  async function catchUp(): Promise<void> {
    try {
      const heads = (await rowsOf(opts.pool, 'SELECT org_id, seq FROM audit_heads')).map(toHead);
      for (const h of heads) deliver(h.org_id, h.seq);
    } catch {
      // Could not read the heads: a spurious wake-up is harmless, a missed one is not.
      for (const [org, seq] of delivered) deliver(org, seq, true);
    }
  }

  function reconnectSoon(): void {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = null;
      connect().then(
        async (c) => {
          if (closed) return void (await c.end().catch(() => undefined));
          client = c;
          delay = minDelay;
          await catchUp();
        },
        () => {
          delay = Math.min(delay * 2, maxDelay);
          reconnectSoon();
        },
      );
    }, delay);
    timer.unref();
  }

  client = await connect();

  return {
    add(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    announce(events) {
      for (const [org, seq] of events) deliver(org, seq);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
