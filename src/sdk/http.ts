// The SDK's one request function: JSON in, JSON out, every failure thrown as VaultgateError.
import type { ErrorCode } from '../contract/errors.js';

/** The error the SDK throws: the HTTP status, the API's stable code and its message. */
export class VaultgateError extends Error {
  readonly status: number;
  readonly code: ErrorCode | 'network_error' | 'bad_response';

  constructor(status: number, code: VaultgateError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VaultgateError';
    this.status = status;
    this.code = code;
  }
}

export interface Transport {
  baseUrl: string;
  token: string;
  fetch: typeof fetch;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | string[] | undefined>;
  headers?: Record<string, string>;
}

export interface Response<T> {
  data: T;
  status: number;
  headers: Headers;
}

export function buildUrl(base: string, path: string, query?: RequestOptions['query']): string {
  const url = new URL(path.replace(/^\//, ''), base.endsWith('/') ? base : `${base}/`);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
  }
  return url.toString();
}

export async function request<T>(t: Transport, method: string, path: string, opts: RequestOptions = {}): Promise<Response<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${t.token}`, accept: 'application/json', ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: globalThis.Response;
  try {
    res = await t.fetch(buildUrl(t.baseUrl, path, opts.query), {
      method,
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
  } catch (err) {
    throw new VaultgateError(0, 'network_error', `cannot reach Vaultgate at ${t.baseUrl}`, { cause: err });
  }
  const text = await res.text();
  let data: unknown = undefined;
  if (text !== '') {
    try {
      data = JSON.parse(text);
    } catch {
      throw new VaultgateError(res.status, 'bad_response', `unexpected response (HTTP ${res.status})`);
    }
  }
  if (!res.ok) {
    const body = (data ?? {}) as { error?: string; code?: ErrorCode };
    throw new VaultgateError(res.status, body.code ?? 'internal', body.error ?? `HTTP ${res.status}`);
  }
  return { data: data as T, status: res.status, headers: res.headers };
}

/** The next-page cursor from a `Link: <…?cursor=X>; rel="next"` header, if any. */
export function nextCursor(headers: Headers, param = 'cursor'): string | undefined {
  const link = headers.get('link');
  const target = link ? /<([^>]+)>;\s*rel="next"/.exec(link)?.[1] : undefined;
  return target ? (new URL(target, 'http://x').searchParams.get(param) ?? undefined) : undefined;
}
