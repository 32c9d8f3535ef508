// Grants: an explicit right of one agent to one secret, even in a vault it does not have attached.
import { VaultError } from '../contract/errors.js';
import type { CreateGrantBody, Grant } from '../contract/agent-schemas.js';
import { isId } from '../core/ids.js';
import type { GrantRow } from '../storage/types.js';
import type { Store } from '../storage/store.js';
import { draftEvent, type Caller, type ServiceDeps } from './context.js';
import { paginate, type PageRequest, type PageResult } from './pagination.js';

export function toGrant(row: GrantRow): Grant {
  return { grant_id: row.id, agent_id: row.agent_id, secret_id: row.secret_id, created_at: row.created_at };
}

export type GrantsStore = Pick<Store, 'createGrant' | 'listGrants' | 'deleteGrant'>;

export function createGrantsService(deps: ServiceDeps & { store: GrantsStore }) {
  const { store } = deps;
  return {
    /** Granting an existing pair returns the existing grant with `created: false`. */
    async create(caller: Caller, body: CreateGrantBody): Promise<{ grant: Grant; created: boolean }> {
      if (!isId('agent', body.agent_id)) throw new VaultError('agent_not_found');
      if (!isId('secret', body.secret_id)) throw new VaultError('secret_not_found');
      const row: GrantRow = { id: deps.ids('grant'), org_id: caller.orgId, agent_id: body.agent_id, secret_id: body.secret_id, created_at: deps.clock.now().toISOString() };
      const audit = [draftEvent(deps, caller, 'grant.created', { agent_id: row.agent_id, secret_id: row.secret_id, target_id: row.id })];
      const result = await store.createGrant(row, audit);
      if (!result.ok) throw new VaultError(result.reason);
      return { grant: toGrant(result.grant), created: result.created };
    },

    async list(caller: Caller, query: PageRequest & { agent_id?: string | undefined }): Promise<PageResult<Grant>> {
      const page = await paginate(query, (p) => store.listGrants(caller.orgId, { agentId: query.agent_id, page: p }));
      return { items: (page?.items ?? []).map(toGrant), nextCursor: page?.nextCursor ?? null };
    },

    async remove(caller: Caller, grantId: string): Promise<void> {
      const gone = await store.deleteGrant(caller.orgId, grantId, (g) => [
        draftEvent(deps, caller, 'grant.deleted', { agent_id: g.agent_id, secret_id: g.secret_id, target_id: g.id }),
      ]);
      if (!gone) throw new VaultError('grant_not_found');
    },
  };
}

export type GrantsService = ReturnType<typeof createGrantsService>;
