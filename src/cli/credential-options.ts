// The flags of SPEC §10 on `secrets add|set`: credential type, request rules, rate limit, AWS scope, and a typed value's JSON.
import type { CredentialType, RateLimit, RatePeriod, RequestRule, Secret } from '../sdk/index.js';
import { UsageError } from './errors.js';
import { listText } from './output.js';

export const credentialTypes: readonly CredentialType[] = ['static', 'aws_sigv4', 'oauth2'];
const ratePeriods: readonly RatePeriod[] = ['second', 'minute', 'hour'];

export function parseCredentialType(value: string): CredentialType {
  const type = credentialTypes.find((t) => t === value);
  if (!type) throw new UsageError(`--type must be one of ${credentialTypes.join(', ')}`);
  return type;
}

const splitList = (text: string) => text.split(',').map((s) => s.trim()).filter((s) => s !== '');

/**
 * `--rule 'GET,HEAD /v1/charges/*,/v1/customers/**'`: methods and paths, each a comma list, separated
 * by spaces; either may be left out (`--rule GET`, `--rule '/v1/**'`). A part starting with `/` is the paths.
 */
export function parseRule(text: string): RequestRule {
  const parts = text.trim().split(/\s+/).filter((p) => p !== '');
  const paths = parts.filter((p) => p.startsWith('/'));
  const methods = parts.filter((p) => !p.startsWith('/'));
  if (parts.length === 0 || parts.length > 2 || paths.length > 1 || methods.length > 1) {
    throw new UsageError("--rule must look like 'METHODS PATHS', e.g. 'GET,HEAD /v1/charges/*,/v1/customers/**' (either part may be left out)");
  }
  return {
    ...(methods[0] !== undefined ? { methods: splitList(methods[0]) } : {}),
    ...(paths[0] !== undefined ? { paths: splitList(paths[0]) } : {}),
  };
}

/** For repeatable `--rule`: each occurrence is one rule. */
export function collectRule(value: string, previous: RequestRule[] = []): RequestRule[] {
  return [...previous, parseRule(value)];
}

/** `100/minute` → `{requests: 100, per: 'minute'}`. */
export function parseRateLimit(value: string): RateLimit {
  const m = /^(\d{1,9})\/(second|minute|hour)$/.exec(value.trim());
  const per = ratePeriods.find((p) => p === m?.[2]);
  if (!m || !per || Number(m[1]) < 1) throw new UsageError('--rate-limit must look like N/second, N/minute or N/hour, e.g. 100/minute');
  return { requests: Number(m[1]), per };
}

const valueShapes: Record<Exclude<CredentialType, 'static'>, string> = {
  aws_sigv4: '{"access_key_id": …, "secret_access_key": …, "session_token": …(optional)}',
  oauth2: '{"token_url": …, "client_id": …, "client_secret": …, "refresh_token": …, "scopes": […]} (secret and refresh token optional)',
};

/**
 * The value as the API takes it: text for `static`, a JSON object for the other types. The error
 * never quotes the input (nor JSON.parse's message, which does): it may be a secret.
 */
export function typedValue(type: CredentialType, text: string): string | Record<string, unknown> {
  if (type === 'static') return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`the value of a ${type} secret must be a JSON object ${valueShapes[type]}; what was read is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`the value of a ${type} secret must be a JSON object ${valueShapes[type]}; what was read is JSON but not an object`);
  }
  return parsed as Record<string, unknown>;
}

export function ruleText(rule: RequestRule): string {
  return [rule.methods ? rule.methods.join(',') : 'any method', rule.paths ? rule.paths.join(',') : 'any path'].join(' ');
}

export const rulesText = (rules: Secret['rules']) => (rules === null ? '(none: any request)' : rules.map(ruleText).join('; '));
export const rateLimitText = (limit: Secret['rate_limit']) => (limit === null ? '(none)' : `${limit.requests}/${limit.per}`);

/** The `secrets get` lines of SPEC §10's fields; regions and services only for aws_sigv4. */
export function credentialDetails(s: Secret): [string, string][] {
  return [
    ['type', s.type],
    ['rules', rulesText(s.rules)],
    ['rate_limit', rateLimitText(s.rate_limit)],
    ...(s.regions !== undefined ? [['regions', listText(s.regions)] as [string, string]] : []),
    ...(s.services !== undefined ? [['services', listText(s.services)] as [string, string]] : []),
  ];
}
