// Dialing upstreams: connect-to mapping, the private-address guard after DNS, TLS trust, per-agent pools.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { createSecureContext, rootCertificates } from 'node:tls';

export interface UpstreamOptions {
  /** `host:port` → where to dial instead (like curl --connect-to); TLS is still verified for `host`. */
  connectTo: Map<string, { host: string; port: number }>;
  allowPrivate: boolean;
  /** Extra PEM CA certificates trusted for upstreams (beside the bundled roots). */
  extraCaPem: string | null;
  maxAgents?: number;
}

/** Loopback, private, link-local, CGNAT, metadata and other non-public ranges. */
function forbiddenAddresses(): BlockList {
  const list = new BlockList();
  const v4: [string, number][] = [
    ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
    ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
  ];
  for (const [net, prefix] of v4) list.addSubnet(net, prefix, 'ipv4');
  const v6: [string, number][] = [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['::ffff:0:0', 96], ['64:ff9b::', 96], ['fd00:ec2::254', 128]];
  for (const [net, prefix] of v6) list.addSubnet(net, prefix, 'ipv6');
  return list;
}

const forbidden = forbiddenAddresses();

export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return forbidden.check(address, family === 4 ? 'ipv4' : 'ipv6');
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
    map.set(`${match[1]!.toLowerCase()}:${Number(match[2])}`, { host: match[3]!.replace(/^\[|\]$/g, ''), port: Number(match[4]) });
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
    httpAgent: (agentId: string) => poolFor(agentId).http,
    /** For an IP literal target, the guard cannot run in lookup: check it here. */
    literalAllowed(host: string): boolean {
      return opts.allowPrivate || isIP(host) === 0 || !isForbiddenAddress(host);
    },
    close() {
      for (const pool of pools.values()) {
        pool.https.destroy();
        pool.http.destroy();
      }
      pools.clear();
    },
  };
}

export type Upstreams = ReturnType<typeof createUpstreams>;
