// The one access decision: which secrets an agent may use, and how each value may leave the vault.

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
 * refused when written). The runtime delivers these, and the operator's view of an agent's
 * environment lists them, so both follow this one rule.
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
