// RFC 6455 framing: header parsing, masking, encoding and the incremental decoder, by table and by property.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  closePayload,
  createFrameDecoder,
  encodeFrame,
  encodeFrameHeader,
  frameProblem,
  maskBytes,
  Opcode,
  parseFrameHeader,
  truncateUtf8,
  type FrameEvent,
  type FrameHeader,
} from './websocket-frames.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const key = hex('37fa213d');
const header = (h: Partial<FrameHeader>): FrameHeader => ({ fin: true, rsv: 0, opcode: Opcode.text, maskKey: null, length: 0, headerLength: 2, ...h });

describe('parseFrameHeader', () => {
  const cases: [string, string, ReturnType<typeof parseFrameHeader>][] = [
    ['nothing', '', { kind: 'incomplete' }],
    ['one byte', '81', { kind: 'incomplete' }],
    ['unmasked text, FIN', '8105', { kind: 'header', header: header({ length: 5 }) }],
    ['first fragment', '0103', { kind: 'header', header: header({ fin: false, length: 3 }) }],
    ['continuation, FIN', '8002', { kind: 'header', header: header({ opcode: 0, length: 2 }) }],
    ['RSV1', 'c100', { kind: 'header', header: header({ rsv: 4 }) }],
    ['RSV1-3', 'f100', { kind: 'header', header: header({ rsv: 7 }) }],
    ['RSV3', '9100', { kind: 'header', header: header({ rsv: 1 }) }],
    ['opcode 0xf kept as read', '8f00', { kind: 'header', header: header({ opcode: 0xf }) }],
    ['125 in 7 bits', '827d', { kind: 'header', header: header({ opcode: 2, length: 125 }) }],
    ['16-bit length, incomplete', '827e01', { kind: 'incomplete' }],
    ['16-bit length', '827e0100', { kind: 'header', header: header({ opcode: 2, length: 256, headerLength: 4 }) }],
    ['16-bit length, non-minimal', '827e0005', { kind: 'header', header: header({ opcode: 2, length: 5, headerLength: 4 }) }],
    ['64-bit length, incomplete', '827f00000000000100', { kind: 'incomplete' }],
    ['64-bit length', '827f0000000000010000', { kind: 'header', header: header({ opcode: 2, length: 65536, headerLength: 10 }) }],
    ['64-bit length over 2^32', '827f0000000100000005', { kind: 'header', header: header({ opcode: 2, length: 2 ** 32 + 5, headerLength: 10 }) }],
    ['2^53 - 1', '827f001fffffffffffff', { kind: 'header', header: header({ opcode: 2, length: Number.MAX_SAFE_INTEGER, headerLength: 10 }) }],
    ['2^53', '827f0020000000000000', { kind: 'invalid', code: 1009, reason: 'frame length too large' }],
    ['top bit set', '827f8000000000000000', { kind: 'invalid', code: 1002, reason: 'frame length has its most significant bit set' }],
    ['masked, key incomplete', '818537fa', { kind: 'incomplete' }],
    ['masked', '818537fa213d', { kind: 'header', header: header({ length: 5, maskKey: key, headerLength: 6 }) }],
    ['masked, 16-bit length', '81fe007e37fa213d', { kind: 'header', header: header({ length: 126, maskKey: key, headerLength: 8 }) }],
    ['masked, 64-bit length', '81ff000000000001000037fa213d', { kind: 'header', header: header({ length: 65536, maskKey: key, headerLength: 14 }) }],
    ['payload bytes after the header are not read', '8105ffffffff', { kind: 'header', header: header({ length: 5 }) }],
  ];
  for (const [name, bytes, want] of cases) it(name, () => expect(parseFrameHeader(hex(bytes))).toEqual(want));
});

describe('maskBytes', () => {
  it('RFC 6455 §5.7: "Hello" with key 37fa213d', () => {
    expect(maskBytes(Buffer.from('Hello'), key)).toEqual(hex('7f9f4d5158'));
    expect(maskBytes(hex('7f9f4d5158'), key)).toEqual(Buffer.from('Hello'));
  });
  it('masks a part as if it sat at `offset` in the payload', () => {
    const data = Buffer.from('a longer payload, masked in pieces');
    const whole = maskBytes(data, key);
    for (let cut = 0; cut <= data.length; cut++) {
      expect(Buffer.concat([maskBytes(data.subarray(0, cut), key), maskBytes(data.subarray(cut), key, cut)])).toEqual(whole);
    }
  });
  it('leaves its input alone', () => {
    const data = Buffer.from('abc');
    maskBytes(data, key);
    expect(data.toString()).toBe('abc');
  });
});

