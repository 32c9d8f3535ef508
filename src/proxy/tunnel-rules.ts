// The tunnel's destination rule (SPEC §6): the CONNECT authority is the only destination, so the
// SNI, every Host or :authority and every absolute-form target inside the tunnel must name exactly it.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { parseAuthority, type Destination } from '../core/host-match.js';
import { namesPlaceholder, placeholderInDestination, requestNamesPlaceholder } from './destination-guard.js';

/** The TLS client's SNI names the CONNECT host (case and a trailing dot aside). */
export function sniMatches(servername: string, destination: Destination): boolean {
  return servername.toLowerCase().replace(/\.$/, '') === destination.host;
}

/** The CONNECT authority is the only destination: every request must name exactly it. */
export function checkTunnelRequest(req: IncomingMessage, destination: Destination, o: { upgrade?: boolean } = {}): string | null {
  if (requestNamesPlaceholder(req)) return placeholderInDestination;
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
  if (hosts !== 1) return 'exactly one Host header is required';
  const host = parseAuthority(req.headers.host ?? '', 443);
  if (!host.ok || host.host !== destination.host || host.port !== destination.port) return 'Host does not match the CONNECT destination';
  const url = req.url ?? '';
  if (!url.startsWith('/')) {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return 'bad request target';
    }
    const abs = parseAuthority(target.host, target.protocol === 'https:' ? 443 : 80);
    if (target.protocol !== 'https:' || !abs.ok || abs.host !== destination.host || abs.port !== destination.port) {
      return 'request target names another host';
    }
  }
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') return 'unsupported Transfer-Encoding';
  if (te !== undefined && req.headers['content-length'] !== undefined) return 'both Transfer-Encoding and Content-Length';
  if (req.headers.upgrade !== undefined && !o.upgrade) return 'protocol upgrades are not supported';
  return null;
}

/**
 * The CONNECT authority is the only destination (SPEC §6): `:authority` (or Host, when a client sends
 * that instead) must name exactly it, and both must agree when both are sent. Extended CONNECT
 * (RFC 8441 WebSocket over HTTP/2) is not relayed.
 */
export function checkH2Request(req: Http2ServerRequest, destination: Destination): string | null {
  const headers = req.headers;
  const authority = headers[':authority'];
  const host = headers.host;
  if ((authority !== undefined && namesPlaceholder(authority)) || (host !== undefined && namesPlaceholder(host))) return placeholderInDestination;
  if (req.method === 'CONNECT') return 'CONNECT inside a tunnel is not supported';
  if (headers[':scheme'] !== 'https') return 'request target names another scheme';
  const named = authority ?? host;
  if (named === undefined) return 'exactly one Host header is required';
  if (authority !== undefined && host !== undefined && authority !== host) return 'Host does not match the CONNECT destination';
  const parsed = parseAuthority(named, 443);
  if (!parsed.ok || parsed.host !== destination.host || parsed.port !== destination.port) return 'Host does not match the CONNECT destination';
  return null;
}
