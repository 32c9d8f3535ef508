// Where a secret value comes from: stdin, a file or a prompt with echo off; never the command line.
import { readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { CliError, UsageError } from './errors.js';

/** Flags that would carry a value in argv, where `ps` and shell history keep it. */
const valueFlags = ['--value', '--secret-value', '--password', '--passwd', '--plaintext'];
const credentialFlags = ['--api-key', '--apikey', '--token'];
const maxInputBytes = 1024 * 1024;

const matches = (arg: string, flag: string) => arg === flag || arg.startsWith(`${flag}=`);

/** Refuses a value given in argv before anything parses (or echoes) it. Arguments after `--` belong to `run`'s child. */
export function refuseArgvValues(args: readonly string[]): void {
  const end = args.indexOf('--');
  for (const arg of end === -1 ? args : args.slice(0, end)) {
    const value = valueFlags.find((f) => matches(arg, f));
    if (value) {
      throw new UsageError(
        `${value} is refused: a value on the command line is visible in ps and kept in shell history. ` +
          'Pass it on stdin (e.g. `vaultgate secrets add … < file`), with --from-file FILE, or type it at the prompt',
      );
    }
    const credential = credentialFlags.find((f) => matches(arg, f));
    if (credential) {
      throw new UsageError(
        `${credential} is refused: a credential on the command line is visible in ps and kept in shell history. ` +
          'Use `vaultgate login` (key on stdin or at the prompt) or the VAULTGATE_API_KEY / VAULTGATE_AGENT_TOKEN environment variables',
      );
    }
  }
}

/** The one normalisation applied to piped and file input: exactly one trailing "\n" is removed. */
export function stripOneNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

export async function readStdin(input: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > maxInputBytes) throw new UsageError('stdin is larger than 1 MiB; a value is at most 64 KiB');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readInputFile(path: string): Promise<string> {
  if (path === '-') return readStdin();
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (size > maxInputBytes) throw new UsageError(`${path} is larger than 1 MiB; a value is at most 64 KiB`);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export const stdinIsTerminal = (): boolean => process.stdin.isTTY === true;

/** Reads one line from the terminal without echoing it. Ctrl-C cancels (exit 130). */
export function promptHidden(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    let escape = false;
    const finish = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
    };
    function onData(chunk: Buffer) {
      for (const ch of chunk.toString('utf8')) {
        if (escape) {
          // Skip an escape sequence (arrow keys and the like): ends at a letter or `~`.
          if (/[A-Za-z~]/.test(ch)) escape = false;
          continue;
        }
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003' || (ch === '\u0004' && value === '')) {
          finish();
          reject(new CliError('cancelled', 130));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch === '\u0015') value = '';
        else if (ch === '\u001b') escape = true;
        else if (ch >= ' ') value += ch;
      }
    }
    // Echo goes off before the prompt shows, so nothing typed after it can be echoed.
    input.setRawMode(true);
    output.write(question);
    input.on('data', onData);
    input.resume();
  });
}

/** Reads one visible line from the terminal. */
export async function promptLine(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

export interface ValueInput {
  fromFile?: string | undefined;
}

/** A value for a new secret: from the file, else piped stdin, else a hidden prompt. */
export async function readValue(input: ValueInput, what: string): Promise<string> {
  if (input.fromFile !== undefined) return stripOneNewline(await readInputFile(input.fromFile));
  if (!stdinIsTerminal()) return stripOneNewline(await readStdin());
  return promptHidden(`Value for ${what} (input hidden): `);
}

/**
 * A new value for an existing secret, if one is given: from the file; from piped stdin unless it
 * is empty and other fields change; at a prompt when stdin is a terminal and nothing else changes.
 */
export async function readOptionalValue(input: ValueInput & { metadataOnly?: boolean | undefined }, what: string, otherChanges: boolean): Promise<string | undefined> {
  if (input.metadataOnly) {
    if (input.fromFile !== undefined) throw new UsageError('--metadata-only and --from-file cannot be used together');
    return undefined;
  }
  if (input.fromFile !== undefined) return stripOneNewline(await readInputFile(input.fromFile));
  if (!stdinIsTerminal()) {
    const text = await readStdin();
    return text === '' && otherChanges ? undefined : stripOneNewline(text);
  }
  return otherChanges ? undefined : promptHidden(`New value for ${what} (input hidden): `);
}
