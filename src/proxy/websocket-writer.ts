// Frames toward one WebSocket peer, in order, where a frame's payload may still be arriving while
// whole frames (a ping, a held message) queue behind it.
import type { Duplex } from 'node:stream';
import { maskBytes } from './websocket-frames.js';

type Entry =
  | { kind: 'whole'; bytes: Buffer }
  /** A frame whose header is known and whose payload comes through `payload()`; `written` counts it. */
  | { kind: 'open'; header: Buffer; length: number; key: Buffer | null; written: number; started: boolean };

/**
 * A streamed frame's payload can lag behind its reading: the placeholder scanner holds back the
 * bytes that might start a placeholder until the next fragment decides them. A frame that arrives
 * meanwhile must not land inside the open one, so it waits in the queue.
 */
export function createFrameWriter(socket: Duplex, onPressure: () => void) {
  const queue: Entry[] = [];
  let queuedBytes = 0;

  function put(bytes: Buffer): void {
    if (bytes.length > 0 && socket.writable && !socket.write(bytes)) onPressure();
  }

  /** Writes every entry from the front that can go now. */
  function flush(): void {
    while (queue.length > 0) {
      const head = queue[0]!;
      if (head.kind === 'whole') {
        queuedBytes -= head.bytes.length;
        put(head.bytes);
      } else {
        if (!head.started) put(head.header);
        head.started = true;
        if (head.written < head.length) return;
      }
      queue.shift();
    }
  }

  return {
    /** Starts a frame of `length` payload bytes; with a key, `payload()` masks what it is given. */
    open(header: Buffer, length: number, key: Buffer | null): void {
      queue.push({ kind: 'open', header, length, key, written: 0, started: false });
      flush();
    },
    /** Unmasked payload bytes of the open frames, in order; never more than they announced. */
    payload(data: Buffer): void {
      let at = 0;
      while (at < data.length) {
        const head = queue[0];
        if (head?.kind !== 'open' || head.written === head.length) throw new Error('websocket relay: payload without an open frame');
        const part = data.subarray(at, at + head.length - head.written);
        put(head.key ? maskBytes(part, head.key, head.written) : part);
        head.written += part.length;
        at += part.length;
        flush();
      }
    },
    whole(frame: Buffer): void {
      queue.push({ kind: 'whole', bytes: frame });
      queuedBytes += frame.length;
      flush();
    },
    /** Between frames: a close frame written now lands on a frame boundary. */
    get idle(): boolean {
      return queue.length === 0;
    },
    /** Whole frames waiting behind an open one. */
    get queuedBytes(): number {
      return queuedBytes;
    },
  };
}

export type FrameWriter = ReturnType<typeof createFrameWriter>;
