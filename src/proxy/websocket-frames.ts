// RFC 6455 framing as pure functions: incremental header parsing, masking, encoding and a frame decoder.

export const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export const CloseCode = { normal: 1000, goingAway: 1001, protocolError: 1002, policyViolation: 1008, tooBig: 1009 } as const;

/** Control frames carry at most this much payload (RFC 6455 §5.5). */
export const maxControlPayload = 125;

export interface FrameHeader {
  fin: boolean;
  /** RSV1–RSV3 as one 3-bit number (RSV1 is 4); non-zero only under a negotiated extension. */
  rsv: number;
  opcode: number;
  /** The 4-byte masking key, or null for an unmasked frame. */
  maskKey: Buffer | null;
  /** Payload bytes that follow the header. */
  length: number;
  /** Bytes the header itself took on the wire. */
  headerLength: number;
}

export type HeaderParse = { kind: 'header'; header: FrameHeader } | { kind: 'incomplete' } | { kind: 'invalid'; code: number; reason: string };

export const isControl = (opcode: number): boolean => opcode >= 0x8;

/**
 * Reads one frame header from the start of `buf`. `incomplete` until every header byte is there,
 * so a caller can feed a byte stream and try again; a length only JavaScript cannot count exactly
 * (2^53 and above: no real frame) is `invalid`, like the 64-bit form with its top bit set.
 */
export function parseFrameHeader(buf: Buffer): HeaderParse {
  if (buf.length < 2) return { kind: 'incomplete' };
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  const masked = (b1 & 0x80) !== 0;
  const short = b1 & 0x7f;
  const extended = short === 126 ? 2 : short === 127 ? 8 : 0;
  const headerLength = 2 + extended + (masked ? 4 : 0);
  if (buf.length < headerLength) return { kind: 'incomplete' };
  let length = short;
  if (extended === 2) length = buf.readUInt16BE(2);
  if (extended === 8) {
    const high = buf.readUInt32BE(2);
    if (high & 0x80000000) return { kind: 'invalid', code: CloseCode.protocolError, reason: 'frame length has its most significant bit set' };
    if (high > 0x1fffff) return { kind: 'invalid', code: CloseCode.tooBig, reason: 'frame length too large' };
    length = high * 2 ** 32 + buf.readUInt32BE(6);
  }
  const maskKey = masked ? Buffer.from(buf.subarray(2 + extended, headerLength)) : null;
  return { kind: 'header', header: { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 0x7, opcode: b0 & 0xf, maskKey, length, headerLength } };
}

/** XOR with the masking key, as if `data` started `offset` bytes into the payload (masking is its own inverse). */
export function maskBytes(data: Buffer, key: Buffer, offset = 0): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ key[(offset + i) & 3]!;
  return out;
}

export interface FrameFields {
  fin: boolean;
  rsv?: number;
  opcode: number;
  maskKey?: Buffer | null;
}

/** The shortest header for `length` payload bytes (RFC 6455 §5.2 requires the minimal length form). */
export function encodeFrameHeader(f: FrameFields & { length: number }): Buffer {
  const extended = f.length < 126 ? 0 : f.length <= 0xffff ? 2 : 8;
  const key = f.maskKey ?? null;
  const out = Buffer.alloc(2 + extended + (key ? 4 : 0));
  out[0] = (f.fin ? 0x80 : 0) | ((f.rsv ?? 0) << 4) | (f.opcode & 0xf);
  out[1] = (key ? 0x80 : 0) | (extended === 0 ? f.length : extended === 2 ? 126 : 127);
  if (extended === 2) out.writeUInt16BE(f.length, 2);
  if (extended === 8) {
    out.writeUInt32BE(Math.floor(f.length / 2 ** 32), 2);
    out.writeUInt32BE(f.length % 2 ** 32, 6);
  }
  if (key) key.copy(out, 2 + extended);
  return out;
}

/** A whole frame; `payload` is given unmasked and masked here when a key is given. */
export function encodeFrame(f: FrameFields & { payload: Buffer }): Buffer {
  const header = encodeFrameHeader({ ...f, length: f.payload.length });
  return Buffer.concat([header, f.maskKey ? maskBytes(f.payload, f.maskKey) : f.payload]);
}