describe('encodeFrame: RFC 6455 §5.7 examples and length forms', () => {
  const cases: [string, Parameters<typeof encodeFrame>[0], string][] = [
    ['unmasked text', { fin: true, opcode: Opcode.text, payload: Buffer.from('Hello') }, '810548656c6c6f'],
    ['masked text', { fin: true, opcode: Opcode.text, payload: Buffer.from('Hello'), maskKey: key }, '818537fa213d7f9f4d5158'],
    ['first fragment', { fin: false, opcode: Opcode.text, payload: Buffer.from('Hel') }, '010348656c'],
    ['last fragment', { fin: true, opcode: Opcode.continuation, payload: Buffer.from('lo') }, '80026c6f'],
    ['unmasked ping', { fin: true, opcode: Opcode.ping, payload: Buffer.from('Hello') }, '890548656c6c6f'],
    ['masked pong', { fin: true, opcode: Opcode.pong, payload: Buffer.from('Hello'), maskKey: key }, '8a8537fa213d7f9f4d5158'],
    ['empty close', { fin: true, opcode: Opcode.close, payload: Buffer.alloc(0) }, '8800'],
    ['RSV bits as given', { fin: true, rsv: 4, opcode: Opcode.text, payload: Buffer.alloc(0) }, 'c100'],
  ];
  for (const [name, frame, bytes] of cases) it(name, () => expect(encodeFrame(frame).toString('hex')).toBe(bytes));

  const lengths: [number, string][] = [
    [0, '8200'],
    [125, '827d'],
    [126, '827e007e'],
    [256, '827e0100'],
    [65535, '827effff'],
    [65536, '827f0000000000010000'],
    [2 ** 32 + 5, '827f0000000100000005'],
  ];
  for (const [length, bytes] of lengths) {
    it(`length ${length}: the minimal form`, () => expect(encodeFrameHeader({ fin: true, opcode: Opcode.binary, length }).toString('hex')).toBe(bytes));
  }
  it('a masked header carries the key after the length', () => {
    expect(encodeFrameHeader({ fin: true, opcode: Opcode.binary, length: 300, maskKey: key }).toString('hex')).toBe('82fe012c37fa213d');
  });
});

describe('frameProblem', () => {
  const client = { masked: true, inMessage: false };
  const server = { masked: false, inMessage: false };
  const cases: [string, Partial<FrameHeader>, typeof client, string | null][] = [
    ['masked client text', { maskKey: key }, client, null],
    ['unmasked client frame', {}, client, 'unmasked client frame'],
    ['masked server frame', { maskKey: key }, server, 'masked server frame'],
    ['unmasked server binary', { opcode: Opcode.binary }, server, null],
    ['RSV1 (compression)', { rsv: 4 }, server, 'reserved bits set without an extension'],
    ['RSV3', { rsv: 1 }, server, 'reserved bits set without an extension'],
    ['opcode 3', { opcode: 3 }, server, 'unknown opcode'],
    ['opcode 7', { opcode: 7 }, server, 'unknown opcode'],
    ['opcode 0xb', { opcode: 0xb }, server, 'unknown opcode'],
    ['opcode 0xf', { opcode: 0xf }, server, 'unknown opcode'],
    ['fragmented ping', { opcode: Opcode.ping, fin: false }, server, 'fragmented control frame'],
    ['close of 126 bytes', { opcode: Opcode.close, length: 126 }, server, 'control frame payload too long'],
    ['pong of 125 bytes', { opcode: Opcode.pong, length: 125 }, server, null],
    ['continuation with no message', { opcode: Opcode.continuation }, server, 'continuation frame outside a message'],
    ['continuation inside a message', { opcode: Opcode.continuation }, { ...server, inMessage: true }, null],
    ['text inside a message', { opcode: Opcode.text }, { ...server, inMessage: true }, 'new message inside a fragmented message'],
    ['ping inside a message', { opcode: Opcode.ping }, { ...server, inMessage: true }, null],
  ];
  for (const [name, h, o, want] of cases) it(name, () => expect(frameProblem(header(h), o)).toBe(want));
});

