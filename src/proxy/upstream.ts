// Dialing upstreams: connect-to mapping, the private-address guard after DNS, TLS trust, per-agent pools.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { createH2Upstreams } from './upstream-h2.js';

export interface UpstreamOptions {
  /** `host:port` → where to dial instead (like curl --connect-to); TLS is still verified for `host`. */
  connectTo: Map<string, { host: string; port: number }>;
  allowPrivate: boolean;
  /** Extra PEM CA certificates trusted for upstreams (beside the bundled roots). */
  extraCaPem: string | null;
  maxAgents?: number;
}

/**
 * Every special-purpose range (IANA registries, as ipaddr.js classifies them) plus the IPv4-compatible
 * `::/96`: only ordinary unicast is dialled. Ranges that embed an IPv4 address (mapped, compatible,
 * NAT64, 6to4, Teredo) are refused whole, so no IPv6 spelling reaches a private IPv4 address.
 */
function forbiddenAddresses(): { v4: BlockList; v6: BlockList } {
  const v4list = new BlockList();
  const v6list = new BlockList();
  const v4: [string, number][] = [
    ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
    ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.31.196.0', 24], ['192.52.193.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
    ['192.175.48.0', 24], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
  ];
  for (const [net, prefix] of v4) v4list.addSubnet(net, prefix, 'ipv4');
  const v6: [string, number][] = [
    // IPv4-compatible (with :: and ::1), IPv4-mapped, IPv4-translated, NAT64 (well-known and local-use).
    ['::', 96], ['::ffff:0:0', 96], ['::ffff:0:0:0', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48],
    // Discard-only, IETF protocol assignments (Teredo, benchmarking, ORCHID, …), documentation, 6to4, AS112.
    ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['2002::', 16], ['2620:4f:8000::', 48], ['3fff::', 20],
    // Segment routing, unique local (and the EC2 metadata address in it), site-local, link-local, multicast.
    ['5f00::', 16], ['fc00::', 7], ['fec0::', 10], ['fe80::', 10], ['ff00::', 8],
  ];
  for (const [net, prefix] of v6) v6list.addSubnet(net, prefix, 'ipv6');
  // One list per family: BlockList checks an IPv4 address against IPv6 rules as `::ffff:a.b.c.d`,
  // so the IPv4-mapped rule in a shared list would refuse every IPv4 address.
  return { v4: v4list, v6: v6list };
}

const forbidden = forbiddenAddresses();

export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  // A zone id (`fe80::1%eth0`) only means something on a link; no public destination carries one.
  if (family === 0 || address.includes('%')) return true;
  return family === 4 ? forbidden.v4.check(address, 'ipv4') : forbidden.v6.check(address, 'ipv6');
}

export class ForbiddenDestinationError extends Error {
  override name = 'ForbiddenDestinationError';
  readonly code = 'EVAULTGATE_FORBIDDEN';
}

/** dns.lookup that refuses every forbidden address, so the check holds after resolution. */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const usable = allowPrivate ? addresses : addresses.filter((a) => !isForbiddenAddress(a.address));
      const first = usable[0];
      if (!first) return callback(new ForbiddenDestinationError('destination resolves only to forbidden addresses'), '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
      callback(null, first.address, first.family);
    });
  };
}

export function parseConnectTo(spec: string | null): Map<string, { host: string; port: number }> {
  const map = new Map<string, { host: string; port: number }>();
  for (const item of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const match = /^([^=\s]+):(\d{1,5})=([^=\s]+):(\d{1,5})$/.exec(item);
    if (!match) throw new Error('VAULTGATE_PROXY_CONNECT_TO must look like host:port=addr:port[,…]');
    // Keys are looked up as `host:port` with the host as a Destination holds it: an IPv6 literal unbracketed.
    map.set(`${match[1]!.toLowerCase().replace(/^\[|\]$/g, '')}:${Number(match[2])}`, { host: match[3]!.replace(/^\[|\]$/g, ''), port: Number(match[4]) });
  }
  return map;
}

/** One keep-alive pool per agent: an upstream connection is never shared between agents. */
export function createUpstreams(opts: UpstreamOptions) {
  // Trust is parsed once into one context: passing `ca` to the agent made Node re-parse ~145
  // certificates for every connection and build a 200 KB pool key per request (bench/notes/proxy.md).
  const secureContext = opts.extraCaPem ? createSecureContext({ ca: [...rootCertificates, opts.extraCaPem] }) : undefined;
  const lookup = guardedLookup(opts.allowPrivate);
  const maxAgents = opts.maxAgents ?? 1000;
  const pools = new Map<string, { https: https.Agent; http: http.Agent }>();
  const h2 = createH2Upstreams({ lookup, secureContext, idleMs: 60_000, maxSessions: maxAgents });

  function poolFor(agentId: string) {
    let pool = pools.get(agentId);
    if (pool) {
      pools.delete(agentId);
    } else {
      pool = {
        https: new https.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64, lookup, ...(secureContext ? { secureContext } : {}) }),
        http: new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64, lookup }),
      };
    }
    pools.set(agentId, pool);
    while (pools.size > maxAgents) {
      const [oldest, old] = pools.entries().next().value as [string, { https: https.Agent; http: http.Agent }];
      old.https.destroy();
      old.http.destroy();
      pools.delete(oldest);
    }
    return pool;
  }

  return {
    /** Where to dial for a destination, after the connect-to mapping. */
    target(host: string, port: number): { host: string; port: number } {
      return opts.connectTo.get(`${host}:${port}`) ?? { host, port };
    },
    httpsAgent: (agentId: string) => poolFor(agentId).https,
    /**
     * The pools' trust and guarded lookup, for a connection that leaves the pools for good (a
     * WebSocket upgrade): it would otherwise hold one of the agent's pooled sockets while it lasts.
     */
    dialOptions: (): { lookup: LookupFunction; secureContext?: SecureContext } => ({ lookup, ...(secureContext ? { secureContext } : {}) }),
    /** HTTP/2 sessions, one per agent tunnel, for clients that speak it to upstreams that do. */
    h2,
    httpAgent: (agentId: string) => poolFor(agentId).http,
    /** For an IP literal target, the guard cannot run in lookup: check it here. */
    literalAllowed(host: string): boolean {
      return opts.allowPrivate || isIP(host) === 0 || !isForbiddenAddress(host);
    },
    close() {
      h2.close();
      for (const pool of pools.values()) {
        pool.https.destroy();
        pool.http.destroy();
      }
      pools.clear();
    },
  };
}

export type Upstreams = ReturnType<typeof createUpstreams>;
