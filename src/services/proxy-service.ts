// What the egress proxy asks of the vault: who the agent is, which placeholders it holds with the
// values this destination may receive, and the audit record of every injection and refusal.
import type { InjectSurface } from '../contract/schemas.js';
import { destinationMayReceive, placeholderSecrets, receivesValues, type HeldPlaceholder } from '../core/access.js';
import { formatAuthority, type Destination } from '../core/host-match.js';
import { placeholderFor } from '../core/placeholders.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../storage/store.js';
import type { SecretRow } from '../storage/types.js';
import { agentDenial, draftEvent, type AgentCaller, type ServiceDeps } from './context.js';
import type { Credentials } from './credentials.js';
import { createEchoScrubs, type EchoScrub } from './echo-scrub.js';
import { openVersion } from './secret-values.js';

export type Surface = InjectSurface;
export type ProxySecret = SecretRow;

/**
 * What one request may use, read for that request: data only. Which placeholder may go where is
 * core/access's `decidePlaceholder`; the proxy applies it to `held` as it scans the request.
 */
export interface ProxyAccess {
  caller: AgentCaller;
  destination: Destination;
  /** `false` for plain http://, which never carries a value. */
  tls: boolean;
  /** The agent is stopped (the kill switch): nothing is held and every request is refused. */
  stopped: boolean;
  /** placeholder → its secret (id, rules) and, where this destination may receive it, its value. */
  held: ReadonlyMap<string, HeldPlaceholder<SecretRow>>;
  /** Whether one of the agent's values may go into a request body here (then the body is held whole). */
  bodyInjectable: boolean;
  /**
   * What every response from this destination is scrubbed of: the values of all the agent's
   * secrets that may be sent here, whether or not this request carried them (SPEC §6); null when
   * none may, and responses pass through untouched.
   */
  echo: EchoScrub | null;
}

/** A refused request: the rule's reason and, where one secret's rule refused it, that secret. */
export interface Blocked {
  reason: string;
  secret: SecretRow | null;
}

export type ProxyStore = Pick<Store, 'agentAccessFacts' | 'getSecretVersion' | 'appendAudit'>;

export function createProxyService(deps: ServiceDeps & { store: ProxyStore; keyring: Keyring; credentials: Credentials }) {
  const { store, keyring, credentials } = deps;
  const placeholderKey = keyring.placeholderKey;
  const echoScrubs = createEchoScrubs({ store, keyring, clock: deps.clock });
  // Placeholders never change for an (agent, secret) pair, so remembering them needs no invalidation.
  const placeholders = new Map<string, string>();
  const placeholderOf = (agentId: string, secretId: string): string => {
    const key = `${agentId}\0${secretId}`;
    let p = placeholders.get(key);
    if (p === undefined) {
      p = placeholderFor(placeholderKey, agentId, secretId);
      if (placeholders.size >= 100_000) placeholders.clear();
      placeholders.set(key, p);
    }
    return p;
  };

  return {
    /** Proxy-Authorization carries `agent_id:token`; the token must belong to that agent. */
    async authenticate(agentId: string, token: string, origin: { requestId: string; sourceIp: string }): Promise<AgentCaller | null> {
      const caller = await credentials.authenticateBearer('agent_token', token, origin);
      return caller && caller.agentId === agentId ? caller : null;
    },

    /**
     * Reads the agent's placeholders and opens the current values of the secrets this destination
     * may receive, for one request. No value is cached across requests, and the store's reads are
     * current (SQLite memoizes them only until the next write), so a rotation or a revoked grant
     * applies to the very next one. Refusals that need no placeholder decided never come here.
     */
    async prepare(caller: AgentCaller, destination: Destination, tls: boolean): Promise<ProxyAccess> {
      const facts = await store.agentAccessFacts(caller.orgId, caller.agentId);
      // Status is read with the facts, per request: a stop applies to the very next request.
      const served = facts && receivesValues(facts.agent) ? facts : null;
      // One secret may be delivered under two names; it is one placeholder.
      const secrets = new Map((served ? placeholderSecrets(served, served.agent.env) : []).map((secret) => [secret.id, secret]));
      const held = new Map<string, HeldPlaceholder<SecretRow>>();
      // Values are opened up front, so that the decision stays synchronous inside the streaming substitution.
      await Promise.all(
        [...secrets.values()].map(async (secret) => {
          const placeholder = placeholderOf(caller.agentId, secret.id);
          held.set(placeholder, { secret, value: null });
          if (!destinationMayReceive(secret, destination, tls)) return;
          const version = await store.getSecretVersion(secret.org_id, secret.id, secret.version);
          if (version) held.set(placeholder, { secret, value: Buffer.from(openVersion(keyring, secret, version), 'utf8') });
        }),
      );
      const opened = [...held].flatMap(([placeholder, { secret, value }]) => (value ? [{ secret, placeholder: Buffer.from(placeholder), current: value }] : []));
      return {
        caller,
        destination,
        tls,
        stopped: facts !== null && served === null,
        held,
        bodyInjectable: opened.some(({ secret }) => secret.inject_in.includes('body')),
        echo: await echoScrubs.forDestination(opened),
      };
    },

    /** `proxy.blocked`, under the destination's authority; resolves after the audit commit. */
    async auditBlocked(caller: AgentCaller, destination: Destination, blocked: Blocked): Promise<void> {
      await store.appendAudit([agentDenial(deps, caller, 'proxy.blocked', { ...blocked, details: { host: formatAuthority(destination, 443) } })]);
    },

    /** One `proxy.injected` per secret (secret id → the surfaces its value went into); resolves after the commit. */
    async auditInjected(access: ProxyAccess, surfaces: ReadonlyMap<string, ReadonlySet<Surface>>): Promise<void> {
      if (surfaces.size === 0) return;
      const host = formatAuthority(access.destination, 443);
      const secrets = new Map([...access.held.values()].map(({ secret }) => [secret.id, secret]));
      await store.appendAudit(
        [...surfaces].map(([secretId, used]) => {
          const secret = secrets.get(secretId);
          return draftEvent(deps, access.caller, 'proxy.injected', {
            agent_id: access.caller.agentId,
            secret_id: secretId,
            vault_id: secret?.vault_id ?? null,
            details: { host, surfaces: [...used], env_key: secret?.env_key ?? null, version: secret?.version ?? null },
          });
        }),
      );
    },
  };
}

export type ProxyService = ReturnType<typeof createProxyService>;

/** What the proxy's relays need to put injections and refusals on record. */
export type ProxyAudits = Pick<ProxyService, 'auditBlocked' | 'auditInjected'>;
