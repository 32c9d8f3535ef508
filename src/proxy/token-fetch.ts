// The default token-endpoint fetcher: one HTTPS POST, no redirects, bounded in time and answer size.
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { TokenFetcher } from '../services/token-endpoint.js';

export interface TokenFetchOptions {
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
  readonly code: 'ETIMEDOUT' | 'ETOOLARGE' | 'EPROTOCOL';

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
      const req = https.request(tokenUrl, {
        method: 'POST',
        headers: { ...headers, 'content-length': String(body.length) },
        agent: false,
        ...(ca ? { ca } : {}),
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
