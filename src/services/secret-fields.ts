// Validation and normalization of the secret fields an operator may write.
import { VaultError } from '../contract/errors.js';
import { injectSurfaces, type InjectSurface, type RateLimit, type RequestRule } from '../contract/schemas.js';
import { checkRateLimitInput } from '../core/rate-limit.js';
import { normalizeAllowedDomains } from '../core/allowed-domains.js';
import { isValidEnvKey } from '../core/env-key.js';
import { methodName, patternProblem } from '../core/request-rules.js';

export const maxValueBytes = 64 * 1024;
export const maxDescriptionLength = 1024;
const labelKeyPattern = /^[A-Za-z0-9]([A-Za-z0-9_.\-/]{0,62})$/;
const maxLabels = 64;
const maxLabelValueLength = 256;
/** The canonical order `inject_in` is stored in: the contract's. */
const surfaceOrder: readonly InjectSurface[] = injectSurfaces;

const invalid = (message: string) => new VaultError('invalid_request', message);

export function checkEnvKey(envKey: string): string {
  if (!isValidEnvKey(envKey)) {
    throw invalid('env_key must be a valid environment variable name (^[A-Za-z_][A-Za-z0-9_]*$, at most 256 characters)');
  }
  return envKey;
}

// Lone UTF-16 surrogates cannot round-trip through UTF-8: refuse them instead of silently changing the value.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function checkValue(value: string | undefined): string {
  if (value === undefined || value === '') throw new VaultError('value_empty');
  if (Buffer.byteLength(value, 'utf8') > maxValueBytes) throw new VaultError('value_too_large');
  if (loneSurrogate.test(value)) throw invalid('value must be valid Unicode text');
  return value;
}

export function checkAllowedDomains(input: string[] | undefined): string[] {
  if (input === undefined) return [];
  const result = normalizeAllowedDomains(input);
  if (!result.ok) throw invalid(`allowed_domains[${result.index}] is invalid: ${result.reason}`);
  return result.domains;
}

export function checkInjectIn(input: InjectSurface[] | undefined): InjectSurface[] {
  if (input === undefined) return ['header'];
  if (input.length === 0) throw invalid(`inject_in must name at least one of ${surfaceOrder.join(', ')}`);
  return surfaceOrder.filter((s) => input.includes(s));
}

export function checkDescription(input: string | null | undefined): string | null {
  if (input === undefined || input === null) return null;
  if (input.length > maxDescriptionLength) throw invalid(`description must be at most ${maxDescriptionLength} characters`);
  // NUL cannot be stored as text by every backend; refuse it everywhere alike.
  if (input.includes('\0')) throw invalid('description must not contain NUL characters');
  return input;
}

export function checkLabels(input: Record<string, string> | undefined): Record<string, string> {
  if (input === undefined) return {};
  const entries = Object.entries(input);
  if (entries.length > maxLabels) throw invalid(`labels may hold at most ${maxLabels} entries`);
  for (const [key, value] of entries) {
    if (!labelKeyPattern.test(key)) throw invalid('labels keys must be 1-63 characters of letters, digits, _ . - / starting with a letter or digit');
    if (value.length > maxLabelValueLength) throw invalid(`labels values must be at most ${maxLabelValueLength} characters`);
    if (value.includes('\0')) throw invalid('labels values must not contain NUL characters');
  }
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)));
}

const maxRules = 32;
const maxRuleEntries = 32;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `rules` (SPEC §10): null or absent removes them; otherwise at least one rule, each with methods
 * (stored uppercase), paths (globs, `patternProblem`), or both. An empty list is refused rather than
 * read as "no restriction" or "nothing allowed": either reading would surprise someone.
 */
export function checkRules(input: unknown): RequestRule[] | null {
  if (input === null || input === undefined) return null;
  if (!Array.isArray(input)) throw invalid('rules must be a list of rules, or null for none');
  if (input.length === 0) throw invalid('rules must list at least one rule (null removes them)');
  if (input.length > maxRules) throw invalid(`rules may hold at most ${maxRules} rules`);
  return input.map((rule: unknown, i) => {
    const at = `rules[${i}]`;
    if (!isRecord(rule)) throw invalid(`${at} must be an object with methods and/or paths`);
    const unknown = Object.keys(rule).find((k) => k !== 'methods' && k !== 'paths');
    if (unknown !== undefined) throw invalid(`${at} has an unknown field (only methods and paths are allowed)`);
    if (rule.methods === undefined && rule.paths === undefined) throw invalid(`${at} must have methods, paths or both`);
    const out: RequestRule = {};
    if (rule.methods !== undefined) out.methods = checkRuleList(`${at}.methods`, rule.methods, (m) => (methodName.test(m) ? null : 'must be an HTTP method name')).map((m) => m.toUpperCase());
    if (rule.paths !== undefined) out.paths = checkRuleList(`${at}.paths`, rule.paths, patternProblem);
    return out;
  });
}

function checkRuleList(at: string, input: unknown, problem: (entry: string) => string | null): string[] {
  if (!Array.isArray(input) || input.length === 0) throw invalid(`${at} must be a non-empty list`);
  if (input.length > maxRuleEntries) throw invalid(`${at} may hold at most ${maxRuleEntries} entries`);
  return input.map((entry: unknown, j) => {
    if (typeof entry !== 'string' || entry.length > 1024) throw invalid(`${at}[${j}] must be a string of at most 1024 characters`);
    const p = problem(entry);
    if (p) throw invalid(`${at}[${j}] ${p}`);
    return entry;
  });
}

/** `rate_limit` (SPEC §10): `{requests, per}`, or null/absent for none. */
export function checkRateLimit(input: unknown): RateLimit | null {
  if (input === null || input === undefined) return null;
  const checked = checkRateLimitInput(input);
  if (!checked.ok) throw invalid(checked.message);
  return checked.value;
}

/** aws_sigv4's `regions` and `services`: required, lowercase AWS names, kept in the order given without repeats. */
export function checkSigningList(field: 'regions' | 'services', input: string[] | undefined): string[] {
  if (input === undefined || input.length === 0) throw invalid(`${field} must list at least one entry for an aws_sigv4 secret`);
  if (input.length > 64) throw invalid(`${field} may hold at most 64 entries`);
  input.forEach((name, i) => {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw invalid(`${field}[${i}] must be a lowercase AWS name (letters, digits, -)`);
  });
  return [...new Set(input)];
}

export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `?label=key:value`, repeatable; the value may itself contain ':'. */
export function parseLabelFilters(raw: string | string[] | undefined): [string, string][] {
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw : [raw]).map((item) => {
    const at = item.indexOf(':');
    if (at <= 0) throw invalid('label filter must look like key:value');
    return [item.slice(0, at), item.slice(at + 1)];
  });
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