/** At most `max` bytes of UTF-8 text, never ending inside a character (a client would refuse the text). */
export function truncateUtf8(text: Buffer, max: number): Buffer {
  if (text.length <= max) return text;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) to the lead byte of the character cut in two.
  while (end > 0 && (text[end]! & 0xc0) === 0x80) end--;
  return text.subarray(0, end);
}

/** A close frame's payload: the code, then a reason cut to fit the control frame limit. */
export function closePayload(code: number, reason: string | Buffer): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code);
  const text = typeof reason === 'string' ? Buffer.from(reason, 'utf8') : reason;
  return Buffer.concat([head, truncateUtf8(text, maxControlPayload - 2)]);
}

/** Which side's frames a decoder reads: an agent's must be masked, a server's must not (RFC 6455 §5.1). */
export interface DecoderOptions {
  masked: boolean;
}

export type FrameEvent =
  /** A frame begins; `raw` holds its header as it came. */
  | { kind: 'start'; header: FrameHeader; raw: Buffer }
  /** Payload bytes in order: `data` unmasked, `raw` as they came. */
  | { kind: 'payload'; data: Buffer; raw: Buffer }
  | { kind: 'end'; header: FrameHeader }
  /** The stream breaks the protocol; nothing more is decoded. */
  | { kind: 'invalid'; code: number; reason: string };

const knownOpcodes = new Set<number>(Object.values(Opcode));

/** Why a frame may not appear here, or null. Extensions are never negotiated, so RSV bits must be 0. */
export function frameProblem(h: FrameHeader, o: DecoderOptions & { inMessage: boolean }): string | null {
  if ((h.maskKey !== null) !== o.masked) return o.masked ? 'unmasked client frame' : 'masked server frame';
  if (h.rsv !== 0) return 'reserved bits set without an extension';
  if (!knownOpcodes.has(h.opcode)) return 'unknown opcode';
  if (isControl(h.opcode)) {
    if (!h.fin) return 'fragmented control frame';
    if (h.length > maxControlPayload) return 'control frame payload too long';
    return null;
  }
  if (h.opcode === Opcode.continuation && !o.inMessage) return 'continuation frame outside a message';
  if (h.opcode !== Opcode.continuation && o.inMessage) return 'new message inside a fragmented message';
  return null;
}

/**
 * Turns a byte stream into frame events, however it is chunked. Holds at most one incomplete
 * header (≤ 14 bytes); payload bytes are handed on as they arrive.
 */
export function createFrameDecoder(o: DecoderOptions) {
  let pending: Buffer = Buffer.alloc(0);
  let frame: FrameHeader | null = null;
  let read = 0;
  let inMessage = false;
  let broken = false;

  function fail(events: FrameEvent[], code: number, reason: string): false {
    broken = true;
    events.push({ kind: 'invalid', code, reason });
    return false;
  }

  function startFrame(events: FrameEvent[]): boolean {
    const parsed = parseFrameHeader(pending);
    if (parsed.kind === 'incomplete') return false;
    if (parsed.kind === 'invalid') return fail(events, parsed.code, parsed.reason);
    const reason = frameProblem(parsed.header, { ...o, inMessage });
    if (reason !== null) return fail(events, CloseCode.protocolError, reason);
    const header = parsed.header;
    if (!isControl(header.opcode)) inMessage = !header.fin;
    events.push({ kind: 'start', header, raw: pending.subarray(0, header.headerLength) });
    pending = pending.subarray(header.headerLength);
    frame = header;
    read = 0;
    return true;
  }

  function takePayload(events: FrameEvent[], f: FrameHeader): void {
    const n = Math.min(f.length - read, pending.length);
    if (n > 0) {
      const raw = pending.subarray(0, n);
      events.push({ kind: 'payload', data: f.maskKey ? maskBytes(raw, f.maskKey, read) : raw, raw });
      pending = pending.subarray(n);
      read += n;
    }
    if (read === f.length) {
      events.push({ kind: 'end', header: f });
      frame = null;
    }
  }

  return {
    push(chunk: Buffer): FrameEvent[] {
      const events: FrameEvent[] = [];
      if (broken) return events;
      pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        if (frame === null && !startFrame(events)) break;
        takePayload(events, frame!);
        if (frame !== null) break;
      }
      // Keep only an incomplete header: a copy, so the caller's chunk is not pinned.
      pending = Buffer.from(pending);
      return events;
    },
  };
}

export type FrameDecoder = ReturnType<typeof createFrameDecoder>;
