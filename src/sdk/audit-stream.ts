// Following the audit SSE feed: frame parsing and reconnects that resume by Last-Event-ID.
import type { AuditEvent } from '../contract/schemas.js';
import { buildUrl, VaultgateError, type Transport } from './http.js';

// A type alias (not an interface) so that it fits the query-string record type.
export type AuditFilter = {
  type?: string;
  actor?: string;
  secret_id?: string;
};

export interface FollowOptions extends AuditFilter {
  /** Start after this seq (0: from the first event). */
  after?: number;
  signal?: AbortSignal;
  /** Called when the connection drops or a reconnect fails; the follower keeps retrying. */
  onDisconnect?: (error: VaultgateError) => void;
  /** Called when a connection opens after a drop. */
  onReconnect?: () => void;
  /** Called each time a connection opens, the first one included (e.g. to show "live"). */
  onConnect?: () => void;
  /** Wait before a reconnect until the server names its own (`retry:`). */
  retryMs?: number;
}

interface SseFrame {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/** Splits an SSE byte stream into frames; comments and unknown fields are skipped. */
export function createSseParser(onFrame: (frame: SseFrame) => void, onRetry: (ms: number) => void) {
  let buffer = '';
  let frame: SseFrame = { id: undefined, event: undefined, data: '' };
  let hasData = false;
  return (text: string) => {
    buffer += text;
    for (;;) {
      const end = buffer.search(/\r\n|\r|\n/);
      if (end === -1) return;
      // A lone CR at the very end might be the first half of CRLF: wait for more.
      if (buffer[end] === '\r' && end === buffer.length - 1) return;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
      if (line === '') {
        if (hasData) onFrame(frame);
        frame = { id: undefined, event: undefined, data: '' };
        hasData = false;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') {
        frame.data = hasData ? `${frame.data}\n${value}` : value;
        hasData = true;
      } else if (field === 'id') frame.id = value;
      else if (field === 'event') frame.event = value;
      else if (field === 'retry' && /^\d+$/.test(value)) onRetry(Number(value));
    }
  };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

async function errorOf(res: Response): Promise<VaultgateError> {
  const text = await res.text().catch(() => '');
  let body: { error?: string; code?: VaultgateError['code'] } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // Not JSON: keep the status alone.
  }
  return new VaultgateError(res.status, body.code ?? 'internal', body.error ?? `HTTP ${res.status}`);
}

/** One connection to the stream, resuming after `last`; an unreachable server is status 0. */
async function connect(t: Transport, url: string, last: number, signal: AbortSignal | undefined): Promise<ReadableStream<Uint8Array>> {
  let res: Response;
  try {
    res = await t.fetch(url, {
      headers: { authorization: `Bearer ${t.token}`, accept: 'text/event-stream', 'last-event-id': String(last) },
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    throw new VaultgateError(0, 'network_error', `cannot reach Vaultgate at ${t.baseUrl}`, { cause: err });
  }
  if (!res.ok || !res.body) throw await errorOf(res);
  return res.body;
}

/** The events of one connection, until it ends or breaks (a broken connection just ends). */
async function* eventsOf(body: ReadableStream<Uint8Array>, onRetry: (ms: number) => void): AsyncGenerator<AuditEvent> {
  const ready: AuditEvent[] = [];
  const parse = createSseParser((frame) => {
    try {
      ready.push(JSON.parse(frame.data) as AuditEvent);
    } catch {
      throw new VaultgateError(200, 'bad_response', 'the audit stream sent an event that is not JSON');
    }
  }, onRetry);
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parse(decoder.decode(value, { stream: true }));
      yield* ready.splice(0);
    }
  } catch (err) {
    if (err instanceof VaultgateError) throw err;
    // Anything else is the connection breaking: the caller reconnects.
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * Yields every audit event after `after`, in seq order, forever: when the connection drops it
 * reconnects with `Last-Event-ID` set to the last seq it yielded, so nothing is lost or repeated.
 * The first connection failing, or any 4xx answer, is thrown; later network failures and 5xx retry.
 */
export async function* followAudit(t: Transport, path: string, opts: FollowOptions = {}): AsyncGenerator<AuditEvent> {
  const { signal } = opts;
  const url = buildUrl(t.baseUrl, path, { type: opts.type, actor: opts.actor, secret_id: opts.secret_id });
  let last = opts.after ?? 0;
  let retryMs = opts.retryMs ?? 2000;
  let connected = false;

  while (!signal?.aborted) {
    let body: ReadableStream<Uint8Array>;
    try {
      body = await connect(t, url, last, signal);
    } catch (err) {
      if (signal?.aborted) return;
      const error = err as VaultgateError;
      if (!connected || (error.status >= 400 && error.status < 500)) throw error;
      opts.onDisconnect?.(error);
      await sleep(retryMs, signal);
      continue;
    }
    if (connected) opts.onReconnect?.();
    connected = true;
    opts.onConnect?.();
    for await (const event of eventsOf(body, (ms) => (retryMs = opts.retryMs ?? ms))) {
      // A repeat (seq not after the last one yielded) is dropped, never shown twice.
      if (event.seq <= last) continue;
      last = event.seq;
      yield event;
    }
    if (signal?.aborted) return;
    opts.onDisconnect?.(new VaultgateError(0, 'network_error', 'the connection closed'));
    await sleep(retryMs, signal);
  }
}
