// Every vault and secret of the org, for the pickers of grants, env_vars and audit filters.
import type { Secret, Vault } from '../../src/sdk/index.js';
import { useLoad, type Loaded } from './hooks.js';

export interface OrgSecrets {
  vaults: Vault[];
  secrets: (Secret & { vault_name: string })[];
}

export function useOrgSecrets(deps: readonly unknown[] = []): Loaded<OrgSecrets> {
  return useLoad(async (c) => {
    const vaults = await c.vaults.all();
    const lists = await Promise.all(vaults.map(async (v) => (await c.secrets.all(v.id)).map((s) => ({ ...s, vault_name: v.name }))));
    return { vaults, secrets: lists.flat() };
  }, deps);
}
