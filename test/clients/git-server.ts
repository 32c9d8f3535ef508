// A strict smart-HTTP git server for the client suites: a bare repository, Basic credentials checked by a strict base64 decoder, `git http-backend` as CGI.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Handler, Recorded } from '../proxy/helpers.js';

/** An environment for git that ignores this machine's configuration (no system file, an empty HOME). */
export function isolatedGitEnv(home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', LANG: 'C' };
}

export interface BareRepo { dir: string; root: string; name: string; commit: string; file: string; content: string }

/** `<root>/repo.git` with one commit on main (pushed from a work tree, as a real remote is made); `dir` holds it all. */
export function makeBareRepo(): BareRepo {
  const base = mkdtempSync(join(tmpdir(), 'vg-git-repo-'));
  const root = join(base, 'srv');
  const work = join(base, 'work');
  mkdirSync(root);
  const env = isolatedGitEnv(base);
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8' }).trim();
  git(root, 'init', '-q', '--bare', '-b', 'main', 'repo.git');
  git(base, 'init', '-q', '-b', 'main', work);
  const content = `served by git http-backend, ${Date.now()}\n`;
  writeFileSync(join(work, 'README.md'), content);
  git(work, 'add', 'README.md');
  git(work, '-c', 'user.name=Vaultgate Test', '-c', 'user.email=test@vaultgate.invalid', 'commit', '-q', '-m', 'first');
  git(work, 'push', '-q', join(root, 'repo.git'), 'main');
  return { dir: base, root, name: 'repo.git', commit: git(work, 'rev-parse', 'HEAD'), file: 'README.md', content };
}

/**
 * Base64 as a strict standard decoder reads it (Python's `b64decode(validate=True)`, Go's
 * StdEncoding): whole 4-character groups, padding required, canonical trailing bits. Node's own
 * decoder accepts unpadded input, so it alone would not catch a proxy that drops the padding.
 */
export function strictBase64(token: string): Buffer | null {
  if (token.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(token)) return null;
  const bytes = Buffer.from(token, 'base64');
  return bytes.toString('base64') === token ? bytes : null;
}

/** What one request to the git server carried: `credentials` is `none`, `malformed`, or the decoded `user:password`. */
export interface GitSeen { host: string; path: string; credentials: string; status: number }

export interface GitRoute { handler: Handler; seen: GitSeen[] }

/** The decoded `user:password` of a Basic header, `none` without one, `malformed` when a strict decoder refuses it. */
function credentialsOf(authorization: string | undefined): string {
  if (authorization === undefined) return 'none';
  const m = /^Basic ([^ ]+)$/.exec(authorization);
  const bytes = m ? strictBase64(m[1] as string) : null;
  return bytes ? bytes.toString('utf8') : 'malformed';
}

/**
 * A route for the recording upstream (test/proxy/helpers.ts) serving `repo` to `user:password`
 * only. Without credentials it answers 401 with a Basic challenge, as git sends none before one.
 */
export function gitRoute(repo: BareRepo, user: string, password: string): GitRoute {
  const seen: GitSeen[] = [];
  const handler: Handler = (req, res) => {
    const credentials = credentialsOf(req.headers.authorization);
    const allowed = credentials === `${user}:${password}`;
    seen.push({ host: req.headers.host ?? '', path: req.url, credentials, status: allowed ? 200 : 401 });
    if (!allowed) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    runHttpBackend(repo, user, req, res);
  };
  return { handler, seen };
}

/** The CGI environment `git http-backend` reads (RFC 3875 plus git's own variables). */
function cgiEnv(repo: BareRepo, user: string, req: Recorded, bodyLength: number): Record<string, string> {
  const url = new URL(req.url, 'https://git.invalid');
  return {
    ...isolatedGitEnv(repo.root),
    GIT_PROJECT_ROOT: repo.root,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    CONTENT_LENGTH: String(bodyLength),
    GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
    REMOTE_USER: user,
    REMOTE_ADDR: '127.0.0.1',
  };
}

/** Runs http-backend for one request; its CGI head (Status and headers) becomes the response head, the rest is streamed. */
function runHttpBackend(repo: BareRepo, user: string, req: Recorded, res: http.ServerResponse): void {
  // git gzips larger POST bodies; http-backend is given the plain bytes and their length.
  const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(req.body) : req.body;
  const child = spawn('git', ['http-backend'], { env: cgiEnv(repo, user, req, body.length), stdio: ['pipe', 'pipe', 'pipe'] });
  let head = Buffer.alloc(0);
  let started = false;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    if (started) return void res.write(d);
    head = Buffer.concat([head, d]);
    const end = headEnd(head);
    if (!end) return;
    started = true;
    writeCgiHead(res, head.subarray(0, end.at).toString('latin1'));
    if (end.at + end.length < head.length) res.write(head.subarray(end.at + end.length));
  });
  child.on('close', (code) => {
    if (started) return void res.end();
    res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end(`http-backend exited ${code}: ${stderr}`);
  });
  child.stdin.end(body);
}

/** Where a CGI head ends: CGI allows LF as well as CRLF line ends. */
function headEnd(buf: Buffer): { at: number; length: number } | null {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  return lf >= 0 ? { at: lf, length: 2 } : null;
}

function writeCgiHead(res: http.ServerResponse, head: string): void {
  let status = 200;
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
    else res.appendHeader(name, value);
  }
  res.writeHead(status);
}
