// The one access decision: which secrets an agent may use, and how each value may leave the vault.
import type { CredentialType, InjectSurface, RequestRule } from '../contract/schemas.js';
import { isAllowedDestination, type Destination } from './host-match.js';
import { checkRules } from './request-rules.js';
import { checkSigV4Scope, type SigV4Auth } from './sigv4.js';

export interface SecretRef {
  id: string;
  vault_id: string;
  env_key: string;
  allowed_domains: readonly string[];
  /** Absent: `static`. */
  type?: CredentialType;
  /** aws_sigv4: whether the agent also gets a session token placeholder. */
  signing?: { session_token: boolean } | null;
}

/**
 * Which piece of a secret one environment variable holds: `value` for static and oauth2 secrets
 * (one variable, named `env_key`); an aws_sigv4 secret is three, `<env_key>_ACCESS_KEY_ID`,
 * `<env_key>_SECRET_ACCESS_KEY` and, with a session token, `<env_key>_SESSION_TOKEN` (SPEC §10).
 */
export type CredentialPart = 'value' | 'access_key_id' | 'secret_access_key' | 'session_token';

const awsParts = [
  ['_ACCESS_KEY_ID', 'access_key_id'],
  ['_SECRET_ACCESS_KEY', 'secret_access_key'],
  ['_SESSION_TOKEN', 'session_token'],
] as const;

/** The environment variables one secret fills under `name`, with the part each holds. */
export function credentialParts(secret: SecretRef, name: string): { name: string; part: CredentialPart }[] {
  if (secret.type !== 'aws_sigv4') return [{ name, part: 'value' }];
  return awsParts.filter(([, part]) => part !== 'session_token' || secret.signing?.session_token === true).map(([suffix, part]) => ({ name: name + suffix, part }));
}

/** What a placeholder is derived from: the secret id, and the part for the pieces of a multi-part credential. */
export function placeholderSubject(secretId: string, part: CredentialPart): string {
  return part === 'value' ? secretId : `${secretId}/${part}`;
}

export type AccessVia = 'env_var' | 'grant' | 'attached_vault';

export interface AgentAccess<S extends SecretRef> {
  attached: readonly S[];
  granted: readonly S[];
  envVars: readonly { name: string; secret: S }[];
}

/**
 * The kill switch (SPEC §2): only a deployed agent receives values. Anything but `deployed` is
 * refused, so a status this code does not know fails closed.
 */
export function receivesValues(agent: { status: string }): boolean {
  return agent.status === 'deployed';
}

/** A secret restricted to domains may only travel through the proxy, never as a plain value. */
export function isDomainRestricted(secret: SecretRef): boolean {
  return secret.allowed_domains.length > 0;
}

export interface EnvEntry<S extends SecretRef> {
  name: string;
  secret: S;
  part: CredentialPart;
  via: AccessVia;
  /** `value`: injected as the real value; `placeholder`: only the proxy swaps in the value. */
  form: 'value' | 'placeholder';
}

/**
 * The secrets an agent's environment holds, by variable name. Precedence: an explicit
 * env_vars entry, then a grant, then attached vaults (in attachment order); the first
 * source that names a variable wins, so an explicit choice is never shadowed by a vault.
 */
export function secretEnvironment<S extends SecretRef>(access: AgentAccess<S>): EnvEntry<S>[] {
  const out = new Map<string, EnvEntry<S>>();
  const add = (base: string, secret: S, via: AccessVia) => {
    for (const { name, part } of credentialParts(secret, base)) {
      if (!out.has(name)) out.set(name, { name, secret, part, via, form: isDomainRestricted(secret) ? 'placeholder' : 'value' });
    }
  };
  for (const e of access.envVars) add(e.name, e.secret, 'env_var');
  for (const s of access.granted) add(s.env_key, s, 'grant');
  for (const s of access.attached) add(s.env_key, s, 'attached_vault');
  return [...out.values()];
}

/**
 * The secrets the agent's process actually receives: its plaintext `env` wins over a secret of
 * the same name from an attached vault or a grant (env_vars names cannot clash with it; they are
 * refused when written). The runtime delivers these, the operator's view of an agent's
 * environment lists them, and the proxy honours exactly the placeholders among them: a secret
 * shadowed by plain env was never handed to the agent, so its placeholder is unknown there.
 * `secretEnvironment` (without the shadowing) answers the other question, which secret a name
 * resolves to for `vault.read` and the environment's fingerprint.
 */
