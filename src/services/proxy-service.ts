// What the egress proxy asks of the vault: who the agent is, which placeholders it holds with the
// values this destination may receive, and the audit record of every injection and refusal.
import { VaultError } from '../contract/errors.js';
import type { InjectSurface, RateLimit } from '../contract/schemas.js';
import {
  auditReasonOf,
  destinationMayReceive,
  placeholderSecrets,
  placeholderSubject,
  receivesValues,
  type BlockCause,
  type CredentialPart,
  type HeldPlaceholder,
  type RequestLine,
} from '../core/access.js';
import { formatAuthority, type Destination } from '../core/host-match.js';
import { placeholderFor, placeholderPattern } from '../core/placeholders.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../storage/store.js';
import type { SecretRow } from '../storage/types.js';
import { agentDenial, draftEvent, type AgentCaller, type ServiceDeps } from './context.js';
import type { Credentials } from './credentials.js';
import { createEchoScrubs, type EchoScrub, type ScrubbedSecret } from './echo-scrub.js';
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
  /** The request's method and target, which request rules look at. */
  request: RequestLine;
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
  /** The rule that refused it, where one did: the audit record names SPEC §10's causes by a fixed word. */
  cause?: BlockCause | 'rate_limited';
  /** The request's method and target: a request rule's refusal records the method and path it judged. */
  request?: RequestLine;
}

/** An oauth2 secret's current access token (services/oauth-tokens.ts). */
export interface AccessTokens {
  accessToken(secret: SecretRow): Promise<{ token: string; superseded?: readonly string[] }>;
  invalidate(secret: SecretRow, token: string): Promise<void>;
}

/** Counts requests against a secret's rate limit (services/rate-limits.ts). */
export interface RateCounter {
  take(orgId: string, secretId: string, agentId: string, limit: RateLimit | null, now: Date): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }>;
  /** Whether `take` would refuse now, taking nothing. */
  peek(orgId: string, secretId: string, agentId: string, limit: RateLimit | null, now: Date): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }>;
}

/** The secrets behind the placeholders a request holds, by id. */
function secretsHeld(access: ProxyAccess): Map<string, SecretRow> {
  return new Map([...access.held.values()].map(({ secret }) => [secret.id, secret]));
}

/** What a refused request says about a token endpoint that failed: its status and OAuth error code, never a token. */
function tokenFailure(err: unknown): string {
  return err instanceof VaultError ? `the OAuth token endpoint failed: ${err.message}` : 'the OAuth token endpoint failed';
}

export type ProxyStore = Pick<Store, 'agentAccessFacts' | 'getSecretVersion' | 'appendAudit'>;

