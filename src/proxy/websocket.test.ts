// The WebSocket handshake rules: the accept value, what a 101 must say, and the head relayed to the agent.
import { describe, expect, it } from 'vitest';
import { compileScrub } from '../core/scrub.js';
import { acceptProblem, switchingHead, webSocketAccept } from './websocket.js';

const key = 'dGhlIHNhbXBsZSBub25jZQ==';
const good = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-accept': 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' };

describe('webSocketAccept', () => {
  it('RFC 6455 §1.3 example', () => expect(webSocketAccept(key)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo='));
});

describe('acceptProblem', () => {
  const cases: [string, Record<string, string>, string | null][] = [
    ['a plain accept', good, null],
    ['Upgrade in another case, Connection listing more', { ...good, upgrade: 'WebSocket', connection: 'keep-alive, upgrade' }, null],
    ['no Upgrade', { ...good, upgrade: '' }, 'Upgrade is not websocket'],
    ['Upgrade: h2c', { ...good, upgrade: 'h2c' }, 'Upgrade is not websocket'],
    ['Connection without upgrade', { ...good, connection: 'keep-alive' }, 'Connection does not name upgrade'],
    ['Connection naming upgrades', { ...good, connection: 'upgrades' }, 'Connection does not name upgrade'],
    ['accept for another key', { ...good, 'sec-websocket-accept': webSocketAccept('AAAAAAAAAAAAAAAAAAAAAA==') }, 'Sec-WebSocket-Accept does not match the key'],
    ['no accept', { upgrade: 'websocket', connection: 'Upgrade' }, 'Sec-WebSocket-Accept does not match the key'],
    ['an extension the agent never got to offer', { ...good, 'sec-websocket-extensions': 'permessage-deflate' }, 'an extension was negotiated'],
  ];
  for (const [name, headers, want] of cases) it(name, () => expect(acceptProblem(headers, key)).toBe(want));
});

describe('switchingHead', () => {
  const raw = ['Upgrade', 'websocket', 'Connection', 'Upgrade', 'Sec-WebSocket-Accept', good['sec-websocket-accept'], 'Sec-WebSocket-Protocol', 'v1.secret-s3cr3t', 'Content-Length', '0'];
  it('keeps the end-to-end headers, writes its own Upgrade and Connection', () => {
    expect(switchingHead({ statusMessage: 'Switching Protocols', rawHeaders: raw }, null)?.toString('latin1')).toBe(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${good['sec-websocket-accept']}\r\nSec-WebSocket-Protocol: v1.secret-s3cr3t\r\n\r\n`,
    );
  });
  it('scrubs the reason phrase, header names and values', () => {
    const scrub = compileScrub([{ value: Buffer.from('s3cr3t'), placeholder: Buffer.from('vgph_X') }]);
    const head = switchingHead({ statusMessage: 'Switching s3cr3t', rawHeaders: [...raw, 'X-s3cr3t', 'a'] }, scrub)!.toString('latin1');
    expect(head).not.toContain('s3cr3t');
    expect(head).toContain('HTTP/1.1 101 Switching vgph_X\r\n');
    expect(head).toContain('Sec-WebSocket-Protocol: v1.secret-vgph_X\r\n');
    expect(head).toContain('X-vgph_X: a\r\n');
  });
  it('refuses what Node would not write itself', () => {
    expect(switchingHead({ statusMessage: 'ok\u0000', rawHeaders: [] }, null)).toBeNull();
    expect(switchingHead({ statusMessage: 'ok', rawHeaders: ['X-A', 'a\rb'] }, null)).toBeNull();
    expect(switchingHead({ statusMessage: 'ok', rawHeaders: ['X A', 'a'] }, null)).toBeNull();
  });
});
