// Human and machine output: `--json` as the API sent it, aligned tables, relative times.

export type Write = (text: string) => void;

export const writeOut: Write = (text) => void process.stdout.write(text);
export const writeErr: Write = (text) => void process.stderr.write(text);

/** `--json`: exactly the API's object, two-space indented. */
export function printJson(value: unknown, write: Write = writeOut): void {
  write(`${JSON.stringify(value, null, 2)}\n`);
}

/** With `--json` the API's object; otherwise the human form: a line, or what `human` prints. */
export function printResult(json: boolean | undefined, value: unknown, human: string | (() => void)): void {
  if (json) printJson(value);
  else if (typeof human === 'string') writeOut(human);
  else human();
}

/** Server text shown on a terminal: control characters (escape sequences) become `?`. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Columns padded to the widest cell; the last column is not padded. */
export function alignRows(rows: string[][]): string {
  const all = rows.map((row) => row.map(printable));
  const widths = (all[0] ?? []).map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

export function formatTable(header: string[], rows: string[][]): string {
  return alignRows([header, ...rows]);
}

/** A table on stdout, or `no <what>` on stderr when there are no rows. */
export function printTable(what: string, header: string[], rows: string[][], write: Write = writeOut): void {
  if (rows.length === 0) writeErr(`no ${what}\n`);
  else write(formatTable(header, rows));
}

/** One object as `field  value` lines. */
export function printDetails(fields: [string, string][], write: Write = writeOut): void {
  write(alignRows(fields.map(([k, v]) => [`${k}:`, v])));
}

const units: [string, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

/** "3 minutes ago", "in 2 hours", "just now". */
export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '-';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return printable(iso);
  const seconds = Math.round((now - at) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return 'just now';
  const [unit, size] = units.find(([, s]) => abs >= s) ?? ['second', 1];
  const n = Math.floor(abs / size);
  const text = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

export function listText(items: readonly string[], empty = '-'): string {
  return items.length === 0 ? empty : items.join(',');
}
