// Orgs and operator API keys: bootstrap of the default org, and minting and revoking keys.
import { VaultError } from '../contract/errors.js';
import type { Store } from '../storage/store.js';
import type { ApiKeyRow, OrgRow } from '../storage/types.js';
import { draftEvent, type Caller, type ServiceDeps } from './context.js';
import { apiKeyPrefix, hashToken, mintToken } from './credentials.js';

const minAdminKeyLength = 16;

const adminCaller = (orgId: string): Caller => ({ orgId, actor: 'admin', requestId: null, sourceIp: null });

export type OrgsStore = Pick<Store, 'createOrg' | 'getDefaultOrg' | 'findOrgByName' | 'findApiKeyByHash' | 'createApiKey' | 'revokeApiKey'>;

export function createOrgsService(deps: ServiceDeps & { store: OrgsStore }) {
  const { store } = deps;
  const mintApiKey = () => mintToken(apiKeyPrefix, deps.random);
  const now = () => deps.clock.now().toISOString();

  function keyRow(orgId: string, token: string, name: string | null): ApiKeyRow {
    return { id: deps.ids('apiKey'), org_id: orgId, name, hash: hashToken(token), created_at: now(), revoked_at: null };
  }

  async function createOrgWithKey(name: string, isDefault: boolean, token: string) {
    const org: OrgRow = { id: deps.ids('org'), name, is_default: isDefault, created_at: now() };
    const key = keyRow(org.id, token, 'admin');
    const caller = adminCaller(org.id);
    const audit = [
      draftEvent(deps, caller, 'org.created', { target_id: org.id, details: { name } }),
      draftEvent(deps, caller, 'api_key.created', { target_id: key.id }),
    ];
    const result = await store.createOrg(org, key, audit);
    if (!result.ok) throw new VaultError('invalid_request', 'an org with this name already exists');
    return { org, key };
  }

  return {
    /**
     * Ensures the default org exists. On an empty store its first admin key is `adminKey` when
     * given, else a new one, returned once so the caller can hand it over (`beforeMint` runs first:
     * the caller may refuse, and then nothing is created). `adminKey` is honoured only there: on a
     * store that has a default org, a key it does not hold is ignored (`adminKeyIgnored`), never
     * added, so a stray variable cannot grant a permanent admin key (SPEC §11).
     */
    async bootstrap(adminKey: string | undefined, hooks: { beforeMint?: () => void } = {}): Promise<{ org: OrgRow; printedKey: string | null; adminKeyIgnored: boolean }> {
      if (adminKey !== undefined && adminKey.length < minAdminKeyLength) {
        throw new VaultError('invalid_request', `VAULTGATE_ADMIN_KEY must be at least ${minAdminKeyLength} characters`);
      }
      let existing = await store.getDefaultOrg();
      if (!existing) {
        if (adminKey === undefined) hooks.beforeMint?.();
        const token = adminKey ?? mintApiKey();
        try {
          const { org } = await createOrgWithKey('default', true, token);
          return { org, printedKey: adminKey === undefined ? token : null, adminKeyIgnored: false };
        } catch (err) {
          // Several nodes starting at once on one empty database: one creates the default org,
          // the others use it.
          existing = await store.getDefaultOrg();
          if (!existing) throw err;
        }
      }
      const adminKeyIgnored = adminKey !== undefined && !(await store.findApiKeyByHash(hashToken(adminKey)));
      return { org: existing, printedKey: null, adminKeyIgnored };
    },

    async createOrg(name: string): Promise<{ org_id: string; api_key: string }> {
      if (name.trim() === '' || name.length > 128) throw new VaultError('invalid_request', 'org name must be 1-128 characters');
      const token = mintApiKey();
      const { org } = await createOrgWithKey(name, false, token);
      return { org_id: org.id, api_key: token };
    },

    async createKey(orgName: string | undefined, name: string | null): Promise<{ id: string; org_id: string; api_key: string }> {
      const org = orgName === undefined ? await store.getDefaultOrg() : await store.findOrgByName(orgName);
      if (!org) throw new VaultError('not_found', 'org not found');
      const token = mintApiKey();
      const key = keyRow(org.id, token, name);
      await store.createApiKey(key, [draftEvent(deps, adminCaller(org.id), 'api_key.created', { target_id: key.id })]);
      return { id: key.id, org_id: org.id, api_key: token };
    },

    async revokeKey(keyId: string): Promise<{ id: string; org_id: string; revoked_at: string }> {
      const revoked = await store.revokeApiKey(keyId, now(), (key) => [draftEvent(deps, adminCaller(key.org_id), 'api_key.revoked', { target_id: key.id })]);
      if (!revoked || !revoked.revoked_at) throw new VaultError('not_found', 'api key not found');
      return { id: revoked.id, org_id: revoked.org_id, revoked_at: revoked.revoked_at };
    },
  };
}

export type OrgsService = ReturnType<typeof createOrgsService>;