export function deliveredSecrets<S extends SecretRef>(access: AgentAccess<S>, plainEnv: Readonly<Record<string, string>>): EnvEntry<S>[] {
  return secretEnvironment(access).filter((e) => !Object.prototype.hasOwnProperty.call(plainEnv, e.name));
}

export type ReadDecision<S extends SecretRef> =
  | { allow: true; secret: S; via: AccessVia }
  | { allow: false; secret: S | null; reason: 'no_access' | 'domain_restricted' };

/**
 * `vault.read(name)`: the name resolves through the agent's environment (the same precedence).
 * Access alone is not enough: a domain-restricted value is never revealed to the agent, since
 * that would bypass the restriction. `orgMatches` (secrets of the org with that env_key) only
 * names the secret in a denial's audit record.
 */
export function decideRead<S extends SecretRef>(access: AgentAccess<S>, name: string, orgMatches: readonly S[] = []): ReadDecision<S> {
  const entry = secretEnvironment(access).find((e) => e.name === name);
  if (!entry) return { allow: false, secret: orgMatches[0] ?? null, reason: 'no_access' };
  if (isDomainRestricted(entry.secret)) return { allow: false, secret: entry.secret, reason: 'domain_restricted' };
  return { allow: true, secret: entry.secret, via: entry.via };
}

/**
 * The placeholders the agent holds: the delivered entries that are domain-restricted, one per
 * (secret, part) even when a secret is delivered under two names.
 */
export function placeholderSecrets<S extends SecretRef>(access: AgentAccess<S>, plainEnv: Readonly<Record<string, string>>): { secret: S; part: CredentialPart }[] {
  const out = new Map<string, { secret: S; part: CredentialPart }>();
  for (const e of deliveredSecrets(access, plainEnv)) {
    if (e.form === 'placeholder') out.set(placeholderSubject(e.secret.id, e.part), { secret: e.secret, part: e.part });
  }
  return [...out.values()];
}

/** What a secret says about where its value may go, and for which requests. */
export interface InjectionRules {
  allowed_domains: readonly string[];
  inject_in: readonly InjectSurface[];
  /** Absent: `static`. */
  type?: CredentialType;
  /** null or absent: any request. */
  rules?: readonly RequestRule[] | null;
}

/** The request a placeholder travels in: what request rules look at. */
export interface RequestLine {
  method: string;
  /** The request target as sent (origin form: path and query). */
  target: string;
}

/** One placeholder seen in one place of one request. */
export interface PlaceholderUse {
  destination: Destination;
  surface: InjectSurface;
  /** `false` for plain http://, which never carries a value. */
  tls: boolean;
  request: RequestLine;
  /** Which piece of its secret the placeholder stands for (absent: `value`). */
  part?: CredentialPart;
}

/** Why a placeholder was not replaced. The strings are the audit record's `reason` and the 403's message. */
export const blockReason = {
  unknown: 'unknown placeholder',
  plainHttp: 'plain http never carries a secret value',
  destination: 'destination not allowed for this secret',
  surface: (surface: InjectSurface) => `secret may not be sent in the ${surface}`,
  unavailable: 'secret value unavailable',
  /** An aws_sigv4 placeholder anywhere but in the signature it stands for. */
  signOnly: 'an aws_sigv4 credential is only used to sign requests, never sent as a value',
  rule: (detail: string) => `no request rule of this secret allows it: ${detail}`,
} as const;

/** The audit record's `reason` for each block, a fixed word a query can group by; the 403's message says more. */
export type BlockCause = 'unknown_placeholder' | 'plain_http' | 'host' | 'surface' | 'credential_type' | 'rule_denied' | 'scope' | 'unavailable';

/**
 * The audit record's `reason` for a block: SPEC §10 names `rule_denied` (and `rate_limited`,
 * counted elsewhere) as fixed words; the older rules keep the sentence they always recorded.
 */
export function auditReasonOf(cause: BlockCause | 'rate_limited' | undefined, reason: string): string {
  return cause === 'rule_denied' || cause === 'rate_limited' ? cause : reason;
}

export type PlaceholderVerdict = { inject: true } | { inject: false; reason: string; cause: BlockCause };

const block = (cause: BlockCause, reason: string): PlaceholderVerdict => ({ inject: false, reason, cause });

