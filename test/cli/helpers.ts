// Helpers of the CLI suite: run the built binary with stdin, drive it through a pseudo-terminal, API shortcuts.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { cliPath, type TestServer } from '../helpers/server.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function requireBuiltCli(): void {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run npm run build first`);
}

/** A home with no profile in it, so the developer's own profile never leaks into a test. */
export const emptyHome = () => mkdtempSync(join(tmpdir(), 'vg-cli-home-'));

/** The environment of a CLI run against `s`: only PATH, URL, key and an empty config home. */
export function cliEnv(s: { url: string; apiKey: string } | null, extra: Record<string, string> = {}): Record<string, string> {
  const home = emptyHome();
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    ...(s ? { VAULTGATE_URL: s.url, VAULTGATE_API_KEY: s.apiKey } : {}),
    ...extra,
  };
}

/** Runs `node dist/cli/main.js …args` with `input` on stdin (a pipe, always closed). */
export function runVg(args: string[], env: Record<string, string>, input = '', timeoutMs = 20_000): Promise<CliResult> {
  const child = spawn(process.execPath, [cliPath, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  child.stdin.on('error', () => {}); // the CLI may exit before reading stdin
  child.stdin.end(input);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `cliFor(s)(args, input)`: runs against server `s` with its admin key. */
export function cliFor(s: TestServer, extra: Record<string, string> = {}) {
  const env = cliEnv(s, extra);
  return (args: string[], input = '') => runVg(args, env, input);
}

/** Exit code 0 and the parsed `--json` output. */
export function okJson(r: CliResult): any {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** A failed run: exact exit code, exact (or matching) stderr, nothing on stdout. */
export function expectFailure(r: CliResult, code: number, stderr: string | RegExp): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  if (typeof stderr === 'string') expect(r.stderr).toBe(stderr);
  else expect(r.stderr).toMatch(stderr);
  expect(r.stdout).toBe('');
}

export interface PtyStep {
  /** Wait until the terminal output so far matches this. */
  waitFor: RegExp;
  /** Then type this (a terminal sends \r for Enter). */
  send: string;
}

/**
 * Runs the CLI inside a pseudo-terminal (util-linux `script`), typing each step's text once its
 * prompt shows; returns everything the terminal displayed.
 */
export function runInPty(args: string[], env: Record<string, string>, steps: PtyStep[], timeoutMs = 20_000): Promise<{ code: number | null; output: string }> {
  const quoted = [process.execPath, cliPath, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', quoted, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let next = 0;
  const advance = () => {
    for (let step = steps[next]; step && step.waitFor.test(output); step = steps[next]) {
      next += 1;
      child.stdin.write(step.send);
    }
  };
  child.stdout.on('data', (d) => {
    output += String(d);
    advance();
  });
  child.stderr.on('data', (d) => (output += String(d)));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, output });
    });
  });
}
