// Exit codes, and the one place where an error becomes `vaultgate: <message>` on stderr.
import { CommanderError } from 'commander';
import { VaultError } from '../contract/errors.js';
import { ConfigError } from '../config.js';
import { VaultgateError } from '../sdk/index.js';
import { SpecError } from './agents-apply.js';

export const exitCodes = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  conflict: 5,
  server: 6,
  network: 7,
} as const;

/** An error the CLI raises itself, with the exit code it stands for. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;

  constructor(message: string, exitCode: number = exitCodes.failure) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** A command used the wrong way: exit 2. */
export class UsageError extends CliError {
  override name = 'UsageError';

  constructor(message: string) {
    super(message, exitCodes.usage);
  }
}

/** The exit code for an HTTP status from the API (0: the server was not reached). */
export function exitCodeForStatus(status: number): number {
  if (status === 0) return exitCodes.network;
  if (status === 401 || status === 403 || status === 407) return exitCodes.auth;
  if (status === 404) return exitCodes.notFound;
  if (status >= 500) return exitCodes.server;
  if (status >= 400) return exitCodes.conflict;
  return exitCodes.failure;
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof VaultgateError) return err.code === 'bad_response' ? exitCodes.server : exitCodeForStatus(err.status);
  if (err instanceof VaultError) return exitCodeForStatus(err.status);
  if (err instanceof ConfigError) return exitCodes.usage;
  if (err instanceof SpecError) return exitCodes.conflict;
  return exitCodes.failure;
}

/** Errors whose message is meant for the user; anything else is a bug and says so. */
function isExpected(err: unknown): err is Error {
  return err instanceof Error && /Error$/.test(err.name) && err.name !== 'Error' && err.name !== 'TypeError' && err.name !== 'RangeError';
}

/** Writes the error to stderr (the server's message for API errors) and returns the exit code. */
export function reportError(err: unknown, write: (text: string) => void): number {
  if (err instanceof CommanderError) return exitCodeOf(err); // commander printed it already
  if (isExpected(err)) {
    write(`vaultgate: ${err.message}\n`);
    return exitCodeOf(err);
  }
  write('vaultgate: unexpected error\n');
  write(`${String((err as Error)?.stack ?? err)}\n`);
  return exitCodes.failure;
}
