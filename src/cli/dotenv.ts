// The .env reader of `secrets import`: one KEY=value per line, and a refusal (by line number, never
// quoting the line) of anything a shell, Docker or a dotenv library could read differently.

export interface DotenvEntry {
  key: string;
  value: string;
  line: number;
}

/** A line that is not read: its number and why, with no text of the line (it may hold a value). */
export class DotenvError extends Error {
  override name = 'DotenvError';
  readonly line: number;

  constructor(line: number, reason: string) {
    super(`line ${line}: ${reason}`);
    this.line = line;
  }
}

/** The API's env_key rule (core/env-key.ts), which the CLI layer may not import. */
const keyPattern = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
const doubleQuoteEscapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', $: '$', '`': '`' };
const multiLine = 'a quoted value does not end on its line (multi-line values are not read from a .env file: add that secret with secrets add --from-file)';
const expansion = 'a $ here would be expanded by a shell or docker compose but not by Vaultgate: write \\$ in double quotes, or use single quotes';

/** What may follow a closing quote: spaces, then nothing or a comment. */
function checkTail(tail: string, line: number): void {
  if (!/^\s*(#.*)?$/.test(tail)) throw new DotenvError(line, 'text after the closing quote (put the whole value in quotes)');
}

function singleQuoted(rest: string, line: number): string {
  const end = rest.indexOf("'", 1);
  if (end < 0) throw new DotenvError(line, multiLine);
  checkTail(rest.slice(end + 1), line);
  return rest.slice(1, end);
}

function doubleQuoted(rest: string, line: number): string {
  let out = '';
  for (let i = 1; i < rest.length; i++) {
    const c = rest[i]!;
    if (c === '"') {
      checkTail(rest.slice(i + 1), line);
      return out;
    }
    if (c === '\\') {
      const next = rest[i + 1];
      const escaped = next === undefined ? undefined : doubleQuoteEscapes[next];
      if (escaped === undefined) throw new DotenvError(line, 'an unknown escape in a double-quoted value (known: \\n \\r \\t \\\\ \\" \\$ \\`)');
      out += escaped;
      i++;
    } else if (c === '$' && /^[A-Za-z_{(]/.test(rest[i + 1] ?? '')) {
      throw new DotenvError(line, expansion);
    } else if (c === '`') {
      throw new DotenvError(line, 'a ` in a double-quoted value is command substitution in a shell: write \\` or use single quotes');
    } else {
      out += c;
    }
  }
  throw new DotenvError(line, multiLine);
}

function unquoted(rest: string, line: number): string {
  // ` #` starts a comment; `#` inside a word is part of the value, as in a shell.
  const value = rest.replace(/(^|\s+)#.*$/, '').trimEnd();
  if (/\s/.test(value)) throw new DotenvError(line, 'an unquoted value with spaces (quote it)');
  if (/["'`\\]/.test(value)) throw new DotenvError(line, 'a quote or backslash inside an unquoted value (quote the whole value)');
  if (/\$[A-Za-z_{(]/.test(value)) throw new DotenvError(line, expansion);
  return value;
}

function parseLine(raw: string, line: number): DotenvEntry | null {
  const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const trimmed = text.trimStart();
  if (trimmed === '' || trimmed.startsWith('#')) return null;
  const body = trimmed.replace(/^export\s+/, '');
  const eq = body.indexOf('=');
  if (eq < 0) throw new DotenvError(line, 'expected KEY=value');
  const key = body.slice(0, eq).trimEnd();
  if (!keyPattern.test(key)) throw new DotenvError(line, 'the name before = is not a variable name (letters, digits and _, not starting with a digit)');
  if (body[eq + 1] === '#') throw new DotenvError(line, 'an unquoted value that starts with # (a comment to some readers, the value to others: quote it)');
  const rest = body.slice(eq + 1).trimStart();
  if (rest.startsWith("'")) return { key, value: singleQuoted(rest, line), line };
  if (rest.startsWith('"')) return { key, value: doubleQuoted(rest, line), line };
  return { key, value: unquoted(rest, line), line };
}

/** Every KEY=value of a .env text, in order; throws DotenvError on the first line it will not guess about. */
export function parseDotenv(text: string): DotenvEntry[] {
  const entries: DotenvEntry[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const entry = parseLine(raw, i + 1);
    if (!entry) return;
    const first = seen.get(entry.key);
    if (first !== undefined) throw new DotenvError(entry.line, `${entry.key} is set again (first on line ${first}); which one is meant is not clear`);
    seen.set(entry.key, entry.line);
    entries.push(entry);
  });
  return entries;
}
