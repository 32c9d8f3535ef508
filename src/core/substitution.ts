// Placeholder substitution for the egress proxy: a byte-exact streaming scanner plus header and URL helpers.
import { placeholderLength, placeholderPrefix } from './placeholders.js';

/*
 * Token rule (one place, used by every function below):
 *
 * - A placeholder token is `vgph_` followed by EXACTLY 40 base62 characters ([0-9A-Za-z]) and then
 *   a non-base62 byte or the end of the input. Nothing is required before `vgph_`.
 * - `vgph_` followed by 41 or more base62 characters is not a token but is refused as a whole
 *   (block, reason 'malformed placeholder', secretId null, `resolve` is not consulted): otherwise an
 *   agent could glue characters to a placeholder and have an upstream parse the run differently.
 * - `vgph_` followed by 0–39 base62 characters and then a non-base62 byte (or the end) is ordinary
 *   text and passes through unchanged. Scanning resumes right after `vgph_`, so a `vgph_` that starts
 *   later in the same run (`vgph_abcvgph_…`) is still found (a run never contains `_`).
 * - Case matters: `VGPH_…` is ordinary text.
 * - One pass: an injected value is never scanned again, even if it contains `vgph_…`.
 * - Tokens are decided left to right; the first block wins and nothing after it is considered.
 *
 * Because a token needs its 41st character (or the end) to be decided, the streaming scanner holds
 * back at most `vgph_` + 40 base62 = 45 bytes (`substitutionHoldback`), and only while the tail of
 * what it has seen is a prefix of `vgph_` or `vgph_` + 0–40 base62 characters.
 */

export type Resolution = { kind: 'inject'; value: Buffer; secretId: string } | { kind: 'block'; reason: string; secretId: string | null };

/** The caller decides per placeholder: unknown, another agent's, wrong host or wrong surface → block. */
export type Resolve = (placeholder: string) => Resolution;

export type Block = { reason: string; secretId: string | null };

export interface Substituter {
  /** Returns the bytes that are decided so far; empty once blocked. */
  push(chunk: Buffer): Buffer;
  /** Flushes the held-back tail (which may complete a token at end of input); empty once blocked. */
  end(): Buffer;
  readonly blocked: Block | null;
  /** Secret ids whose values were injected. */
  readonly injected: ReadonlySet<string>;
}

export type SubstitutionResult = {
  /** The substituted input. When blocked: only what precedes the blocking token, never to be sent. */
  output: Buffer;
  blocked: Block | null;
  injected: ReadonlySet<string>;
};

export type TextSubstitution = { value: string; injected: ReadonlySet<string> } | { blocked: Block };

/** The most bytes the streaming substituter ever holds back. */
export const substitutionHoldback = placeholderLength;

const malformed = 'malformed placeholder';
export const headerValueRefused = 'value not allowed in a header';

const prefixBytes = Buffer.from(placeholderPrefix, 'latin1');
const prefixLength = prefixBytes.length;
const tokenRun = placeholderLength - prefixLength;
const empty = Buffer.alloc(0);

function isBase62(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
}

function joined(parts: Buffer[]): Buffer {
  if (parts.length === 0) return empty;
  if (parts.length === 1) return parts[0] as Buffer;
  return Buffer.concat(parts);
}

/** Length of the longest suffix of data[from..] that is a proper, non-empty prefix of `vgph_`. */
function partialPrefixLength(data: Buffer, from: number): number {
  for (let k = Math.min(prefixLength - 1, data.length - from); k > 0; k--) {
    if (data.compare(prefixBytes, 0, k, data.length - k) === 0) return k;
  }
  return 0;
}

