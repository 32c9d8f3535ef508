// The default token-endpoint fetcher: one HTTPS POST, no redirects, bounded in time and answer size.
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { rootCertificates, type SecureContext } from 'node:tls';
import type { TokenFetcher } from '../services/token-endpoint.js';

export interface TokenFetchOptions {
  /** Where to dial for a host and port (the proxy's VAULTGATE_PROXY_CONNECT_TO); TLS is still verified for the URL's host. */
  route?: (host: string, port: number) => { host: string; port: number };
  /** The proxy's upstream trust (the upstream CA file beside the roots). */
  secureContext?: SecureContext;
  /** Whether an IP literal may be dialled (the lookup's guard cannot see one). */
  literalAllowed?: (host: string) => boolean;
  /** PEM certificates trusted besides Node's roots (the upstream CA file). */
  ca?: string[];
  /** Name resolution, e.g. the proxy's guarded lookup or its CONNECT_TO map. */
  lookup?: LookupFunction;
  /** From the request's start to the answer's last byte (default 10 s). */
  timeoutMs?: number;
  /** The largest answer read (default 1 MiB). */
  maxBytes?: number;
}

/** Why a fetch failed, as a code: its message names no request content. */
export class TokenFetchError extends Error {
  readonly code: 'ETIMEDOUT' | 'ETOOLARGE' | 'EPROTOCOL' | 'EFORBIDDEN';

  constructor(code: TokenFetchError['code'], message: string) {
    super(message);
    this.name = 'TokenFetchError';
    this.code = code;
  }
}

export function createTokenFetcher(opts: TokenFetchOptions = {}): TokenFetcher {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  const ca = opts.ca && opts.ca.length > 0 ? [...rootCertificates, ...opts.ca] : undefined;

  return (tokenUrl, form, headers) =>
    new Promise((resolve, reject) => {
      if (tokenUrl.protocol !== 'https:') {
        reject(new TokenFetchError('EPROTOCOL', 'the token endpoint must be an https URL'));
        return;
      }
      const body = Buffer.from(form.toString(), 'utf8');
      const to = opts.route ? opts.route(tokenUrl.hostname, Number(tokenUrl.port || 443)) : { host: tokenUrl.hostname, port: Number(tokenUrl.port || 443) };
      if (opts.literalAllowed && !opts.literalAllowed(to.host)) {
        reject(new TokenFetchError('EFORBIDDEN', 'the token endpoint resolves to an address that is not allowed'));
        return;
      }
      const req = https.request({
        host: to.host,
        port: to.port,
        path: `${tokenUrl.pathname}${tokenUrl.search}`,
        servername: tokenUrl.hostname,
        method: 'POST',
        headers: { ...headers, host: tokenUrl.host, 'content-length': String(body.length) },
        agent: false,
        ...(opts.secureContext ? { secureContext: opts.secureContext } : ca ? { ca } : {}),
        ...(opts.lookup ? { lookup: opts.lookup } : {}),
      });
      const timer = setTimeout(() => req.destroy(new TokenFetchError('ETIMEDOUT', `the token endpoint did not answer within ${timeoutMs} ms`)), timeoutMs);
      const tooLarge = () => new TokenFetchError('ETOOLARGE', `the token endpoint's answer exceeds ${maxBytes} bytes`);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.on('response', (res) => {
        if (Number(res.headers['content-length'] ?? 0) > maxBytes) {
          req.destroy(tooLarge());
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) req.destroy(tooLarge());
          else chunks.push(chunk);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      req.end(body);
    });
}
