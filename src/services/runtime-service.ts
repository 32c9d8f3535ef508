// The agent runtime: the agent's environment, its fingerprint, and `vault.read`.
import { createHash } from 'node:crypto';
import { VaultError } from '../contract/errors.js';
import type { AgentEnvironment } from '../contract/agent-schemas.js';
import { decideRead, deliveredSecrets, placeholderSubject, receivesValues, secretEnvironment, type AccessVia } from '../core/access.js';
import { isValidEnvKey } from '../core/env-key.js';
import { placeholderFor } from '../core/placeholders.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../storage/store.js';
import type { SecretRow } from '../storage/types.js';
import { agentDenial, draftEvent, type AgentCaller, type ServiceDeps } from './context.js';
import { currentValue } from './secret-values.js';

export type RuntimeStore = Pick<Store, 'agentAccessFacts' | 'findSecretsByEnvKey' | 'getSecretVersion' | 'appendAudit'>;

export interface RuntimeDeps extends ServiceDeps {
  store: RuntimeStore;
  keyring: Keyring;
  /** Where agents reach the proxy, e.g. `http://127.0.0.1:7401` (known once it listens). */
  proxyBaseUrl: () => string;
  /** PEM of the deployment CA (loaded or generated at boot). */
  caCertificate: () => Promise<string>;
}

export function createRuntimeService(deps: RuntimeDeps) {
  const { store, keyring } = deps;
  const placeholderKey = keyring.placeholderKey;

  const valueOf = (secret: SecretRow) => currentValue(store, keyring, secret);

  function accessed(caller: AgentCaller, secret: SecretRow, via: AccessVia, delivery: 'environment' | 'vault.read') {
    return draftEvent(deps, caller, 'vault.accessed', {
      agent_id: caller.agentId,
      vault_id: secret.vault_id,
      secret_id: secret.id,
      details: { env_key: secret.env_key, version: secret.version, via, delivery },
    });
  }

  async function factsOf(caller: AgentCaller) {
    const facts = await store.agentAccessFacts(caller.orgId, caller.agentId);
    // The agent was deleted after its token was checked: treat it as unauthenticated.
    if (!facts) throw new VaultError('unauthorized');
    return facts;
  }

  /**
   * The kill switch: a stopped agent gets no value, from its next request on. Status comes with
   * the access facts, which are read per request (SQLite's memo is dropped by every write).
   */
  async function servedFactsOf(caller: AgentCaller, delivery: 'environment' | 'vault.read', name?: string) {
    const facts = await factsOf(caller);
    if (receivesValues(facts.agent)) return facts;
    const details = name !== undefined && isValidEnvKey(name) ? { delivery, name } : { delivery };
    await store.appendAudit([agentDenial(deps, caller, 'vault.denied', { secret: null, reason: 'agent_stopped', details })]);
    throw new VaultError('agent_stopped');
  }

  return {
    /**
     * Plaintext env, unrestricted secrets as values, restricted secrets as placeholders. Plain env
     * wins over a secret of the same name from an attached vault or grant; env_vars names cannot
     * clash with it (refused when written). Every value delivered is audited before it is returned.
     */
    async environment(caller: AgentCaller, token: string): Promise<AgentEnvironment> {
      const facts = await servedFactsOf(caller, 'environment');
      const env: Record<string, string> = {};
      const audit = [];
      for (const entry of deliveredSecrets(facts, facts.agent.env)) {
        if (entry.form === 'placeholder') {
          env[entry.name] = placeholderFor(placeholderKey, caller.agentId, placeholderSubject(entry.secret.id, entry.part));
        } else {
          env[entry.name] = await valueOf(entry.secret);
          audit.push(accessed(caller, entry.secret, entry.via, 'environment'));
        }
      }
      Object.assign(env, facts.agent.env);
      if (audit.length > 0) await store.appendAudit(audit);
      const proxy = new URL(deps.proxyBaseUrl());
      proxy.username = caller.agentId;
      proxy.password = token;
      return { env, proxy_url: proxy.toString().replace(/\/$/, ''), ca_certificate: await deps.caCertificate() };
    },

    /** A digest of what the environment holds (names, secret ids and versions, plain env): no value, not audited. */
    async fingerprint(caller: AgentCaller): Promise<{ fingerprint: string }> {
      const facts = await factsOf(caller);
      const shape = secretEnvironment(facts).map((e) => [e.name, e.secret.id, e.secret.version, e.form]);
      const digest = createHash('sha256').update(JSON.stringify([shape, facts.agent.env])).digest('hex');
      return { fingerprint: digest };
    },

    /** The `vault.read` primitive (SPEC §2 and §4): the kill switch, access, then the domain restriction, each audited. */
    async read(caller: AgentCaller, name: string): Promise<{ value: string }> {
      const facts = await servedFactsOf(caller, 'vault.read', name);
      const decision = decideRead(facts, name, await store.findSecretsByEnvKey(caller.orgId, name));
      if (!decision.allow) {
        // The requested name is recorded only when it is a plausible env name, never arbitrary text.
        const details = isValidEnvKey(name) ? { name } : {};
        await store.appendAudit([agentDenial(deps, caller, 'vault.denied', { secret: decision.secret, reason: decision.reason, details })]);
        throw new VaultError('access_denied');
      }
      const value = await valueOf(decision.secret);
      await store.appendAudit([accessed(caller, decision.secret, decision.via, 'vault.read')]);
      return { value };
    },
  };
}

export type RuntimeService = ReturnType<typeof createRuntimeService>;
