// Egress destination parsing and allowed_domains matching for the proxy (SPEC §6); pure, no I/O.
import { isIP } from 'node:net';

/** A destination as the proxy sees it: host lowercase ASCII (no brackets, no trailing dot), port 1–65535. */
export type Destination = { host: string; port: number; isIp: boolean };

export type ParsedAuthority = ({ ok: true } & Destination) | { ok: false; reason: string };

const DEFAULT_PORT = 443;
const MAX_HOST_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/**
 * Refusal reasons. Only lowercase letters and spaces, and the whitespace reason has no space:
 * any refused input that could be a substring of a reason would be a single run of letters,
 * and such a run (up to 63 characters) is a valid host, so no reason can ever contain its input.
 */
const REASON = {
  empty: 'empty authority',
  whitespace: 'whitespace',
  control: 'control character',
  nonAscii: 'non ascii character',
  percent: 'percent encoding',
  backslash: 'backslash',
  userinfo: 'userinfo',
  schemeOrPath: 'scheme or path',
  colons: 'too many colons',
  port: 'invalid port',
  ipLiteral: 'invalid ip literal',
  emptyHost: 'empty host',
  emptyLabel: 'empty label',
  labelLength: 'label too long',
  hostLength: 'host name too long',
  hostName: 'invalid host name',
} as const;

const PORT_PATTERN = /^[1-9][0-9]{0,4}$/;
const LABEL_PATTERN = /^[a-z0-9_-]+$/;
/** `[inner]` then nothing or `:` and a port; anything else after `]` (or no `]`) is refused. */
const BRACKETED = /^\[([^\]]*)\](?::(.*))?$/;
/** Last label all digits or `0x…`: the WHATWG URL parser (and inet_aton) read such names as IPv4. */
const IP_LAST_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/;

/**
 * Parses a CONNECT target or a Host header value (`host[:port]`, `[v6]:port`).
 * Everything that is not plain ASCII host syntax is refused before any interpretation, so that
 * no decoding (percent, IDNA, userinfo, backslash-as-slash) can make two parties disagree on the
 * host. IP literals and alternative IPv4 spellings parse (the proxy may tunnel to them) with
 * `isIp: true`; they never match an allowed domain.
 * Reasons are fixed phrases and never echo the input.
 */
export function parseAuthority(authority: string, defaultPort: number = DEFAULT_PORT): ParsedAuthority {
  if (!Number.isInteger(defaultPort) || defaultPort < 1 || defaultPort > 65535) {
    throw new RangeError('defaultPort must be an integer in 1..65535');
  }
  if (authority === '') return fail(REASON.empty);
  const problem = findForbiddenCharacter(authority);
  if (problem !== null) return fail(problem);
  if (authority.startsWith('[')) return parseBracketed(authority, defaultPort);

  const colon = authority.indexOf(':');
  if (colon !== -1 && authority.indexOf(':', colon + 1) !== -1) return fail(REASON.colons);
  let port = defaultPort;
  let host = authority;
  if (colon !== -1) {
    const parsedPort = parsePort(authority.slice(colon + 1));
    if (parsedPort === null) return fail(REASON.port);
    port = parsedPort;
    host = authority.slice(0, colon);
  }
  host = host.toLowerCase();
  // Exactly one trailing dot (the absolute form) is dropped; a second one is an empty label below.
  if (host.endsWith('.')) host = host.slice(0, -1);
  const hostProblem = checkHostName(host);
  if (hostProblem !== null) return fail(hostProblem);
  return { ok: true, host, port, isIp: looksLikeIp(host) };
}

/** The authority as a Host header writes it: an IPv6 literal in brackets, the port only when not the default. */
export function formatAuthority(dest: Destination, defaultPort: number): string {
  const host = dest.host.includes(':') ? `[${dest.host}]` : dest.host;
  return dest.port === defaultPort ? host : `${host}:${dest.port}`;
}

/**
 * Whether ONE stored entry (lowercase, punycode, `*.base` or exact, optional `:port`, 443 when
 * absent) admits the destination. An exact entry matches only the identical host; `*.base`
 * matches hosts strictly below `base` on a label boundary. Ports must be equal. IP destinations
 * never match, whatever `dest.isIp` says.
 * The destination host is re-checked here (canonical labels, not IP-shaped) so that a caller who
 * built `dest` by hand cannot smuggle `\0`, `/` or `..` past the suffix comparison. Because a
 * match means the entry's host is a whole-label suffix of (or equal to) that checked host, a
 * malformed entry (`*`, `*.`, `a.*.b`, uppercase, trailing dot, IP) can never match either; the
 * PSL rule for wildcards is a write-time rule (allowed-domains.ts) and is not repeated here.
 */
