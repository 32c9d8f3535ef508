// The kit every suite shares: sleep, the built-CLI check, the one CLI runner, the one SSE reader
// and the one canary search (raw, JSON escapes, base64/base64url at every alignment, hex, percent, UTF-16LE).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { cliPath } from './server.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function requireBuiltCli(): void {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run npm run build first`);
}

// ---- The CLI runner ----

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The child's whole environment besides PATH: nothing else leaks in from the test process. */
  env?: Record<string, string>;
  /** Adds VAULTGATE_URL and VAULTGATE_API_KEY for this server (before `env`, which may override them). */
  server?: { url: string; apiKey: string };
  /** Written to stdin, which is then closed (always closed: the CLI never waits on a terminal). */
  input?: string;
  cwd?: string;
  /** SIGKILL after this long; none by default for `startCli`, 20 s for `runCli`. */
  timeoutMs?: number;
}

export interface CliProcess {
  child: ChildProcess;
  /** Resolves once the process exited and its output is complete. */
  done: Promise<CliResult>;
  /** The output so far, while it runs. */
  out: () => string;
  err: () => string;
}

/** Starts `node dist/cli/main.js …args`, for a caller that watches it while it runs. */
export function startCli(args: string[], o: CliOptions = {}): CliProcess {
  const server = o.server ? { VAULTGATE_URL: o.server.url, VAULTGATE_API_KEY: o.server.apiKey } : {};
  const child = spawn(process.execPath, [cliPath, ...args], { env: { PATH: process.env.PATH ?? '', ...server, ...o.env }, cwd: o.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  child.stdin.on('error', () => {}); // the CLI may exit before reading stdin
  child.stdin.end(o.input ?? '');
  const timer = o.timeoutMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { child, done, out: () => stdout, err: () => stderr };
}

/** Runs `node dist/cli/main.js …args` to its end (killed after 20 s unless `timeoutMs` says otherwise). */
export function runCli(args: string[], o: CliOptions = {}): Promise<CliResult> {
  return startCli(args, { timeoutMs: 20_000, ...o }).done;
}

/** `vaultgate admin org create` against a running server's store (WAL lets both write). */
export async function createOrgViaCli(s: { storeEnv: Record<string, string> }, name: string): Promise<{ org_id: string; api_key: string }> {
  requireBuiltCli();
  const r = await runCli(['admin', 'org', 'create', name, '--json'], { env: s.storeEnv });
  if (r.code !== 0) throw new Error(`admin org create exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// ---- The SSE reader ----

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
  retry?: string;
}

/** A raw `http.get` SSE client on the operator API that splits the stream into frames (blocks separated by a blank line). */
export class SseClient {
  readonly frames: SseFrame[] = [];
  raw = '';
  status = 0;
  headers: Headers = new Headers();
  /** How the stream ended: 'end' when the server closed it cleanly, else `error …`. */
  ended: Promise<string> = new Promise(() => {});
  private req: http.ClientRequest | null = null;
  private waiters: (() => void)[] = [];
  private offset = 0;

  static async open(s: { api: string; apiKey: string }, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    await new Promise<void>((resolve, reject) => {
      c.req = http.get(`${s.api}${path}`, { headers: { authorization: `Bearer ${s.apiKey}`, ...headers } }, (res) => {
        c.status = res.statusCode ?? 0;
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) c.headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        c.ended = new Promise((settle) => {
          res.on('end', () => settle('end'));
          res.on('error', (err) => settle(`error ${err.message}`));
          res.on('close', () => settle(res.complete ? 'end' : 'error closed before the end'));
        });
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => c.push(chunk));
        resolve();
      });
      c.req.on('error', reject);
    });
    return c;
  }

  get contentType(): string {
    return this.headers.get('content-type') ?? '';
  }

  private push(chunk: string): void {
    this.raw += chunk;
    let end: number;
    while ((end = this.raw.indexOf('\n\n', this.offset)) !== -1) {
      const frame: SseFrame = {};
      for (const line of this.raw.slice(this.offset, end).split('\n')) {
        if (line.startsWith(':')) frame.comment = line.slice(1).trim();
        else {
          const at = line.indexOf(': ');
          frame[line.slice(0, at) as 'id' | 'event' | 'data' | 'retry'] = line.slice(at + 2);
        }
      }
      this.frames.push(frame);
      this.offset = end + 2;
    }
    for (const w of this.waiters.splice(0)) w();
  }

  events(): any[] {
    return this.frames.filter((f) => f.data !== undefined).map((f) => JSON.parse(f.data as string));
  }

  /** Resolves once `pred` holds, or rejects after `ms`. */
  async until(pred: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`SSE condition not met in ${ms} ms; received:\n${this.raw.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.req?.destroy();
  }
}

// ---- The canary search ----

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

/** Searches every regular file under `dir`, recursively, as raw bytes. */
export function searchDir(dir: string, needles: Needle[]): Hit[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) return searchDir(path, needles);
    return st.isFile() ? searchBuffer(path, readFileSync(path), needles) : [];
  });
}

/** The forms of one `secret` found in `hay`, as `where: encoding` lines (empty: no leak). */
export function leaks(where: string, hay: string | Buffer, secret: string): string[] {
  return searchBuffer(where, hay, needlesFor(secret)).map((h) => `${h.where}: ${h.encoding}`);
}
