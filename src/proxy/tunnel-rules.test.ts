import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { describe, expect, it } from 'vitest';
import { checkH2Request, checkTunnelRequest, sniMatches } from './tunnel-rules.js';

const destination = { host: 'api.stripe.com', port: 443, isIp: false };

/** An HTTP/1.1 request as Node's parser leaves it: raw pairs, and the lower-cased view (last Host wins there). */
function req(url: string, raw: [string, string][]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of raw) headers[name.toLowerCase()] = value;
  return { url, rawHeaders: raw.flat(), headers } as unknown as IncomingMessage;
}

describe('checkTunnelRequest: every request in a tunnel names exactly the CONNECT authority', () => {
  it.each([
    ['origin-form, Host is the authority', '/v1/charges', [['Host', 'api.stripe.com']], null],
    ['Host with the default port spelled out', '/', [['Host', 'api.stripe.com:443']], null],
    ['Host in capitals', '/', [['Host', 'API.Stripe.COM']], null],
    ['absolute-form https target naming the authority', 'https://api.stripe.com/v1', [['Host', 'api.stripe.com']], null],
    ['no Host', '/', [], 'exactly one Host header is required'],
    ['two Host headers', '/', [['Host', 'api.stripe.com'], ['Host', 'evil.com']], 'exactly one Host header is required'],
    ['another host', '/', [['Host', 'evil.com']], 'Host does not match the CONNECT destination'],
    ['another port', '/', [['Host', 'api.stripe.com:8443']], 'Host does not match the CONNECT destination'],
    ['a look-alike suffix', '/', [['Host', 'api.stripe.com.evil.com']], 'Host does not match the CONNECT destination'],
    ['absolute-form target naming another host', 'https://evil.com/', [['Host', 'api.stripe.com']], 'request target names another host'],
    ['absolute-form plain http target', 'http://api.stripe.com/', [['Host', 'api.stripe.com']], 'request target names another host'],
    ['unparseable target', 'https://[/', [['Host', 'api.stripe.com']], 'bad request target'],
    ['a placeholder in Host is named as such, before anything else', '/', [['Host', 'vgph_abc.evil.com']], 'placeholder in the destination'],
    ['a placeholder in the target', 'https://vgph_abc/', [['Host', 'api.stripe.com']], 'placeholder in the destination'],
    ['a transfer coding other than chunked', '/', [['Host', 'api.stripe.com'], ['Transfer-Encoding', 'gzip, chunked']], 'unsupported Transfer-Encoding'],
    ['both framings', '/', [['Host', 'api.stripe.com'], ['Transfer-Encoding', 'chunked'], ['Content-Length', '3']], 'both Transfer-Encoding and Content-Length'],
    ['an upgrade outside the WebSocket path', '/', [['Host', 'api.stripe.com'], ['Upgrade', 'h2c']], 'protocol upgrades are not supported'],
  ] as const)('%s', (_name, url, raw, expected) => {
    expect(checkTunnelRequest(req(url, raw as unknown as [string, string][]), destination)).toBe(expected);
  });

  it('an upgrade is let through where the caller handles upgrades', () => {
    expect(checkTunnelRequest(req('/', [['Host', 'api.stripe.com'], ['Upgrade', 'websocket']]), destination, { upgrade: true })).toBeNull();
  });
});

describe('checkH2Request: :authority (or Host) names exactly the CONNECT authority', () => {
  const h2 = (headers: Record<string, string>, method = 'GET') => ({ headers: { ':scheme': 'https', ...headers }, method }) as unknown as Http2ServerRequest;
  it.each([
    [':authority is the destination', { ':authority': 'api.stripe.com' }, null],
    ['Host alone is the destination', { host: 'api.stripe.com' }, null],
    ['neither', {}, 'exactly one Host header is required'],
    [':authority and Host disagree', { ':authority': 'api.stripe.com', host: 'evil.com' }, 'Host does not match the CONNECT destination'],
    ['another host', { ':authority': 'evil.com' }, 'Host does not match the CONNECT destination'],
    ['plain http scheme', { ':authority': 'api.stripe.com', ':scheme': 'http' }, 'request target names another scheme'],
    ['a placeholder in :authority', { ':authority': 'VGPH_x.api.stripe.com' }, 'placeholder in the destination'],
  ] as const)('%s', (_name, headers, expected) => {
    expect(checkH2Request(h2(headers), destination)).toBe(expected);
  });

  it('CONNECT inside the tunnel is refused', () => {
    expect(checkH2Request(h2({ ':authority': 'api.stripe.com' }, 'CONNECT'), destination)).toBe('CONNECT inside a tunnel is not supported');
  });
});

describe('sniMatches', () => {
  it.each([
    ['api.stripe.com', true],
    ['API.STRIPE.COM', true],
    ['api.stripe.com.', true],
    ['stripe.com', false],
    ['api.stripe.com.evil.com', false],
    ['', false],
  ])('%j → %s', (servername, expected) => expect(sniMatches(servername, destination)).toBe(expected));
});
