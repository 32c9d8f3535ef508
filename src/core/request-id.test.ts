// The request id and trace context kept from a request's headers.
import { describe, expect, it } from 'vitest';
import { keptRequestId, traceContextOf } from './request-id.js';

describe('keptRequestId', () => {
  it.each([
    ['abc', 'abc'],
    ['lb-1.req:42_x', 'lb-1.req:42_x'],
    ['a'.repeat(128), 'a'.repeat(128)],
    ['a'.repeat(129), null],
    ['', null],
    ['has space', null],
    ['semi;colon', null],
    ['new\nline', null],
    ['ünicode', null],
    [undefined, null],
    [['a', 'b'], null],
  ])('%j → %j', (header, kept) => {
    expect(keptRequestId(header as string | string[] | undefined)).toBe(kept);
  });
});

describe('traceContextOf', () => {
  const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const span = '00f067aa0ba902b7';
  it.each([
    [`00-${trace}-${span}-01`, { trace_id: trace, span_id: span }],
    [`00-${trace}-${span}-00`, { trace_id: trace, span_id: span }],
    [`00-${'0'.repeat(32)}-${span}-01`, null],
    [`00-${trace}-${'0'.repeat(16)}-01`, null],
    [`01-${trace}-${span}-01`, null],
    [`00-${trace.toUpperCase()}-${span}-01`, null],
    [`00-${trace}-${span}-01-extra`, null],
    ['garbage', null],
    [undefined, null],
  ])('%j → %j', (header, context) => {
    expect(traceContextOf(header)).toEqual(context);
  });
});