export function createSubstituter(resolve: Resolve): Substituter {
  let pending: Buffer = empty;
  let blocked: Block | null = null;
  let ended = false;
  const injected = new Set<string>();

  function run(data: Buffer, final: boolean): Buffer {
    const parts: Buffer[] = [];
    const emit = (from: number, to: number): void => {
      if (to > from) parts.push(data.subarray(from, to));
    };
    pending = empty;
    let pos = 0;
    for (;;) {
      const start = data.indexOf(prefixBytes, pos);
      if (start === -1) {
        const keep = final ? 0 : partialPrefixLength(data, pos);
        emit(pos, data.length - keep);
        if (keep > 0) pending = Buffer.from(data.subarray(data.length - keep));
        return joined(parts);
      }
      const runStart = start + prefixLength;
      const limit = Math.min(data.length, runStart + tokenRun + 1);
      let end = runStart;
      while (end < limit && isBase62(data[end] as number)) end++;
      const runLength = end - runStart;
      if (runLength > tokenRun) {
        emit(pos, start);
        blocked = { reason: malformed, secretId: null };
        return joined(parts);
      }
      if (end === data.length && !final) {
        // Undecided: the run may still grow to 40, or past it. At most 45 bytes.
        emit(pos, start);
        pending = Buffer.from(data.subarray(start));
        return joined(parts);
      }
      if (runLength < tokenRun) {
        emit(pos, runStart);
        pos = runStart;
        continue;
      }
      const resolution = resolve(data.toString('latin1', start, end));
      emit(pos, start);
      if (resolution.kind === 'block') {
        blocked = { reason: resolution.reason, secretId: resolution.secretId };
        return joined(parts);
      }
      if (resolution.value.length > 0) parts.push(resolution.value);
      injected.add(resolution.secretId);
      pos = end;
    }
  }

  return {
    push(chunk: Buffer): Buffer {
      if (ended) throw new Error('substituter: push after end');
      if (blocked) return empty;
      if (chunk.length === 0) return empty;
      return run(pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk, false);
    },
    end(): Buffer {
      if (ended || blocked) {
        ended = true;
        return empty;
      }
      ended = true;
      const out = run(pending, true);
      pending = empty;
      return out;
    },
    get blocked() {
      return blocked;
    },
    get injected() {
      return injected;
    },
  };
}

type Found = { start: number; end: number; malformed: boolean };

/**
 * Every token (and the first malformed run) in a string whose characters stand for bytes,
 * in order. Written with a regular expression, independently of the streaming scanner.
 */
function findTokens(text: string): Found[] {
  const found: Found[] = [];
  const pattern = /vgph_(?=([0-9A-Za-z]*))/g;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    const run = (m[1] as string).length;
    if (run > tokenRun) {
      found.push({ start: m.index, end: m.index + prefixLength + run, malformed: true });
      break;
    }
    if (run === tokenRun) {
      found.push({ start: m.index, end: m.index + placeholderLength, malformed: false });
      pattern.lastIndex = m.index + placeholderLength;
    }
  }
  return found;
}

/** Whole-buffer reference implementation of the substituter. */
export function substituteAll(input: Buffer, resolve: Resolve): SubstitutionResult {
  const injected = new Set<string>();
  const parts: Buffer[] = [];
  let last = 0;
  for (const t of findTokens(input.toString('latin1'))) {
    parts.push(input.subarray(last, t.start));
    if (t.malformed) return { output: Buffer.concat(parts), blocked: { reason: malformed, secretId: null }, injected };
    const r = resolve(input.toString('latin1', t.start, t.end));
    if (r.kind === 'block') return { output: Buffer.concat(parts), blocked: { reason: r.reason, secretId: r.secretId }, injected };
    parts.push(r.value);
    injected.add(r.secretId);
    last = t.end;
  }
  parts.push(input.subarray(last));
  return { output: Buffer.concat(parts), blocked: null, injected };
}

/**
 * Substitutes in `text` where each character stands for one unit; `units(i, j)` gives the
 * output for units i..j-1 left alone and `encode` the output for an injected value.
 */
function substituteUnits(
  decoded: string,
  units: (from: number, to: number) => string,
  resolve: Resolve,
  encode: (value: Buffer) => string,
): TextSubstitution {
  const injected = new Set<string>();
  let out = '';
  let last = 0;
  for (const t of findTokens(decoded)) {
    if (t.malformed) return { blocked: { reason: malformed, secretId: null } };
    const r = resolve(decoded.slice(t.start, t.end));
    if (r.kind === 'block') return { blocked: { reason: r.reason, secretId: r.secretId } };
    out += units(last, t.start) + encode(r.value);
    injected.add(r.secretId);
    last = t.end;
  }
  return { value: out + units(last, decoded.length), injected };
}