export function createProxyService(deps: ServiceDeps & { store: ProxyStore; keyring: Keyring; credentials: Credentials; tokens: AccessTokens; rates: RateCounter }) {
  const { store, keyring, credentials, tokens, rates } = deps;
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
    async prepare(caller: AgentCaller, destination: Destination, tls: boolean, request: RequestLine): Promise<ProxyAccess> {
      const facts = await store.agentAccessFacts(caller.orgId, caller.agentId);
      // Status is read with the facts, per request: a stop applies to the very next request.
      const served = facts && receivesValues(facts.agent) ? facts : null;
      const held = new Map<string, HeldPlaceholder<SecretRow>>();
      // Each secret this destination may receive, with the placeholders of its parts.
      const receiving = new Map<string, { secret: SecretRow; placeholders: Map<CredentialPart, Buffer> }>();
      for (const { secret, part } of served ? placeholderSecrets(served, served.agent.env) : []) {
        const placeholder = placeholderOf(caller.agentId, placeholderSubject(secret.id, part));
        held.set(placeholder, { secret, part, value: null });
        if (!destinationMayReceive(secret, destination, tls)) continue;
        const entry = receiving.get(secret.id) ?? { secret, placeholders: new Map<CredentialPart, Buffer>() };
        entry.placeholders.set(part, Buffer.from(placeholder));
        receiving.set(secret.id, entry);
      }
      // Values are opened up front, so that the decision stays synchronous inside the streaming substitution.
      const opened = await Promise.all(
        [...receiving.values()].map(async ({ secret, placeholders }): Promise<ScrubbedSecret | null> => {
          const version = await store.getSecretVersion(secret.org_id, secret.id, secret.version);
          if (!version) return null;
          const text = openVersion(keyring, secret, version);
          const set = (part: CredentialPart, value: Buffer) => {
            const placeholder = placeholders.get(part);
            if (placeholder) held.set(placeholder.toString(), { secret, part, value });
          };
          switch (secret.type) {
            case 'static':
              set('value', Buffer.from(text, 'utf8'));
              return { secret, placeholders, current: text };
            case 'aws_sigv4':
              // The signer reads the key from the access key id's entry; no part is ever substituted.
              set('access_key_id', Buffer.from(text, 'utf8'));
              return { secret, placeholders, current: text };
            case 'oauth2': {
              // Obtained for every request to a destination that may receive it, since the decision
              // is made while the request streams. A token endpoint that fails blocks only the
              // requests that carry this placeholder, saying why; other requests go on.
              const current = await tokens.accessToken(secret).catch((err: unknown) => {
                const placeholder = placeholders.get('value');
                if (placeholder) held.set(placeholder.toString(), { secret, part: 'value', value: null, unavailable: tokenFailure(err) });
                return null;
              });
              if (!current) return { secret, placeholders, current: text };
              const token = Buffer.from(current.token, 'utf8');
              set('value', token);
              const superseded = (current.superseded ?? []).map((t) => Buffer.from(t, 'utf8'));
              return { secret, placeholders, current: text, accessToken: token, supersededTokens: superseded };
            }
          }
        }),
      );
      const scrubbed = opened.filter((o): o is ScrubbedSecret => o !== null);
      return {
        caller,
        destination,
        request,
        tls,
        stopped: facts !== null && served === null,
        held,
        bodyInjectable: scrubbed.some(({ secret }) => secret.type !== 'aws_sigv4' && secret.inject_in.includes('body')),
        echo: await echoScrubs.forDestination(scrubbed),
      };
    },

    /**
     * The rate limits (SPEC §10): one request takes one slot of each secret it carries (injected or
     * signed). The first secret over its limit refuses the request with the seconds until a slot frees.
     */
    async admit(access: ProxyAccess, secretIds: Iterable<string>): Promise<{ ok: true } | { ok: false; secret: SecretRow; retryAfterSeconds: number }> {
      const secrets = secretsHeld(access);
      const now = deps.clock.now();
      const limited = [...secretIds].map((id) => secrets.get(id)).filter((secret): secret is SecretRow => Boolean(secret?.rate_limit));
      // A request refused by one secret's limit is not sent, so it must take no slot of another: with
      // several limited secrets, each is checked before any slot is taken. (Two requests racing for
      // the last slots can still both pass the check; then the later take refuses, as it would alone.)
      if (limited.length > 1) {
        for (const secret of limited) {
          const verdict = await rates.peek(secret.org_id, secret.id, access.caller.agentId, secret.rate_limit, now);
          if (!verdict.ok) return { ok: false, secret, retryAfterSeconds: verdict.retryAfterSeconds };
        }
      }
      for (const secret of limited) {
        const verdict = await rates.take(secret.org_id, secret.id, access.caller.agentId, secret.rate_limit, now);
        if (!verdict.ok) return { ok: false, secret, retryAfterSeconds: verdict.retryAfterSeconds };
      }
      return { ok: true };
    },

    /** After a 401 for a request that carried `token`: drops it if it is still the current one (the next `prepare` obtains a new one). */
    async dropAccessToken(secret: SecretRow, token: string): Promise<void> {
      await tokens.invalidate(secret, token);
    },

    /** `proxy.blocked`, under the destination's authority; resolves after the audit commit. */
    async auditBlocked(caller: AgentCaller, destination: Destination, blocked: Blocked): Promise<void> {
      const reason = auditReasonOf(blocked.cause, blocked.reason);
      const details: Record<string, unknown> = { host: formatAuthority(destination, 443) };
      if (reason !== blocked.reason) details.detail = blocked.reason;
      if (blocked.cause === 'rule_denied' && blocked.request) {
        // What the rule judged: the method and the path as sent (never the query, where values travel).
        const q = blocked.request.target.search(/[?#]/);
        details.method = blocked.request.method.slice(0, 32);
        details.path = (q < 0 ? blocked.request.target : blocked.request.target.slice(0, q)).slice(0, 512).replace(placeholderPattern, 'vgph_…');
      }
      await store.appendAudit([agentDenial(deps, caller, 'proxy.blocked', { secret: blocked.secret, reason, details })]);
    },

    /** One `proxy.injected` per secret (secret id → the surfaces its value went into); resolves after the commit. */
    async auditInjected(access: ProxyAccess, surfaces: ReadonlyMap<string, ReadonlySet<Surface>>): Promise<void> {
      if (surfaces.size === 0) return;
      const host = formatAuthority(access.destination, 443);
      const secrets = secretsHeld(access);
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