describe('truncateUtf8 and closePayload', () => {
  it('cuts at a character boundary', () => {
    const text = Buffer.from('aé€😀', 'utf8'); // 1 + 2 + 3 + 4 bytes
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => truncateUtf8(text, n).toString('utf8'))).toEqual(['', 'a', 'a', 'aé', 'aé', 'aé', 'aé€', 'aé€', 'aé€', 'aé€', 'aé€😀']);
  });
  it('close payload: code then reason, at most 125 bytes', () => {
    expect(closePayload(1008, 'no').toString('hex')).toBe('03f06e6f');
    const long = closePayload(1009, '€'.repeat(60));
    expect(long.length).toBe(2 + 123);
    expect(long.subarray(2).toString('utf8')).toBe('€'.repeat(41));
  });
});

/** Every event of a byte stream fed in the given pieces, payload bytes merged per frame. */
function decodeAll(bytes: Buffer, cuts: number[], masked: boolean) {
  const decoder = createFrameDecoder({ masked });
  const events: FrameEvent[] = [];
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    events.push(...decoder.push(bytes.subarray(at, cut)));
    at = cut;
  }
  const frames: { header: FrameHeader; payload: Buffer; raw: Buffer; ended: boolean }[] = [];
  let invalid: FrameEvent | null = null;
  for (const ev of events) {
    if (ev.kind === 'start') frames.push({ header: ev.header, payload: Buffer.alloc(0), raw: Buffer.from(ev.raw), ended: false });
    if (ev.kind === 'payload') {
      const f = frames.at(-1)!;
      f.payload = Buffer.concat([f.payload, ev.data]);
      f.raw = Buffer.concat([f.raw, ev.raw]);
    }
    if (ev.kind === 'end') frames.at(-1)!.ended = true;
    if (ev.kind === 'invalid') invalid = ev;
  }
  return { frames, invalid };
}

describe('createFrameDecoder', () => {
  it('reads a message of fragments with a ping between them, byte by byte', () => {
    const bytes = Buffer.concat([
      encodeFrame({ fin: false, opcode: Opcode.text, payload: Buffer.from('Hel'), maskKey: key }),
      encodeFrame({ fin: true, opcode: Opcode.ping, payload: Buffer.from('p'), maskKey: key }),
      encodeFrame({ fin: true, opcode: Opcode.continuation, payload: Buffer.from('lo'), maskKey: key }),
      encodeFrame({ fin: true, opcode: Opcode.binary, payload: Buffer.alloc(0), maskKey: key }),
    ]);
    const { frames, invalid } = decodeAll(bytes, [...bytes.keys()], true);
    expect(invalid).toBeNull();
    expect(frames.map((f) => [f.header.opcode, f.header.fin, f.payload.toString(), f.ended])).toEqual([
      [1, false, 'Hel', true],
      [9, true, 'p', true],
      [0, true, 'lo', true],
      [2, true, '', true],
    ]);
    expect(Buffer.concat(frames.map((f) => f.raw))).toEqual(bytes);
  });

  const broken: [string, Buffer, boolean, { code: number; reason: string }][] = [
    ['an unmasked agent frame', encodeFrame({ fin: true, opcode: Opcode.text, payload: Buffer.from('x') }), true, { code: 1002, reason: 'unmasked client frame' }],
    ['a masked server frame', encodeFrame({ fin: true, opcode: Opcode.text, payload: Buffer.from('x'), maskKey: key }), false, { code: 1002, reason: 'masked server frame' }],
    ['a compressed frame', encodeFrame({ fin: true, rsv: 4, opcode: Opcode.text, payload: Buffer.from('x') }), false, { code: 1002, reason: 'reserved bits set without an extension' }],
    ['a stray continuation', encodeFrame({ fin: true, opcode: Opcode.continuation, payload: Buffer.from('x') }), false, { code: 1002, reason: 'continuation frame outside a message' }],
    ['an absurd length', hex('827f7fffffffffffffff'), false, { code: 1009, reason: 'frame length too large' }],
  ];
  for (const [name, bytes, masked, want] of broken) {
    it(`${name}: invalid, then nothing more`, () => {
      const decoder = createFrameDecoder({ masked });
      const good = encodeFrame({ fin: true, opcode: Opcode.binary, payload: Buffer.from('ok'), ...(masked ? { maskKey: key } : {}) });
      const events = decoder.push(Buffer.concat([good, bytes]));
      expect(events.map((e) => e.kind)).toEqual(['start', 'payload', 'end', 'invalid']);
      expect(events.at(-1)).toEqual({ kind: 'invalid', ...want });
      expect(decoder.push(good)).toEqual([]);
    });
  }

  it('a new message while one is fragmented is refused', () => {
    const decoder = createFrameDecoder({ masked: false });
    const events = decoder.push(Buffer.concat([encodeFrame({ fin: false, opcode: Opcode.text, payload: Buffer.from('a') }), encodeFrame({ fin: true, opcode: Opcode.binary, payload: Buffer.from('b') })]));
    expect(events.at(-1)).toEqual({ kind: 'invalid', code: 1002, reason: 'new message inside a fragmented message' });
  });
});