/** A value with CR, LF or NUL is never put into a header, not even base64-encoded in Basic credentials. */
function headerSafe(resolve: Resolve): Resolve {
  return (placeholder) => {
    const r = resolve(placeholder);
    if (r.kind === 'inject' && (r.value.includes(0x0d) || r.value.includes(0x0a) || r.value.includes(0x00))) {
      return { kind: 'block', reason: headerValueRefused, secretId: r.secretId };
    }
    return r;
  };
}

const basicPattern = /^([ \t]*basic[ \t]+)([A-Za-z0-9+/]+={0,2})([ \t]*)$/i;

/** The bytes of canonical base64 (padding optional), or null. */
function decodeBase64(token: string): Buffer | null {
  const bytes = Buffer.from(token, 'base64');
  const again = bytes.toString('base64');
  return again === token || again.replace(/=+$/, '') === token ? bytes : null;
}

/**
 * A request header value (a latin1 string, as Node gives it). Placeholders in the raw text are
 * replaced; `Basic <base64>` credentials are decoded, substituted and re-encoded (in the original
 * padding style) only when the decoded credentials carry a token; otherwise the bytes are unchanged.
 * Base64 never contains `_`, so the raw text and the decoded credentials never share a token.
 */
export function substituteHeaderValue(value: string, resolve: Resolve): TextSubstitution {
  const safe = headerSafe(resolve);
  const latin1 = (v: Buffer): string => v.toString('latin1');
  const basic = basicPattern.exec(value);
  const credentials = basic ? decodeBase64(basic[2] as string) : null;
  if (basic && credentials) {
    const decoded = credentials.toString('latin1');
    const inner = substituteUnits(decoded, (i, j) => decoded.slice(i, j), safe, latin1);
    if ('blocked' in inner) return inner;
    if (inner.injected.size === 0) return { value, injected: inner.injected };
    const token = basic[2] as string;
    let encoded = Buffer.from(inner.value, 'latin1').toString('base64');
    // Only a token whose length is not a multiple of 4 shows a client that leaves padding out; one
    // that needed none (git's `x-access-token:vgph_…` is 63 bytes, 84 characters) says nothing,
    // and strict decoders (Go's BasicAuth, Python's b64decode) refuse unpadded base64.
    if (token.length % 4 !== 0) encoded = encoded.replace(/=+$/, '');
    return { value: (basic[1] as string) + encoded + (basic[3] as string), injected: inner.injected };
  }
  return substituteUnits(value, (i, j) => value.slice(i, j), safe, latin1);
}

const unreserved = /^[A-Za-z0-9\-_.!~*'()]$/;

/** encodeURIComponent over bytes: identical for UTF-8 values, byte-exact for any other. */
export function encodeBytesURIComponent(value: Buffer): string {
  let out = '';
  for (const byte of value) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && unreserved.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * A request path or query string. Each `%XX` (any hex case) counts as the one byte it encodes and
 * every other character as itself, so a placeholder is found whether written literally, fully or
 * partly percent-encoded (`vgph%5F…`, `%76%67…`). A token's characters are replaced by the
 * percent-encoded value (encodeURIComponent's set); every other character is left byte-for-byte
 * as it was (`%2F` stays `%2F`). Decoding happens once: `vgph%255F…` is not a placeholder.
 */
export function substitutePercentEncoded(text: string, resolve: Resolve): TextSubstitution {
  const raw: string[] = [];
  let decoded = '';
  for (let i = 0; i < text.length; ) {
    const triple = text.slice(i, i + 3);
    if (/^%[0-9A-Fa-f]{2}$/.test(triple)) {
      raw.push(triple);
      decoded += String.fromCharCode(parseInt(triple.slice(1), 16));
      i += 3;
    } else {
      const ch = text[i] as string;
      raw.push(ch);
      decoded += ch;
      i += 1;
    }
  }
  return substituteUnits(decoded, (i, j) => raw.slice(i, j).join(''), resolve, encodeBytesURIComponent);
}
