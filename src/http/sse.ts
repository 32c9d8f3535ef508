// Server-Sent Events for the audit chain: the store is the source, live notices only wake us.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditEvent } from '../contract/schemas.js';
import type { AuditService } from '../services/audit-service.js';

const batchSize = 500;

export interface StreamOptions {
  orgId: string;
  afterSeq: number;
  filter: { type?: string | undefined; actor?: string | undefined; secretId?: string | undefined };
  heartbeatMs: number;
  /** How long a client may leave a full buffer unread before the stream is cut. */
  stallMs: number;
  openStreams: Set<() => void>;
}

/** One SSE frame; `id` and `event` are numbers and known type names, never free text with CR/LF. */
export function sseFrame(event: AuditEvent): string {
  return `id: ${event.seq}\nevent: ${event.type.replace(/[\r\n]/g, '')}\ndata: ${JSON.stringify(event)}\n\n`;
}

export function streamAudit(request: FastifyRequest, reply: FastifyReply, audit: AuditService, opts: StreamOptions): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(request.id),
  });
  res.write('retry: 2000\n\n');

  let last = opts.afterSeq;
  let pumping = false;
  let again = false;
  let closed = false;

  // Reads everything after `last` in order; wake-ups during a pump schedule one more pass,
  // so an event committed at any moment is sent exactly once.
  async function pump(): Promise<void> {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        for (;;) {
          const events = await audit.list(opts.orgId, { ...opts.filter, afterSeq: last, limit: batchSize });
          for (const event of events) {
            if (closed) return;
            if (!res.write(sseFrame(event)) && !(await drained())) return;
            last = event.seq;
          }
          if (events.length < batchSize) break;
        }
      } while (again && !closed);
    } catch (err) {
      request.log.error({ err }, 'audit stream failed');
      res.end();
    } finally {
      pumping = false;
    }
  }

  /**
   * Waits until the client has read what is buffered. A client that stops reading is cut after
   * `stallMs` (its buffer never grows past one batch), and one that leaves ends the wait.
   */
  function drained(): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        res.off('drain', onDrain);
        res.off('close', onClose);
        if (!ok) res.destroy();
        resolve(ok);
      };
      const onDrain = () => finish(true);
      const onClose = () => finish(false);
      const timer = setTimeout(() => finish(false), opts.stallMs);
      res.once('drain', onDrain);
      res.once('close', onClose);
    });
  }

  const unsubscribe = audit.subscribe(opts.orgId, () => void pump());
  // Heartbeats are skipped while the client is behind: they only prove the connection is alive.
  const heartbeat = setInterval(() => res.writableNeedDrain || res.write(': heartbeat\n\n'), opts.heartbeatMs);
  heartbeat.unref();
  const stop = () => {
    closed = true;
    clearInterval(heartbeat);
    unsubscribe();
    opts.openStreams.delete(end);
  };
  const end = () => {
    stop();
    res.end();
  };
  opts.openStreams.add(end);
  request.raw.on('close', stop);
  res.on('close', stop);
  void pump();
}
