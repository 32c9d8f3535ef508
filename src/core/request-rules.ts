// Request rules on a secret (SPEC §10): which methods and paths a request carrying its value may
// have. Paths are compared after exactly one percent-decoding; anything an upstream might read as
// another path (dot segments, encoded slashes or backslashes, a second layer of encoding) is refused
// rather than normalised, so the path checked is the path served.

export interface RequestRule {
  /** Compared case-insensitively; absent: any method. HEAD is not implied by GET. */
  methods?: readonly string[];
  /** Globs over decoded segments: `*` one segment, `**` zero or more; absent: any path. */
  paths?: readonly string[];
}

/** What a rule's method, and an explained request's, may be: an HTTP method name. */
export const methodName = /^[A-Za-z]{1,20}$/;

/** A refusal's `reason` is always `rule_denied` (the audit record's); `detail` says which part failed. */
export type RuleVerdict = { allow: true } | { allow: false; reason: 'rule_denied'; detail: string };

export type DecodedPath = { ok: true; segments: string[] } | { ok: false; reason: string };

/** Sequences that would turn into `/`, `\` or `.` if the upstream decoded the path a second time. */
const encodedAgain = /%(2f|5c|2e)/i;

/**
 * The request target's path as segments, decoded once. Refused: a target that is not a path, an
 * encoded `/` or `\`, a bad escape or invalid UTF-8, a control character, a raw `\`, a `.` or `..`
 * segment, and what would decode to any of these a second time.
 */
export function decodePath(target: string): DecodedPath {
  const q = target.search(/[?#]/);
  const raw = q < 0 ? target : target.slice(0, q);
  if (!raw.startsWith('/')) return { ok: false, reason: 'the request path is not absolute' };
  if (raw.includes('\\')) return { ok: false, reason: 'a backslash in the request path' };
  if (/%(2f|5c)/i.test(raw)) return { ok: false, reason: 'an encoded slash in the request path' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return { ok: false, reason: 'a malformed percent-encoding in the request path' };
  }
  if (/[\x00-\x1f\x7f]/.test(decoded)) return { ok: false, reason: 'a control character in the request path' };
  if (encodedAgain.test(decoded)) return { ok: false, reason: 'a doubly encoded request path' };
  const segments = decoded.slice(1).split('/');
  if (segments.some((s) => s === '.' || s === '..')) return { ok: false, reason: 'a dot segment in the request path' };
  return { ok: true, segments };
}

/** Why a path pattern cannot be used, or null. Patterns are written decoded, as the paths they match. */
export function patternProblem(pattern: string): string | null {
  if (!pattern.startsWith('/')) return 'must start with /';
  if (/[?#\\]/.test(pattern)) return 'may not contain ?, # or \\';
  if (/[\x00-\x1f\x7f]/.test(pattern)) return 'may not contain control characters';
  for (const segment of pattern.slice(1).split('/')) {
    if (segment === '.' || segment === '..') return 'may not contain . or .. segments';
    if (segment !== '*' && segment !== '**' && segment.includes('*')) return 'may use * only as a whole segment (* or **)';
  }
  return null;
}

/** Whether decoded `segments` match the pattern's: `*` is exactly one non-empty segment, `**` any run of them. */
export function pathMatches(pattern: string, segments: readonly string[]): boolean {
  const parts = pattern.slice(1).split('/');
  const match = (p: number, s: number): boolean => {
    if (p === parts.length) return s === segments.length;
    const part = parts[p]!;
    if (part === '**') {
      for (let k = s; k <= segments.length; k++) if (match(p + 1, k)) return true;
      return false;
    }
    if (s === segments.length) return false;
    if (part === '*' ? segments[s] === '' : part !== segments[s]) return false;
    return match(p + 1, s + 1);
  };
  return match(0, 0);
}

const methodMatches = (rule: RequestRule, method: string) => rule.methods === undefined || rule.methods.some((m) => m.toUpperCase() === method.toUpperCase());

/**
 * Whether a request may carry a secret whose rules are `rules`: no rules, any request; else at least
 * one rule must match both its method and its path. A path that cannot be checked safely matches no
 * path pattern (a rule with methods only still matches it).
 */
export function checkRules(rules: readonly RequestRule[] | null, request: { method: string; target: string }): RuleVerdict {
  if (rules === null || rules.length === 0) return { allow: true };
  let path: DecodedPath | null = null;
  for (const rule of rules) {
    if (!methodMatches(rule, request.method)) continue;
    if (rule.paths === undefined) return { allow: true };
    const decoded = (path ??= decodePath(request.target));
    if (decoded.ok && rule.paths.some((p) => pathMatches(p, decoded.segments))) return { allow: true };
  }
  return path && !path.ok ? { allow: false, reason: 'rule_denied', detail: path.reason } : { allow: false, reason: 'rule_denied', detail: 'no rule matches the method and path' };
}
