// Write-time validation and normalization of a secret's `allowed_domains` list (SPEC §3, §6).
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { parse } from 'tldts';

export type DomainCheck = { ok: true; domains: string[] } | { ok: false; index: number; reason: string };

type EntryResult = { ok: true; value: string } | { ok: false; reason: string };

const MAX_ENTRIES = 100;
const MAX_HOST_LENGTH = 253;
const DEFAULT_PORT = 443;
const TOO_MANY = `too many entries (limit ${MAX_ENTRIES})`;
const TLDTS_OPTIONS = { allowPrivateDomains: true, extractHostname: false } as const;

/**
 * Validates every entry and returns the normalized list: lowercase, one trailing dot removed,
 * IDNs as punycode, `:443` dropped (443 is the port the proxy assumes when an entry names none,
 * so `host:443` and `host` mean the same), exact duplicates removed keeping the first.
 * On failure reports the first bad index; reasons are fixed phrases and never echo an entry,
 * because callers put them in error bodies and entries may be mistyped secrets.
 * More than 100 input entries is itself an error at index 100, even if duplicates would shrink the list.
 */
export function normalizeAllowedDomains(input: readonly string[]): DomainCheck {
  const seen = new Set<string>();
  const domains: string[] = [];
  for (let index = 0; index < input.length; index++) {
    if (index >= MAX_ENTRIES) return { ok: false, index, reason: TOO_MANY };
    const result = normalizeEntry(input[index]);
    if (!result.ok) return { ok: false, index, reason: result.reason };
    if (!seen.has(result.value)) {
      seen.add(result.value);
      domains.push(result.value);
    }
  }
  return { ok: true, domains };
}

function normalizeEntry(entry: unknown): EntryResult {
  if (typeof entry !== 'string') return fail('entry must be a string');
  if (entry === '') return fail('empty entry');
  if (entry.length > MAX_HOST_LENGTH) return fail('entry too long');
  const problem = findForbiddenSyntax(entry);
  if (problem !== null) return fail(problem);
  const split = splitPort(entry);
  if (!split.ok) return split;
  const host = normalizeHost(split.host);
  if (!host.ok) return host;
  const port = split.port === null || split.port === DEFAULT_PORT ? '' : `:${split.port}`;
  return { ok: true, value: host.value + port };
}

/**
 * URL delimiters are refused before `domainToASCII`, which parses its input as a URL host and
 * would otherwise silently cut `a.com/x` to `a.com` or percent-decode `%41`.
 * The whitespace reason has no space in it so that no reason can contain an entry it refuses.
 */
function findForbiddenSyntax(entry: string): string | null {
  if (entry.includes('://')) return 'scheme not allowed';
  if (entry.includes('@')) return 'userinfo not allowed';
  if (entry.includes('/')) return 'path not allowed';
  if (entry.includes('?')) return 'query not allowed';
  if (entry.includes('#')) return 'fragment not allowed';
  if (/\s/u.test(entry)) return 'whitespace';
  if (/\p{Cc}/u.test(entry)) return 'control character';
  if (entry.startsWith('[')) return 'ip literals not allowed';
  if (/[\\%[\]]/.test(entry)) return 'invalid character';
  return null;
}

type PortSplit = { ok: true; host: string; port: number | null } | { ok: false; reason: string };

function splitPort(entry: string): PortSplit {
  const colon = entry.indexOf(':');
  if (colon === -1) return { ok: true, host: entry, port: null };
  if (isIP(entry) !== 0 || (entry.indexOf(':', colon + 1) !== -1 && /^[0-9a-f:.]+$/i.test(entry))) {
    return fail('ip literals not allowed');
  }
  const host = entry.slice(0, colon);
  const tail = entry.slice(colon + 1);
  if (/^\d+$/.test(tail)) {
    const port = Number(tail);
    if (!/^[1-9]\d{0,4}$/.test(tail) || port > 65535) return fail('invalid port');
    return { ok: true, host, port };
  }
  // `mailto:x`, `https:` — a dotless scheme-shaped prefix before a non-numeric tail.
  if (/^[a-z][a-z0-9+.-]*$/i.test(host) && !host.includes('.')) return fail('scheme not allowed');
  return fail('invalid port');
}

function normalizeHost(raw: string): EntryResult {
  if (raw === '*') return fail('bare wildcard');
  const wildcard = raw.startsWith('*.');
  let name = wildcard ? raw.slice(2) : raw;
  if (name.includes('*')) return fail('inner wildcard');
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (looksLikeIp(name)) return fail('ip literals not allowed');
  // UTS #46 mapping: lowercases and maps full-width forms, so every check below runs on the
  // final ASCII (a full-width `＊` or `．` becomes `*` or `.` here and is caught by checkLabels).
  const ascii = domainToASCII(name);
  if (ascii === '') return fail('invalid host name');
  if (ascii.length > MAX_HOST_LENGTH) return fail('host name too long');
  if (looksLikeIp(ascii)) return fail('ip literals not allowed');
  const labelProblem = checkLabels(ascii);
  if (labelProblem !== null) return fail(labelProblem);
  if (!wildcard) return { ok: true, value: ascii };
  const baseProblem = checkWildcardBase(ascii);
  if (baseProblem !== null) return fail(baseProblem);
  return { ok: true, value: `*.${ascii}` };
}

/**
 * `*.base` must stay inside one registrant's names: the base needs a registrable domain under
 * the public suffix list, private section included (`*.github.io` would cover every user's site).
 * tldts has no domain for a single label either; `*.localhost`/`*.internal` get their own reason.
 */
function checkWildcardBase(base: string): string | null {
  const parsed = parse(base, TLDTS_OPTIONS);
  const listed = parsed.isIcann === true || parsed.isPrivate === true;
  if (!base.includes('.') && !listed) return 'wildcard over a single label';
  if (parsed.domain === null) return 'wildcard over a public suffix';
  return null;
}

/** An IP literal, or a name the WHATWG URL parser would read as IPv4 (last label numeric, e.g. `127.1`). */
function looksLikeIp(name: string): boolean {
  if (isIP(name) !== 0) return true;
  const last = name.slice(name.lastIndexOf('.') + 1);
  return /^(\d+|0x[0-9a-f]*)$/i.test(last);
}

function checkLabels(ascii: string): string | null {
  for (const label of ascii.split('.')) {
    if (label === '') return 'empty label';
    if (label.length > 63) return 'label too long';
    if (!/^[a-z0-9_-]+$/.test(label)) return 'invalid host name';
    if (label.startsWith('-') || label.endsWith('-')) return 'label starts or ends with a hyphen';
  }
  return null;
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
