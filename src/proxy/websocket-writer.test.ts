// The frame writer: a frame queued behind an open one waits until that one's payload is complete.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeFrame, encodeFrameHeader, maskBytes, Opcode } from './websocket-frames.js';
import { createFrameWriter } from './websocket-writer.js';

const key = Buffer.from('37fa213d', 'hex');

function writer() {
  const sink = new PassThrough();
  const written: Buffer[] = [];
  sink.on('data', (d: Buffer) => written.push(d));
  return { w: createFrameWriter(sink, () => undefined), bytes: () => Buffer.concat(written).toString('hex') };
}

describe('createFrameWriter', () => {
  it('writes a streamed frame as its payload comes, masked at the right offsets', async () => {
    const { w, bytes } = writer();
    const header = encodeFrameHeader({ fin: true, opcode: Opcode.binary, length: 5, maskKey: key });
    w.open(header, 5, key);
    expect(w.idle).toBe(false);
    w.payload(Buffer.from('He'));
    w.payload(Buffer.from('llo'));
    expect(w.idle).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(bytes()).toBe(encodeFrame({ fin: true, opcode: Opcode.binary, payload: Buffer.from('Hello'), maskKey: key }).toString('hex'));
  });

  it('a whole frame waits behind an open one, then the next open frame follows', async () => {
    const { w, bytes } = writer();
    const ping = encodeFrame({ fin: true, opcode: Opcode.ping, payload: Buffer.from('p') });
    w.open(encodeFrameHeader({ fin: false, opcode: Opcode.text, length: 3 }), 3, null);
    w.payload(Buffer.from('ab'));
    w.whole(ping);
    w.open(encodeFrameHeader({ fin: true, opcode: Opcode.continuation, length: 2 }), 2, null);
    expect(w.queuedBytes).toBe(ping.length);
    // One payload call completes the first frame, lets the ping out and starts the second.
    w.payload(Buffer.from('cde'));
    expect(w.queuedBytes).toBe(0);
    expect(w.idle).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(bytes()).toBe(Buffer.concat([Buffer.from('0103616263', 'hex'), ping, Buffer.from('80026465', 'hex')]).toString('hex'));
  });

  it('a zero-length frame is complete at once', () => {
    const { w } = writer();
    w.open(encodeFrameHeader({ fin: true, opcode: Opcode.binary, length: 0 }), 0, null);
    expect(w.idle).toBe(true);
  });

  it('payload with no open frame is a fault, never a stray write', () => {
    const { w } = writer();
    expect(() => w.payload(Buffer.from('x'))).toThrow('payload without an open frame');
    w.open(encodeFrameHeader({ fin: true, opcode: Opcode.binary, length: 1 }), 1, null);
    expect(() => w.payload(Buffer.from('xy'))).toThrow('payload without an open frame');
  });

  it('masking matches maskBytes over the whole payload, whatever the pieces', async () => {
    const { w, bytes } = writer();
    const data = Buffer.from('0123456789abcdef');
    w.open(encodeFrameHeader({ fin: true, opcode: Opcode.binary, length: data.length, maskKey: key }), data.length, key);
    let at = 0;
    for (const size of [1, 2, 3, 5, 5]) w.payload(data.subarray(at, (at += size)));
    await new Promise((r) => setImmediate(r));
    expect(bytes().slice(-32)).toBe(maskBytes(data, key).toString('hex'));
  });
});
