// Frames from the upstream to the agent: values the upstream echoes are replaced by their
// placeholders (data messages across their fragments, close reasons, pings), lengths recomputed.
import type { CompiledScrub, Scrubber } from '../core/scrub.js';
import { createFrameDecoder, encodeFrame, isControl, maxControlPayload, Opcode, truncateUtf8, type FrameHeader } from './websocket-frames.js';
import type { FrameWriter } from './websocket-writer.js';

export interface UpstreamFramesOptions {
  toAgent: FrameWriter;
  /** What frames are scrubbed of now (the agent's context may be refreshed mid-connection); null: they pass as they came. */
  echo(): CompiledScrub | null;
  /** Most payload bytes held before a scrubbed frame goes on as a fragment. */
  maxHeld: number;
  /** The upstream broke the protocol. */
  invalid(code: number, reason: string): void;
}

/** Pings remembered, so that the agent's pong to a scrubbed ping can be given the upstream's own bytes back. */
const maxRememberedPings = 16;

/** A control frame's payload scrubbed; a close keeps its code; the result still fits a control frame. */
export function scrubControl(opcode: number, payload: Buffer, scrub: CompiledScrub): Buffer {
  if (opcode === Opcode.close && payload.length >= 2) {
    return Buffer.concat([payload.subarray(0, 2), truncateUtf8(scrub.scrub(payload.subarray(2)), maxControlPayload - 2)]);
  }
  return scrub.scrub(payload).subarray(0, maxControlPayload);
}

export function createUpstreamFrames(o: UpstreamFramesOptions) {
  const decoder = createFrameDecoder({ masked: false });
  /** The data message in progress: its scrubber (null: it passes as it came) and whether a frame of it went out. */
  let message: { opcode: number; scrub: Scrubber | null; sent: boolean } | null = null;
  let frame: { header: FrameHeader; raw: Buffer; held: boolean; parts: Buffer[]; size: number } | null = null;
  const pings = new Map<string, Buffer>();

  function start(h: FrameHeader, raw: Buffer): void {
    if (!isControl(h.opcode) && h.opcode !== Opcode.continuation) message = { opcode: h.opcode, scrub: o.echo()?.stream() ?? null, sent: false };
    // A scrubbed frame's length is known only once it is scrubbed, so its payload is held.
    const held = isControl(h.opcode) || message!.scrub !== null;
    frame = { header: h, raw: Buffer.from(raw), held, parts: [], size: 0 };
    if (!held) o.toAgent.open(frame.raw, h.length, null);
  }

  function payload(data: Buffer): void {
    const f = frame!;
    if (!f.held) return o.toAgent.payload(data);
    f.parts.push(data);
    f.size += data.length;
    // Past the limit a frame goes on as fragments: without extensions an intermediary may change
    // a message's fragmentation (RFC 6455 §5.4), and memory stays bounded.
    if (f.size > o.maxHeld && !isControl(f.header.opcode)) sendScrubbed(false);
  }

  /** What is held of the current frame, scrubbed, as the message's next frame. */
  function sendScrubbed(last: boolean): void {
    const m = message!;
    const f = frame!;
    const input = Buffer.concat(f.parts);
    f.parts = [];
    f.size = 0;
    const pushed = m.scrub!.push(input);
    const out = last ? Buffer.concat([pushed, m.scrub!.end()]) : pushed;
    o.toAgent.whole(encodeFrame({ fin: last, opcode: m.sent ? Opcode.continuation : m.opcode, payload: out }));
    m.sent = true;
  }

  function control(h: FrameHeader, raw: Buffer, data: Buffer): void {
    const echo = o.echo();
    if (!echo) return o.toAgent.whole(Buffer.concat([raw, data]));
    const scrubbed = scrubControl(h.opcode, data, echo);
    if (h.opcode === Opcode.ping && !scrubbed.equals(data)) remember(scrubbed, data);
    o.toAgent.whole(encodeFrame({ fin: true, opcode: h.opcode, payload: scrubbed }));
  }

  function remember(scrubbed: Buffer, original: Buffer): void {
    pings.set(scrubbed.toString('latin1'), original);
    if (pings.size > maxRememberedPings) pings.delete(pings.keys().next().value as string);
  }

  function end(h: FrameHeader): void {
    const f = frame!;
    if (isControl(h.opcode)) control(h, f.raw, Buffer.concat(f.parts));
    else if (f.held) sendScrubbed(h.fin);
    frame = null;
    if (h.fin && !isControl(h.opcode)) message = null;
  }

  return {
    push(chunk: Buffer): void {
      for (const ev of decoder.push(chunk)) {
        if (ev.kind === 'invalid') return o.invalid(ev.code, ev.reason);
        if (ev.kind === 'start') start(ev.header, ev.raw);
        else if (ev.kind === 'payload') payload(ev.data);
        else end(ev.header);
      }
    },
    /**
     * The upstream's own payload for a pong that answers one of its pings as the agent saw it
     * (scrubbed), so keep-alives survive scrubbing; null for any other pong. Nothing new reaches
     * the upstream: these are bytes it sent on this connection.
     */
    pingAnswered(pongPayload: Buffer): Buffer | null {
      const key = pongPayload.toString('latin1');
      const original = pings.get(key) ?? null;
      pings.delete(key);
      return original;
    },
  };
}