describe('round trip (property)', () => {
  const dataFrame = fc.record({
    fin: fc.boolean(),
    opcode: fc.constantFrom(Opcode.text, Opcode.binary),
    payload: fc.oneof(fc.uint8Array({ maxLength: 140 }), fc.uint8Array({ minLength: 65530, maxLength: 65540 })).map((a) => Buffer.from(a)),
  });
  const controlFrame = fc.record({
    fin: fc.constant(true),
    opcode: fc.constantFrom(Opcode.close, Opcode.ping, Opcode.pong),
    payload: fc.uint8Array({ maxLength: 125 }).map((a) => Buffer.from(a)),
  });
  /** A valid stream: fragments continue their message, control frames may sit between them. */
  const stream = fc.array(fc.oneof({ arbitrary: dataFrame, weight: 3 }, { arbitrary: controlFrame, weight: 1 }), { maxLength: 8 }).map((frames) => {
    let inMessage = false;
    const out = frames.map((f) => {
      if (f.opcode === Opcode.close || f.opcode === Opcode.ping || f.opcode === Opcode.pong) return f;
      const opcode = inMessage ? Opcode.continuation : f.opcode;
      inMessage = !f.fin;
      return { ...f, opcode };
    });
    if (inMessage) out.push({ fin: true, opcode: Opcode.continuation, payload: Buffer.from('end') });
    return out;
  });

  it('decode(encode(frames)) gives the frames back, however the bytes are cut', () => {
    fc.assert(
      fc.property(stream, fc.boolean(), fc.array(fc.nat(140_000), { maxLength: 12 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), (frames, masked, cuts, k) => {
        const maskKey = masked ? Buffer.from(k) : null;
        const bytes = Buffer.concat(frames.map((f) => encodeFrame({ ...f, maskKey })));
        const { frames: got, invalid } = decodeAll(bytes, cuts, masked);
        expect(invalid).toBeNull();
        // Payloads as base64 text: deep equality walks a Buffer byte by byte, far too slowly at 64 KiB.
        const b64 = (b: Buffer | null) => b?.toString('base64') ?? null;
        expect(got.map((g) => ({ fin: g.header.fin, opcode: g.header.opcode, payload: b64(g.payload), key: b64(g.header.maskKey), ended: g.ended }))).toEqual(
          frames.map((f) => ({ fin: f.fin, opcode: f.opcode, payload: b64(f.payload), key: b64(maskKey), ended: true })),
        );
        expect(Buffer.concat(got.map((g) => g.raw)).equals(bytes)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('parseFrameHeader(encodeFrameHeader(h)) is h, for every length form', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 15 }), fc.oneof(fc.nat(200), fc.nat(70_000), fc.nat(Number.MAX_SAFE_INTEGER)), fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 })), (fin, rsv, opcode, length, k) => {
        const maskKey = k ? Buffer.from(k) : null;
        const bytes = encodeFrameHeader({ fin, rsv, opcode, length, maskKey });
        expect(parseFrameHeader(bytes)).toEqual({ kind: 'header', header: { fin, rsv, opcode, length, maskKey, headerLength: bytes.length } });
        expect(parseFrameHeader(bytes.subarray(0, bytes.length - 1)).kind).toBe('incomplete');
      }),
    );
  });
});
