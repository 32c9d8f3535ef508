// Helpers of the CLI suite: a clean environment for the built binary, drive it through a pseudo-terminal, result checks.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli, type CliResult } from '../helpers/kit.js';
import { cliPath, type TestServer } from '../helpers/server.js';

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

/** `cliFor(s)(args, input)`: runs against server `s` with its admin key. */
export function cliFor(s: TestServer, extra: Record<string, string> = {}) {
  const env = cliEnv(s, extra);
  return (args: string[], input = '') => runCli(args, { env, input });
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
