// Pure CLI rules: relative times, table alignment, control characters, the newline rule, argv refusal, exit codes.
import { describe, expect, it } from 'vitest';
import { VaultgateError } from '../../src/sdk/index.js';
import { exitCodeOf, UsageError } from '../../src/cli/errors.js';
import { formatTable, printable, relativeTime } from '../../src/cli/output.js';
import { refuseArgvValues, stripOneNewline } from '../../src/cli/values.js';
import { createSseParser } from '../../src/sdk/audit-stream.js';

const now = Date.parse('2026-04-25T12:00:00.000Z');
const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();

describe('relativeTime', () => {
  it.each([
    [0, 'just now'],
    [4, 'just now'],
    [5, '5 seconds ago'],
    [59, '59 seconds ago'],
    [60, '1 minute ago'],
    [180, '3 minutes ago'],
    [3600, '1 hour ago'],
    [2 * 86400, '2 days ago'],
    [45 * 86400, '1 month ago'],
    [800 * 86400, '2 years ago'],
    [-120, 'in 2 minutes'],
  ])('%i seconds → %s', (seconds, text) => {
    expect(relativeTime(ago(seconds), now)).toBe(text);
  });

  it('shows - for no time', () => {
    expect(relativeTime(null, now)).toBe('-');
  });
});

describe('formatTable', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(formatTable(['ID', 'NAME', 'X'], [['a', 'long-name', 'z'], ['bbbb', 'n', '']])).toBe('ID    NAME       X\na     long-name  z\nbbbb  n\n');
  });

  it('replaces control characters (terminal escapes) from server text', () => {
    expect(printable('evil\u001b[2Jname\r\n')).toBe('evil?[2Jname??');
    expect(formatTable(['N'], [['a\u001b]0;x\u0007']])).toBe('N\na?]0;x?\n');
  });
});

describe('the value newline rule', () => {
  it.each([
    ['value', 'value'],
    ['value\n', 'value'],
    ['value\n\n', 'value\n'],
    ['line1\nline2\n', 'line1\nline2'],
    ['value\r\n', 'value\r'],
    ['', ''],
  ])('%j → %j', (input, output) => {
    expect(stripOneNewline(input)).toBe(output);
  });
});

describe('refuseArgvValues', () => {
  it.each([['--value', 'x'], ['--value=x'], ['--password=hunter2'], ['--secret-value', 'x'], ['--api-key=k'], ['--token', 't']])('refuses %s', (...args) => {
    expect(() => refuseArgvValues(['secrets', 'add', ...args])).toThrow(UsageError);
  });

  it('never echoes the value and says how to pass it', () => {
    let message = '';
    try {
      refuseArgvValues(['secrets', 'add', '--value=hunter2-canary']);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/stdin.*--from-file.*prompt/);
    expect(message).not.toContain('hunter2-canary');
  });

  it('leaves the arguments of a command after -- alone', () => {
    expect(() => refuseArgvValues(['run', '--agent', 'a', '--', 'tool', '--value', 'x'])).not.toThrow();
    expect(() => refuseArgvValues(['secrets', 'add', '--vault', 'v', '--env-key', 'VALUE'])).not.toThrow();
  });
});

describe('exit codes', () => {
  it.each([
    [0, 7],
    [400, 5],
    [401, 3],
    [403, 3],
    [404, 4],
    [409, 5],
    [412, 5],
    [413, 5],
    [415, 5],
    [500, 6],
    [503, 6],
  ])('HTTP %i → exit %i', (status, code) => {
    expect(exitCodeOf(new VaultgateError(status, 'internal', 'x'))).toBe(code);
  });

  it('usage errors exit 2, anything unknown 1', () => {
    expect(exitCodeOf(new UsageError('x'))).toBe(2);
    expect(exitCodeOf(new Error('x'))).toBe(1);
  });
});

describe('SSE parsing', () => {
  it('joins frames split anywhere, skips comments, reads retry, accepts CRLF', () => {
    const text = 'retry: 1500\r\n\r\n: heartbeat\n\nid: 1\nevent: a\ndata: {"seq":1}\n\nid: 2\r\ndata: {"seq":\r\ndata: 2}\r\n\r\n';
    for (const size of [1, 2, 3, 7, text.length]) {
      const frames: unknown[] = [];
      const retries: number[] = [];
      const feed = createSseParser((f) => frames.push(f), (ms) => retries.push(ms));
      for (let i = 0; i < text.length; i += size) feed(text.slice(i, i + size));
      expect(frames).toEqual([
        { id: '1', event: 'a', data: '{"seq":1}' },
        { id: '2', event: undefined, data: '{"seq":\n2}' },
      ]);
      expect(retries).toEqual([1500]);
    }
  });
});
