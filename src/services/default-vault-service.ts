// The default-vault API (`/v1/vault`, SPEC §5): secrets by name in the org's default vault, and grants.
import { VaultError } from '../contract/errors.js';
import type { DefaultVaultSecret, Grant } from '../contract/agent-schemas.js';
import { isId } from '../core/ids.js';
import type { Store } from '../storage/store.js';
import type { Caller } from './context.js';
import type { GrantsService } from './grants-service.js';
import type { PageRequest, PageResult } from './pagination.js';
import type { SecretsService } from './secrets-service.js';
import type { VaultsService } from './vaults-service.js';

/** The vault that `/v1/vault` acts on; created on first use. */
export const defaultVaultName = 'default';

export type DefaultVaultStore = Pick<Store, 'findVaultByName' | 'findAgentByName'>;

export function createDefaultVaultService(deps: { store: DefaultVaultStore; vaults: VaultsService; secrets: SecretsService; grants: GrantsService }) {
  const { store, vaults, secrets, grants } = deps;

  async function defaultVaultId(caller: Caller): Promise<string> {
    const existing = await store.findVaultByName(caller.orgId, defaultVaultName);
    if (existing) return existing.id;
    try {
      return (await vaults.create(caller, { name: defaultVaultName, description: 'Default vault of the /v1/vault API' })).id;
    } catch (err) {
      // Another request created it first.
      const raced = await store.findVaultByName(caller.orgId, defaultVaultName);
      if (raced) return raced.id;
      throw err;
    }
  }

  return {
    async createSecret(caller: Caller, body: { name: string; value?: string | undefined }): Promise<DefaultVaultSecret> {
      const vaultId = await defaultVaultId(caller);
      const created = await secrets.create(caller, vaultId, { env_key: body.name, value: body.value });
      return { id: created.id, name: created.env_key, created_at: created.created_at };
    },

    async listSecrets(caller: Caller, query: PageRequest): Promise<PageResult<DefaultVaultSecret>> {
      // Reading creates nothing: without a default vault there is nothing to list.
      const vault = await store.findVaultByName(caller.orgId, defaultVaultName);
      if (!vault) return { items: [], nextCursor: null };
      const page = await secrets.list(caller, vault.id, query);
      return { items: page.items.map((s) => ({ id: s.id, name: s.env_key, created_at: s.created_at })), nextCursor: page.nextCursor };
    },

    async deleteSecret(caller: Caller, secretId: string): Promise<void> {
      await secrets.remove(caller, { vaultId: await defaultVaultId(caller) }, secretId, null);
    },

    /** `agent_id` may be an agent id or, as in that API's original documentation ("researcher"), an agent name; it is answered as given. */
    async createGrant(caller: Caller, body: { agent_id: string; secret_id: string }): Promise<{ grant: Grant; created: boolean }> {
      let agentId = body.agent_id;
      if (!isId('agent', agentId)) {
        const byName = await store.findAgentByName(caller.orgId, agentId);
        if (!byName) throw new VaultError('agent_not_found');
        agentId = byName.id;
      }
      const result = await grants.create(caller, { agent_id: agentId, secret_id: body.secret_id });
      return { grant: { ...result.grant, agent_id: body.agent_id }, created: result.created };
    },
  };
}

export type DefaultVaultService = ReturnType<typeof createDefaultVaultService>;
