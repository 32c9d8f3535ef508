// Display helpers: relative times, short ids, list parsing for the forms.

const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "3 minutes ago", "just now"; `now` comes in so that a ticking clock re-renders it. */
export function relativeTime(iso: string, now: number): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  if (Math.abs(seconds) < 45) return 'just now';
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size || unit === 'minute') return relative.format(Math.round(seconds / size), unit);
  }
  return iso;
}

/** `vlt_01KQ27AQH8…` → `vlt_…0DH14SJ`: enough to tell ids apart in a table. */
export function shortId(id: string): string {
  const cut = id.indexOf('_');
  return cut > 0 && id.length > cut + 10 ? `${id.slice(0, cut + 1)}…${id.slice(-7)}` : id;
}

/** Entries separated by commas, spaces or new lines; empty entries dropped. */
export function parseList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** `team=infra, tier=1` → `{team: 'infra', tier: '1'}`; an entry without `=` is an error. */
export function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  for (const entry of text.split(/[,\n]+/).map((s) => s.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=');
    if (eq <= 0) return `label "${entry}" must look like key=value`;
    labels[entry.slice(0, eq).trim()] = entry.slice(eq + 1).trim();
  }
  return labels;
}

/** `KEY=value` lines → an env object; a line without `=` is an error naming the line number. */
export function parseEnv(text: string): Record<string, string> | string {
  const env: Record<string, string> = {};
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return `line ${i + 1} must look like NAME=value`;
    env[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return env;
}

export function formatEnv(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}
