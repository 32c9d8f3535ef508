// Shared option parsing for the commands: repeatable flags, k=v pairs, integers, durations, examples.
import { Option, type Command } from 'commander';
import { UsageError } from './errors.js';

/** For repeatable options: `--label a=1 --label b=2`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Repeatable and comma-separated: `--inject-in header,body` or `--inject-in header --inject-in body`. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

export function parsePairs(pairs: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} must look like key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export function parsePositiveInt(flag: string) {
  return (value: string): number => {
    if (!/^\d{1,15}$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} must be a positive integer`);
    return Number(value);
  };
}

export function parseCount(flag: string) {
  return (value: string): number => {
    if (!/^\d{1,9}$/.test(value)) throw new UsageError(`${flag} must be a number`);
    return Number(value);
  };
}

const durationUnits = { ms: 1, s: 1000, m: 60_000 } as const;

/** `500ms`, `2s`, `1m`: a whole number with its unit, from `minMs` to `maxMs` (as milliseconds). */
export function parseDuration(flag: string, minMs: number, maxMs: number) {
  return (value: string): number => {
    const m = /^(\d{1,9})(ms|s|m)$/.exec(value);
    const ms = m ? Number(m[1]) * durationUnits[m[2] as keyof typeof durationUnits] : NaN;
    if (!(ms >= minMs && ms <= maxMs)) throw new UsageError(`${flag} must be a duration such as 500ms, 2s or 1m, from ${minMs}ms to ${maxMs / 60_000}m`);
    return ms;
  };
}

/** `--from-file F`, and the Namespace-style spelling `--from_file F` (SPEC §7). */
export function addFromFile(cmd: Command, what = 'read the value from this file (exactly one trailing newline is removed; - is stdin)'): Command {
  return cmd.option('--from-file <file>', what).addOption(new Option('--from_file <file>', 'same as --from-file').hideHelp());
}

export function fromFileOf(opts: { fromFile?: string; from_file?: string }): string | undefined {
  if (opts.fromFile !== undefined && opts.from_file !== undefined) throw new UsageError('give --from-file once');
  return opts.fromFile ?? opts.from_file;
}

export function addIfVersion(cmd: Command): Command {
  return cmd.option('--if-version-matches <n>', 'only if the secret is still at this version (else exit 5, "version mismatch")', parsePositiveInt('--if-version-matches'));
}

export function addJson(cmd: Command): Command {
  return cmd.option('--json', 'print the API object as JSON');
}

/** A client command as they all are: `--json` after its own options, its examples at the end of its help. */
export function jsonCommand(cmd: Command, ...examples: string[]): Command {
  return example(addJson(cmd), ...examples);
}

/** Every command's `--help` ends with examples. */
export function example(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
}
