// Bearer credentials, both kinds alike: operator API keys (`vgk_…`) and agent tokens (`vgat_…`) are
// minted here, stored only as a hash, and checked here for the REST APIs and the proxy.
import { createHash } from 'node:crypto';
import type { Store } from '../storage/store.js';
import type { AuthFailureAudit } from './auth-failures.js';
import { draftEvent, type AgentCaller, type Caller, type ServiceDeps } from './context.js';

export const apiKeyPrefix = 'vgk_';
export const agentTokenPrefix = 'vgat_';

/** Random bytes per minted credential. */
const tokenBytes = 32;

/** What the store keeps of a credential: its SHA-256, hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new credential: the prefix, then 32 random bytes in base64url (43 characters). */
export function mintToken(prefix: string, random: ServiceDeps['random']): string {
  return prefix + random(tokenBytes).toString('base64url');
}

export type BearerKind = 'api_key' | 'agent_token';
type CallerOf<K extends BearerKind> = K extends 'agent_token' ? AgentCaller : Caller;
type Origin = { requestId: string; sourceIp: string };

export type CredentialsStore = Pick<Store, 'findApiKeyByHash' | 'findAgentTokenByHash'>;

export interface CredentialsDeps extends ServiceDeps {
  store: CredentialsStore;
  /** auth.failed events, coalesced per org, source address and minute. */
  authFailures: AuthFailureAudit;
}

export function createCredentials(deps: CredentialsDeps) {
  const { store } = deps;

  /**
   * The row a token names, found by its hash. The lookup is the comparison: the hash of a 256-bit
   * random token is an index that timing cannot walk towards, so no second constant-time compare
   * of the row's hash with the one it was found by is needed.
   */
  async function find(kind: BearerKind, token: string, origin: Origin) {
    const hash = hashToken(token);
    if (kind === 'api_key') {
      const row = await store.findApiKeyByHash(hash);
      if (!row) return null;
      const caller: Caller = { orgId: row.org_id, actor: row.id, requestId: origin.requestId, sourceIp: origin.sourceIp };
      return { caller, revoked: row.revoked_at !== null, fields: { target_id: row.id, reason: 'api key revoked' } };
    }
    const row = await store.findAgentTokenByHash(hash);
    if (!row) return null;
    const caller: AgentCaller = { orgId: row.org_id, actor: row.agent_id, agentId: row.agent_id, tokenId: row.id, requestId: origin.requestId, sourceIp: origin.sourceIp };
    return { caller, revoked: row.revoked_at !== null, fields: { agent_id: row.agent_id, target_id: row.id, reason: 'agent token revoked' } };
  }

  return {
    /**
     * The caller a bearer credential stands for, or null. A revoked credential names its org, so
     * the attempt goes into that org's chain (`auth.failed`); an unknown one names no org and is
     * only logged by the transport that received it.
     */
    async authenticateBearer<K extends BearerKind>(kind: K, token: string, origin: Origin): Promise<CallerOf<K> | null> {
      const found = await find(kind, token, origin);
      if (!found) return null;
      if (found.revoked) {
        await deps.authFailures.record(draftEvent(deps, found.caller, 'auth.failed', { ...found.fields, outcome: 'denied' }));
        return null;
      }
      return found.caller as CallerOf<K>;
    },
  };
}

export type Credentials = ReturnType<typeof createCredentials>;
