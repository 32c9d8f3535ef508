// Vaults: named groups of secrets inside an org.
import { VaultError } from '../contract/errors.js';
import type { CreateVaultBody, UpdateVaultBody, Vault } from '../contract/schemas.js';
import type { Store } from '../storage/store.js';
import type { VaultWithCount } from '../storage/types.js';
import { draftEvent, type Caller, type ServiceDeps } from './context.js';
import { paginate, type PageRequest, type PageResult } from './pagination.js';
import { checkDescription } from './secret-fields.js';

const maxNameLength = 128;
const controlChars = /[\u0000-\u001f\u007f]/;

function checkName(name: string): string {
  if (name.trim().length === 0) throw new VaultError('invalid_request', 'name cannot be empty');
  if (name.length > maxNameLength) throw new VaultError('invalid_request', `name must be at most ${maxNameLength} characters`);
  if (controlChars.test(name)) throw new VaultError('invalid_request', 'name must not contain control characters');
  return name;
}

export function toVault(row: VaultWithCount): Vault {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    secret_count: Number(row.secret_count),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export type VaultsStore = Pick<Store, 'createVault' | 'listVaults' | 'getVault' | 'updateVault' | 'deleteVault'>;

export function createVaultsService(deps: ServiceDeps & { store: VaultsStore }) {
  const { store } = deps;
  return {
    async create(caller: Caller, body: CreateVaultBody): Promise<Vault> {
      const now = deps.clock.now().toISOString();
      const row = {
        id: deps.ids('vault'),
        org_id: caller.orgId,
        name: checkName(body.name),
        description: checkDescription(body.description),
        created_at: now,
        updated_at: now,
      };
      const audit = [draftEvent(deps, caller, 'vault.created', { vault_id: row.id, details: { name: row.name } })];
      const result = await store.createVault(row, audit);
      if (!result.ok) throw new VaultError(result.reason);
      return toVault({ ...row, secret_count: 0 });
    },

    async list(caller: Caller, query: PageRequest): Promise<PageResult<Vault>> {
      const page = await paginate(query, (p) => store.listVaults(caller.orgId, p));
      return { items: (page?.items ?? []).map(toVault), nextCursor: page?.nextCursor ?? null };
    },

    async get(caller: Caller, vaultId: string): Promise<Vault> {
      const row = await store.getVault(caller.orgId, vaultId);
      if (!row) throw new VaultError('vault_not_found');
      return toVault(row);
    },

    async update(caller: Caller, vaultId: string, body: UpdateVaultBody): Promise<Vault> {
      const current = await store.getVault(caller.orgId, vaultId);
      if (!current) throw new VaultError('vault_not_found');
      const name = body.name === undefined ? undefined : checkName(body.name);
      const description = body.description === undefined ? undefined : checkDescription(body.description);
      const changed = [
        ...(name !== undefined && name !== current.name ? ['name'] : []),
        ...(description !== undefined && description !== current.description ? ['description'] : []),
      ];
      if (changed.length === 0) return toVault(current);
      const patch = {
        ...(name !== undefined ? { name } : {}),
        ...(description !== undefined ? { description } : {}),
        updated_at: deps.clock.now().toISOString(),
      };
      const audit = [draftEvent(deps, caller, 'vault.updated', { vault_id: vaultId, details: { changed } })];
      const result = await store.updateVault(caller.orgId, vaultId, patch, audit);
      if (!result.ok) throw new VaultError(result.reason === 'not_found' ? 'vault_not_found' : result.reason);
      return toVault(result.vault);
    },

    async remove(caller: Caller, vaultId: string): Promise<void> {
      const result = await store.deleteVault(caller.orgId, vaultId, (vault, secrets) => [
        ...secrets.map((s) =>
          draftEvent(deps, caller, 'secret.deleted', { vault_id: vaultId, secret_id: s.id, reason: 'vault deleted', details: { env_key: s.env_key } }),
        ),
        draftEvent(deps, caller, 'vault.deleted', { vault_id: vaultId, details: { name: vault.name, secrets_deleted: secrets.length } }),
      ]);
      if (result.ok) return;
      if (result.reason === 'not_found') throw new VaultError('vault_not_found');
      throw new VaultError('vault_in_use', `cannot delete vault: still attached to ${result.deployedAgents} deployed agent(s)`);
    },
  };
}

export type VaultsService = ReturnType<typeof createVaultsService>;