export function matchAllowedDomain(entry: string, dest: Destination): boolean {
  if (dest.isIp || looksLikeIp(dest.host)) return false;
  if (checkHostName(dest.host) !== null) return false;
  const parsed = parseEntry(entry);
  if (parsed.port !== dest.port) return false;
  if (!parsed.wildcard) return dest.host === parsed.host;
  // Label boundary: `*.stripe.com` needs `.stripe.com` as a suffix; dest.host has no empty labels,
  // so a suffix match always leaves at least one label in front, and `stripe.com` itself never matches.
  return dest.host.endsWith(`.${parsed.host}`);
}

/**
 * Whether any entry admits the destination. An EMPTY list returns false: `[]` means the secret is
 * unrestricted, and unrestricted secrets are injected into the agent's environment as real values,
 * never handed out as placeholders, so the proxy must never substitute one on their behalf.
 */
export function isAllowedDestination(allowedDomains: readonly string[], dest: Destination): boolean {
  return allowedDomains.some((entry) => matchAllowedDomain(entry, dest));
}

function findForbiddenCharacter(authority: string): string | null {
  if (/\s/.test(authority)) return REASON.whitespace;
  if (/[\x00-\x1f\x7f]/.test(authority)) return REASON.control;
  // The wire must carry punycode; raw Unicode (homoglyphs, full-width dots) is never mapped here.
  if (/[^\x00-\x7f]/.test(authority)) return REASON.nonAscii;
  if (authority.includes('%')) return REASON.percent;
  if (authority.includes('\\')) return REASON.backslash;
  if (authority.includes('@')) return REASON.userinfo;
  if (/[/?#]/.test(authority)) return REASON.schemeOrPath;
  return null;
}

function parseBracketed(authority: string, defaultPort: number): ParsedAuthority {
  const match = BRACKETED.exec(authority);
  if (match === null) return fail(REASON.ipLiteral);
  const inner = (match[1] ?? '').toLowerCase();
  // isIP accepts no zone id here (`%` was refused) and no IPv4 or IPvFuture in brackets.
  if (isIP(inner) !== 6) return fail(REASON.ipLiteral);
  if (match[2] === undefined) return { ok: true, host: inner, port: defaultPort, isIp: true };
  const port = parsePort(match[2]);
  if (port === null) return fail(REASON.port);
  return { ok: true, host: inner, port, isIp: true };
}

/** 1–65535 in plain decimal: no sign, no leading zero, no empty port. */
function parsePort(text: string): number | null {
  if (!PORT_PATTERN.test(text)) return null;
  const port = Number(text);
  return port <= 65535 ? port : null;
}

/** Same label rules as write-time validation (letters, digits, `_`, `-` not at either end). */
function checkHostName(host: string): string | null {
  if (host === '') return REASON.emptyHost;
  for (const label of host.split('.')) {
    if (label === '') return REASON.emptyLabel;
    if (label.length > MAX_LABEL_LENGTH) return REASON.labelLength;
    if (!LABEL_PATTERN.test(label) || label.startsWith('-') || label.endsWith('-')) return REASON.hostName;
  }
  if (host.length > MAX_HOST_LENGTH) return REASON.hostLength;
  return null;
}

/** Dotted IPv4 is covered too (its last label is numeric); IPv6 has colons and never passes checkHostName. */
function looksLikeIp(host: string): boolean {
  return IP_LAST_LABEL.test(host.slice(host.lastIndexOf('.') + 1));
}

/** `port` is null when the entry's port is malformed; null never equals `dest.port`, so it never matches. */
type ParsedEntry = { wildcard: boolean; host: string; port: number | null };

/** Splits a stored entry into wildcard flag, host and port (443 when absent). */
function parseEntry(entry: string): ParsedEntry {
  const colon = entry.indexOf(':');
  const host = colon === -1 ? entry : entry.slice(0, colon);
  const port = colon === -1 ? DEFAULT_PORT : parsePort(entry.slice(colon + 1));
  const wildcard = host.startsWith('*.');
  return { wildcard, host: wildcard ? host.slice(2) : host, port };
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
