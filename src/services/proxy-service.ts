// What the egress proxy asks of the vault: who the agent is, which placeholders it holds, and
// whether each may be replaced for this destination and surface. Every decision is audited.
import type { InjectSurface } from '../contract/schemas.js';
import { receivesValues, secretEnvironment } from '../core/access.js';
import { formatAuthority, isAllowedDestination, type Destination } from '../core/host-match.js';
import { placeholderFor } from '../core/placeholders.js';
import type { Keyring } from '../crypto/keyring.js';
import type { SecretRow, Store } from '../storage/store.js';
import { draftEvent, type ServiceDeps } from './context.js';
import { createEchoScrubs, type EchoScrub } from './echo-scrub.js';
import { openVersion } from './secret-values.js';
import type { AgentCaller, RuntimeService } from './runtime-service.js';

export type Surface = InjectSurface;
export type ProxySecret = SecretRow;

export type PlaceholderDecision =
  | { kind: 'inject'; secret: SecretRow; value: Buffer }
  | { kind: 'block'; reason: string; secret: SecretRow | null };

export interface ProxyRequestContext {
  caller: AgentCaller;
  destination: Destination;
  /** `false` for plain http://, which never carries a value. */
  tls: boolean;
  /** Resolves one placeholder found in one surface of the request. */
  decide(placeholder: string, surface: Surface): PlaceholderDecision;
  /** The agent is stopped (the kill switch): the context holds no secret and every request is refused. */
  readonly stopped: boolean;
  /** Whether the agent holds any placeholder at all (else nothing needs inspecting). */
  readonly holdsPlaceholders: boolean;
  /** Whether one of the agent's values may go into a request body here (then the body is held whole). */
  readonly bodyInjectable: boolean;
  /**
   * What every response from this destination is scrubbed of: the values of all the agent's
   * secrets that may be sent here, whether or not this request carried them (SPEC §6); null when
   * none may, and responses pass through untouched.
   */
  readonly echo: EchoScrub | null;
  /** Writes proxy.injected / proxy.blocked; resolves after the audit commit. */
  audit(outcome: { blocked: { reason: string; secret: SecretRow | null } | null; surfaces: Map<string, Set<Surface>> }): Promise<void>;
}

export function createProxyService(deps: ServiceDeps & { store: Store; keyring: Keyring; runtime: RuntimeService }) {
  const { store, keyring, runtime } = deps;
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
      const caller = await runtime.authenticate(token, origin);
      return caller && caller.agentId === agentId ? caller : null;
    },

    /**
     * Loads the agent's placeholders and their secrets' current values for one request. No value
     * is cached across requests, and the store's reads are current (SQLite memoizes them only until
     * the next write), so a rotation or a revoked grant applies to the very next one.
     */
    async prepare(caller: AgentCaller, destination: Destination, tls: boolean): Promise<ProxyRequestContext> {
      const facts = await store.agentAccessFacts(caller.orgId, caller.agentId);
      // Status is read with the facts, per request: a stop applies to the very next request.
      const served = facts && receivesValues(facts.agent) ? facts : null;
      const bySlug = new Map<string, SecretRow>();
      for (const entry of served ? secretEnvironment(served) : []) {
        if (entry.form === 'placeholder') bySlug.set(placeholderOf(caller.agentId, entry.secret.id), entry.secret);
      }
      const values = new Map<string, { value: Buffer; placeholder: Buffer }>();
      const pending = new Map<string, Promise<void>>();
      // Values are decrypted up front for the placeholders this destination may receive, so
      // `decide` stays synchronous inside the streaming substitution.
      for (const [placeholder, secret] of bySlug) {
        if (!tls || !isAllowedDestination(secret.allowed_domains, destination)) continue;
        pending.set(
          secret.id,
          store.getSecretVersion(secret.org_id, secret.id, secret.version).then((v) => {
            if (!v) return;
            values.set(secret.id, { value: Buffer.from(openVersion(keyring, secret, v), 'utf8'), placeholder: Buffer.from(placeholder) });
          }),
        );
      }
      await Promise.all(pending.values());
      const echo = await echoScrubs.forDestination(
        [...bySlug.values()].flatMap((secret) => {
          const entry = values.get(secret.id);
          return entry ? [{ secret, placeholder: entry.placeholder, current: entry.value }] : [];
        }),
      );

      return {
        caller,
        destination,
        tls,
        decide(placeholder, surface) {
          const secret = bySlug.get(placeholder);
          if (!secret) return { kind: 'block', reason: 'unknown placeholder', secret: null };
          if (!tls) return { kind: 'block', reason: 'plain http never carries a secret value', secret };
          if (!isAllowedDestination(secret.allowed_domains, destination)) return { kind: 'block', reason: 'destination not allowed for this secret', secret };
          if (!secret.inject_in.includes(surface)) return { kind: 'block', reason: `secret may not be sent in the ${surface}`, secret };
          const entry = values.get(secret.id);
          if (!entry) return { kind: 'block', reason: 'secret value unavailable', secret };
          return { kind: 'inject', secret, value: entry.value };
        },
        stopped: facts !== null && served === null,
        holdsPlaceholders: bySlug.size > 0,
        bodyInjectable: [...bySlug.values()].some((secret) => values.has(secret.id) && secret.inject_in.includes('body')),
        echo,
        async audit(outcome) {
          const base = { agent_id: caller.agentId };
          const host = formatAuthority(destination, 443);
          const drafts = outcome.blocked
            ? [
                draftEvent(deps, caller, 'proxy.blocked', {
                  ...base,
                  secret_id: outcome.blocked.secret?.id ?? null,
                  vault_id: outcome.blocked.secret?.vault_id ?? null,
                  outcome: 'denied',
                  reason: outcome.blocked.reason,
                  details: { host },
                }),
              ]
            : [...outcome.surfaces].map(([secretId, surfaces]) => {
                const secret = [...bySlug.values()].find((s) => s.id === secretId);
                return draftEvent(deps, caller, 'proxy.injected', {
                  ...base,
                  secret_id: secretId,
                  vault_id: secret?.vault_id ?? null,
                  details: { host, surfaces: [...surfaces], env_key: secret?.env_key ?? null, version: secret?.version ?? null },
                });
              });
          if (drafts.length > 0) await store.appendAudit(drafts);
        },
      };
    },
  };
}

export type ProxyService = ReturnType<typeof createProxyService>;
