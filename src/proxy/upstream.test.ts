// isForbiddenAddress against ipaddr.js's range classification: ordinary unicast is dialled, nothing else.
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { isForbiddenAddress, parseConnectTo } from './upstream.js';

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

/** IPv4-compatible `::a.b.c.d`: ipaddr.js calls it unicast; Vaultgate refuses it (it embeds an IPv4 address). */
const compatible = ipaddr.IPv6.parseCIDR('::/96');
const expectedForbidden = (a: Addr) => a.range() !== 'unicast' || (a.kind() === 'ipv6' && (a as ipaddr.IPv6).match(compatible));

function toBig(a: Addr): bigint {
  return a.toByteArray().reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

function fromBig(n: bigint, kind: 'ipv4' | 'ipv6'): Addr | null {
  const size = kind === 'ipv4' ? 4 : 16;
  if (n < 0n || n >= 1n << BigInt(size * 8)) return null;
  const bytes = Array.from({ length: size }, (_, i) => Number((n >> BigInt((size - 1 - i) * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes);
}

/** First, middle and last address of every special range ipaddr.js knows, and the neighbours just outside. */
function boundaryAddresses(): Addr[] {
  const out: Addr[] = [];
  // ipaddr.js keeps its table on the prototypes (untyped): `name: [net, bits]` or `name: [[net, bits], …]`.
  const families = [['ipv4', ipaddr.IPv4.prototype], ['ipv6', ipaddr.IPv6.prototype]] as const;
  for (const [kind, proto] of families) {
    for (const entry of Object.values((proto as unknown as { SpecialRanges: Record<string, unknown[]> }).SpecialRanges)) {
      const cidrs = (Array.isArray((entry)[0]) ? entry : [entry]) as [Addr, number][];
      for (const [net, bits] of cidrs) {
        const first = toBig(net);
        const last = first + (1n << BigInt((kind === 'ipv4' ? 32 : 128) - bits)) - 1n;
        for (const n of [first - 1n, first, first + 1n, (first + last) / 2n, last - 1n, last, last + 1n]) {
          const a = fromBig(n, kind);
          if (a) out.push(a);
        }
      }
    }
  }
  return out;
}

describe('isForbiddenAddress agrees with ipaddr.js range()', () => {
  const table = boundaryAddresses();

  it('covers every special range (sanity)', () => {
    expect(table.length).toBeGreaterThan(200);
    expect(new Set(table.map((a) => a.range())).size).toBeGreaterThan(20);
  });

  it('unicast → allowed, every other range → forbidden, at both ends of each range', () => {
    const disagreements = table
      .map((a) => ({ address: a.toString(), range: a.range(), forbidden: isForbiddenAddress(a.toString()) }))
      .filter((row) => row.forbidden !== expectedForbidden(ipaddr.parse(row.address)));
    expect(disagreements).toEqual([]);
  });

  it('the same in the uncompressed IPv6 spelling', () => {
    const v6 = table.filter((a) => a.kind() === 'ipv6');
    expect(v6.filter((a) => isForbiddenAddress((a as ipaddr.IPv6).toNormalizedString()) !== expectedForbidden(a)).map(String)).toEqual([]);
  });
});

describe('hand-picked addresses', () => {
  const allowed = ['1.1.1.1', '8.8.8.8', '93.184.215.14', '140.82.112.3', '2606:4700:4700::1111', '2001:4860:4860::8888', '2a00:1450:4001:80b::200e', '2620:fe::fe', '2001:200::1'];
  const refused = [
    '::8.8.8.8', '::102:304', '::ffff:8.8.8.8', '::ffff:127.0.0.1', '::ffff:0:10.0.0.1', '64:ff9b::8.8.8.8', '64:ff9b::7f00:1', '64:ff9b:1::a00:1',
    '2002:c0a8:101::1', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001:db8::1', '2001:db8:ffff::1', 'fd00:ec2::254',
    '169.254.169.254', '192.0.2.1', '198.51.100.7', '203.0.113.9', '255.255.255.255', 'fe80::1%eth0', '2606:4700::1111%eth0', 'localhost', '',
  ];
  for (const a of allowed) it(`${a} is allowed`, () => expect(isForbiddenAddress(a)).toBe(false));
  for (const a of refused) it(`${JSON.stringify(a)} is forbidden`, () => expect(isForbiddenAddress(a)).toBe(true));
  it('ipaddr.js agrees on the allowed ones', () => expect(allowed.filter((a) => ipaddr.parse(a).range() !== 'unicast')).toEqual([]));
});

describe('parseConnectTo', () => {
  it('maps bracketed IPv6 authorities under the unbracketed host a Destination holds', () => {
    const map = parseConnectTo('[2001:DB8::1]:443=127.0.0.1:9443, api.example.com:80=[::1]:8080');
    expect([...map]).toEqual([
      ['2001:db8::1:443', { host: '127.0.0.1', port: 9443 }],
      ['api.example.com:80', { host: '::1', port: 8080 }],
    ]);
  });
});
