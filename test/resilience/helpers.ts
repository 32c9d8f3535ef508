// Shared helpers of the resilience suite: a tiny HTTP client, CLI runs, file hashing and the
// canary search (raw, base64/base64url at every alignment, hex, percent, JSON escapes, UTF-16LE).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath } from '../helpers/server.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Every listener on an ephemeral port, so that parallel servers never collide. */
export const ephemeralAddrs = { VAULTGATE_API_ADDR: '127.0.0.1:0', VAULTGATE_PROXY_ADDR: '127.0.0.1:0' };

export function requireBuiltCli(): void {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run npm run build first`);
}

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

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli/main.js …args` with only PATH and `env`; kills it after `timeoutMs`. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 15_000): Promise<CliResult> {
  const child = spawn(process.execPath, [cliPath, ...args], {
    env: { PATH: process.env.PATH ?? '', VAULTGATE_API_ADDR: '127.0.0.1:0', VAULTGATE_PROXY_ADDR: '127.0.0.1:0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child, timeoutMs);
}

export function collect(child: ChildProcess, timeoutMs = 15_000): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += String(d)));
  child.stderr?.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Let the pipes drain before reporting.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
}

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

/** Base64 text that appears wherever `bytes` is encoded inside a longer base64 blob, at alignment 0, 1 or 2. */
function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const text = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64').replace(/=+$/, '');
    const first = shift === 0 ? 0 : shift === 1 ? 2 : 3; // first char made only of `bytes` bits
    const last = Math.floor(((shift + bytes.length) * 8) / 6); // chars made only of existing bits
    cores.push(text.slice(first, last));
  }
  return cores;
}

const percent = (s: string, upper: boolean) =>
  [...Buffer.from(s, 'utf8')]
    .map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`))
    .join('')
    .replace(/%[0-9a-f]{2}/g, (m) => (upper ? m.toUpperCase() : m));

const jsonAsciiEscaped = (s: string) => JSON.stringify(s).slice(1, -1).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

export interface Needle {
  canary: string;
  encoding: string;
  bytes: Buffer;
}

/** Every form in which `text` could leak. Long texts are searched by three 48-char slices. */
export function needlesFor(text: string): Needle[] {
  const chars = [...text];
  const pieces = chars.length <= 96 ? [text] : [0, Math.floor(chars.length / 2), chars.length - 48].map((i) => chars.slice(i, i + 48).join(''));
  const out: Needle[] = [];
  for (const piece of pieces) {
    const utf8 = Buffer.from(piece, 'utf8');
    const add = (encoding: string, s: string | Buffer) => out.push({ canary: text, encoding, bytes: Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8') });
    add('raw', utf8);
    add('json-escaped', JSON.stringify(piece).slice(1, -1));
    add('json-ascii-escaped', jsonAsciiEscaped(piece));
    base64Cores(utf8).forEach((c, i) => {
      add(`base64@${i}`, c);
      add(`base64url@${i}`, c.replace(/\+/g, '-').replace(/\//g, '_'));
    });
    add('hex', utf8.toString('hex'));
    add('HEX', utf8.toString('hex').toUpperCase());
    add('percent', percent(piece, true));
    add('percent-lower', percent(piece, false));
    add('percent-form', percent(piece, true).replace(/%20/g, '+'));
    add('utf16le', Buffer.from(piece, 'utf16le'));
  }
  // Drop duplicates (e.g. percent == raw for plain text) so hit lists stay readable.
  const unique = new Map<string, Needle>();
  for (const n of out) if (!unique.has(n.bytes.toString('hex'))) unique.set(n.bytes.toString('hex'), n);
  return [...unique.values()];
}

export interface Hit {
  where: string;
  canary: string;
  encoding: string;
}

export function searchBuffer(where: string, haystack: Buffer | string, needles: Needle[]): Hit[] {
  const hay = Buffer.isBuffer(haystack) ? haystack : Buffer.from(haystack, 'utf8');
  return needles.filter((n) => hay.indexOf(n.bytes) !== -1).map((n) => ({ where, canary: n.canary.slice(0, 40), encoding: n.encoding }));
}

/** Searches every regular file of `dir` as raw bytes. */
export function searchDir(dir: string, needles: Needle[]): Hit[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isFile() ? searchBuffer(`${dir}/${name}`, readFileSync(path), needles) : [];
  });
}

/** Reads an SSE response body until `until(text)` holds or `ms` pass, then aborts. */
export async function readSse(url: string, apiKey: string, until: (text: string) => boolean, ms = 3000, headers: Record<string, string> = {}): Promise<{ headers: Headers; text: string }> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), ms);
  const res = await fetch(url, { headers: { authorization: `Bearer ${apiKey}`, ...headers }, signal: ctrl.signal });
  let text = '';
  try {
    const reader = res.body!.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
      if (until(text)) break;
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
    ctrl.abort();
  }
  return { headers: res.headers, text };
}

export function headersText(h: Headers): string {
  return [...h.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
}
