// Table tests for spotting a placeholder in a destination and for what the audit may record of it.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { namesPlaceholder, redactedDestination, requestNamesPlaceholder } from './destination-guard.js';

const ph = `vgph_${'Ab1'.repeat(13)}C`;

describe('redactedDestination', () => {
  const rows: [string, number, string, number][] = [
    [`${ph}.evil.test:443`, 443, 'vgph_….evil.test', 443],
    [`${ph.toUpperCase()}.Evil.Test`, 80, 'vgph_….evil.test', 80],
    [`a.${ph}.b.${ph}.evil.test:8443`, 443, 'vgph_….evil.test', 8443],
    [`${ph}:443`, 443, 'vgph_…', 443],
    [`${ph}.evil\u0000.test`, 443, 'vgph_….evil?.test', 443],
    // The placeholder's 40 characters written as a label of their own are not recorded either.
    [`vgph_.${ph.slice(5)}.evil.test`, 443, 'vgph_….….evil.test', 443],
  ];
  for (const [authority, port, host, expectedPort] of rows) {
    it(`${JSON.stringify(authority)} → ${host}`, () => {
      const d = redactedDestination(authority, port);
      expect(d).toEqual({ host, port: expectedPort, isIp: false });
      expect(d.host).not.toContain(ph.toLowerCase());
      expect(d.host).not.toContain(ph.slice(5).toLowerCase());
    });
  }
});

describe('requestNamesPlaceholder', () => {
  const req = (url: string, headers: string[]) => ({ url, rawHeaders: headers }) as unknown as IncomingMessage;
  const rows: [string, string[], boolean][] = [
    ['/', ['Host', 'api.stripe.com'], false],
    [`/v1/${ph}?q=${ph}`, ['Host', 'api.stripe.com', 'Authorization', ph], false],
    ['/', ['Host', `${ph}.evil.test`], true],
    ['/', ['host', 'api.stripe.com', 'HOST', `VGPH_x.evil.test`], true],
    [`https://${ph}.evil.test/x`, ['Host', 'api.stripe.com'], true],
    [`https://api.stripe.com/${ph}`, ['Host', 'api.stripe.com'], false],
    [`https://api.stripe.com\\${ph}`, ['Host', 'api.stripe.com'], false],
    [`https:${ph}.evil.test/x`, ['Host', 'api.stripe.com'], true],
    [`${ph}.evil.test:443`, ['Host', 'api.stripe.com'], true],
  ];
  for (const [url, headers, expected] of rows) {
    it(`${url} ${headers.join(' ')} → ${expected}`, () => expect(requestNamesPlaceholder(req(url, headers))).toBe(expected));
  }
  it('namesPlaceholder is case-insensitive and needs no full token', () => {
    expect(['vgph_', 'VGPH_', 'a.Vgph_b', 'vgph-x', 'vgp_h'].map(namesPlaceholder)).toEqual([true, true, true, false, false]);
  });
});
