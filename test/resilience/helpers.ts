// Shared helpers of the resilience suite: a tiny HTTP client, ephemeral listeners, exit deadlines,
// file hashing and canary values (the CLI runner and the canary search are the kit's).
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../helpers/kit.js';

/** Every listener on an ephemeral port, so that parallel servers never collide. */
export const ephemeralAddrs = { VAULTGATE_API_ADDR: '127.0.0.1:0', VAULTGATE_PROXY_ADDR: '127.0.0.1:0' };

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** Operator API client for a server at `base` (e.g. http://127.0.0.1:1234). */
export function apiClient(base: string, apiKey: string) {
  const api = `${base}/api/public/v1`;
  return async function call(
    method: string,
    path: string,
    o: { body?: unknown; raw?: string; key?: string | null; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<HttpResult> {
    const headers: Record<string, string> = { ...o.headers };
    const key = o.key === undefined ? apiKey : o.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    const body = o.body !== undefined ? JSON.stringify(o.body) : o.raw;
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    const res = await fetch(path.startsWith('http') ? path : `${api}${path}`, { method, headers, body, signal: o.signal ?? null });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
}
export type Call = ReturnType<typeof apiClient>;

/** Resolves with the exit code, or rejects after `ms`. */
export function exitWithin(exited: Promise<number | null>, ms: number): Promise<number | null> {
  return Promise.race([exited, sleep(ms).then(() => Promise.reject(new Error(`process still running after ${ms} ms`)))]);
}

/** sha256 of every file in `dir` (not recursive): name → hex digest plus mode. */
export function hashDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = statSync(path);
    if (!st.isFile()) continue;
    out[name] = `${createHash('sha256').update(readFileSync(path)).digest('hex')} mode=${(st.mode & 0o777).toString(8)}`;
  }
  return out;
}

export function randomCanary(label: string): string {
  // ':' '/' '+' make the percent-encoded and JSON forms differ from the raw one.
  return `cnry:${label}/${randomBytes(12).toString('hex')}+${randomBytes(6).toString('base64url')}`;
}

export function headersText(h: Headers): string {
  return [...h.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
}
