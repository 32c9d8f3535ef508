// The one access decision: which secrets an agent may use, and how each value may leave the vault.
import type { InjectSurface } from '../contract/schemas.js';
import { isAllowedDestination, type Destination } from './host-match.js';

export interface SecretRef {
  id: string;
  vault_id: string;
  env_key: string;
  allowed_domains: readonly string[];
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
  const add = (name: string, secret: S, via: AccessVia) => {
    if (!out.has(name)) out.set(name, { name, secret, via, form: isDomainRestricted(secret) ? 'placeholder' : 'value' });
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

/** The secrets whose placeholders the agent holds: the delivered ones that are domain-restricted. */
export function placeholderSecrets<S extends SecretRef>(access: AgentAccess<S>, plainEnv: Readonly<Record<string, string>>): S[] {
  return deliveredSecrets(access, plainEnv).flatMap((e) => (e.form === 'placeholder' ? [e.secret] : []));
}

/** What a secret says about where its value may go. */
export interface InjectionRules {
  allowed_domains: readonly string[];
  inject_in: readonly InjectSurface[];
}

/** One placeholder seen in one place of one request. */
export interface PlaceholderUse {
  destination: Destination;
  surface: InjectSurface;
  /** `false` for plain http://, which never carries a value. */
  tls: boolean;
}

/** Why a placeholder was not replaced. The strings are the audit record's `reason` and the 403's message. */
export const blockReason = {
  unknown: 'unknown placeholder',
  plainHttp: 'plain http never carries a secret value',
  destination: 'destination not allowed for this secret',
  surface: (surface: InjectSurface) => `secret may not be sent in the ${surface}`,
  unavailable: 'secret value unavailable',
} as const;

export type PlaceholderVerdict = { inject: true } | { inject: false; reason: string };

/** Whether a request to `destination` may carry this secret's value at all (before its surface). */
export function destinationMayReceive(secret: InjectionRules, destination: Destination, tls: boolean): boolean {
  return tls && isAllowedDestination(secret.allowed_domains, destination);
}

/**
 * The proxy's rule for one placeholder, in the order the reasons are checked: a placeholder the
 * agent does not hold (`secret` null), plain http, a host outside `allowed_domains`, a surface
 * outside `inject_in`. Everything else about the request (its Host, SNI, the address DNS gives)
 * is the tunnel's and the dialer's to check: src/README.md lists where each rule lives.
 */
export function decidePlaceholder(secret: InjectionRules | null, use: PlaceholderUse): PlaceholderVerdict {
  if (!secret) return { inject: false, reason: blockReason.unknown };
  if (!use.tls) return { inject: false, reason: blockReason.plainHttp };
  if (!isAllowedDestination(secret.allowed_domains, use.destination)) return { inject: false, reason: blockReason.destination };
  if (!secret.inject_in.includes(use.surface)) return { inject: false, reason: blockReason.surface(use.surface) };
  return { inject: true };
}

/** A placeholder the agent holds, with its secret and, where this destination may receive it, the value. */
export interface HeldPlaceholder<S> {
  secret: S;
  /** Opened only when `destinationMayReceive`; null otherwise (nothing is decrypted for a destination that may not have it). */
  value: Buffer | null;
}

export type PlaceholderResolution<S> = { kind: 'inject'; secret: S; value: Buffer } | { kind: 'block'; reason: string; secret: S | null };

/** `decidePlaceholder` over what one request holds: the verdict, then the value itself. */
export function resolvePlaceholder<S extends InjectionRules>(
  held: ReadonlyMap<string, HeldPlaceholder<S>>,
  placeholder: string,
  use: PlaceholderUse,
): PlaceholderResolution<S> {
  const entry = held.get(placeholder);
  const verdict = decidePlaceholder(entry?.secret ?? null, use);
  if (!entry || !verdict.inject) return { kind: 'block', reason: verdict.inject ? blockReason.unknown : verdict.reason, secret: entry?.secret ?? null };
  if (entry.value === null) return { kind: 'block', reason: blockReason.unavailable, secret: entry.secret };
  return { kind: 'inject', secret: entry.secret, value: entry.value };
}
