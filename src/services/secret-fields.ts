// Validation and normalization of the secret fields an operator may write.
import { VaultError } from '../contract/errors.js';
import { injectSurfaces, type InjectSurface } from '../contract/schemas.js';
import { normalizeAllowedDomains } from '../core/allowed-domains.js';
import { isValidEnvKey } from '../core/env-key.js';

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