/** Whether a request to `destination` may carry this secret's value at all (before its surface). */
export function destinationMayReceive(secret: InjectionRules, destination: Destination, tls: boolean): boolean {
  return tls && isAllowedDestination(secret.allowed_domains, destination);
}

/**
 * The proxy's rule for one placeholder, in the order the reasons are checked: a placeholder the
 * agent does not hold (`secret` null), plain http, a host outside `allowed_domains`, an aws_sigv4
 * piece outside its signature, a surface outside `inject_in`, the secret's request rules.
 * (The rate limit is counted once the whole request is decided: `proxy-service` `admit`.)
 * Everything else about the request (its Host, SNI, the address DNS gives) is the tunnel's and
 * the dialer's to check: src/README.md lists where each rule lives.
 */
export function decidePlaceholder(secret: InjectionRules | null, use: PlaceholderUse): PlaceholderVerdict {
  if (!secret) return block('unknown_placeholder', blockReason.unknown);
  if (!use.tls) return block('plain_http', blockReason.plainHttp);
  if (!isAllowedDestination(secret.allowed_domains, use.destination)) return block('host', blockReason.destination);
  if (secret.type === 'aws_sigv4' || (use.part !== undefined && use.part !== 'value')) return block('credential_type', blockReason.signOnly);
  if (!secret.inject_in.includes(use.surface)) return block('surface', blockReason.surface(use.surface));
  return decideRules(secret, use.request);
}

function decideRules(secret: InjectionRules, request: RequestLine): PlaceholderVerdict {
  const verdict = checkRules(secret.rules ?? null, request);
  return verdict.allow ? { inject: true } : block('rule_denied', blockReason.rule(verdict.detail));
}

/** What an aws_sigv4 secret may sign for (SPEC §10). */
export interface SigningRules extends InjectionRules {
  signing: { regions: readonly string[]; services: readonly string[] } | null;
}

/**
 * Whether a request signed with an aws_sigv4 secret's placeholder access key may be signed again
 * with the real key: plain http, host, then the credential scope's region and service, then the
 * request rules. Nothing else of the secret is ever sent.
 */
export function decideSignature(secret: SigningRules, use: Omit<PlaceholderUse, 'surface' | 'part'>, auth: Pick<SigV4Auth, 'region' | 'service'>): PlaceholderVerdict {
  if (!use.tls) return block('plain_http', blockReason.plainHttp);
  if (!isAllowedDestination(secret.allowed_domains, use.destination)) return block('host', blockReason.destination);
  if (secret.type !== 'aws_sigv4' || !secret.signing) return block('credential_type', 'only an aws_sigv4 secret signs requests');
  const scope = checkSigV4Scope(secret.signing, auth);
  if (!scope.ok) return block('scope', scope.reason);
  return decideRules(secret, use.request);
}

/** A placeholder the agent holds, with its secret and, where this destination may receive it, the value. */
export interface HeldPlaceholder<S> {
  secret: S;
  part: CredentialPart;
  /** Opened only when `destinationMayReceive`; null otherwise (nothing is decrypted for a destination that may not have it). */
  value: Buffer | null;
  /** Why a value that would have been opened could not be (an OAuth token endpoint that failed): said in the block. */
  unavailable?: string;
}

export type PlaceholderResolution<S> = { kind: 'inject'; secret: S; value: Buffer } | { kind: 'block'; reason: string; cause: BlockCause; secret: S | null };

/** `decidePlaceholder` over what one request holds: the verdict, then the value itself. */
export function resolvePlaceholder<S extends InjectionRules>(
  held: ReadonlyMap<string, HeldPlaceholder<S>>,
  placeholder: string,
  use: PlaceholderUse,
): PlaceholderResolution<S> {
  const entry = held.get(placeholder);
  const verdict = decidePlaceholder(entry?.secret ?? null, entry ? { ...use, part: entry.part } : use);
  if (!verdict.inject) return { kind: 'block', reason: verdict.reason, cause: verdict.cause, secret: entry?.secret ?? null };
  if (!entry) return { kind: 'block', reason: blockReason.unknown, cause: 'unknown_placeholder', secret: null };
  if (entry.value === null) return { kind: 'block', reason: entry.unavailable ? `${blockReason.unavailable}: ${entry.unavailable}` : blockReason.unavailable, cause: 'unavailable', secret: entry.secret };
  return { kind: 'inject', secret: entry.secret, value: entry.value };
}
