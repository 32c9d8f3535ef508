// `vaultgate agents apply -f spec.yaml`: make one agent match a devbox-style spec, idempotently.
import { parse } from 'yaml';
import type { VaultgateClient } from '../sdk/index.js';
import type { Agent } from '../sdk/index.js';

export interface AgentSpec {
  name: string;
  vaults: string[];
  env: Record<string, string>;
  env_vars: { name: string; from_secret_id: string }[];
}

export class SpecError extends Error {
  override name = 'SpecError';
}

/** Parses and checks the spec's shape; the server validates names, ids and values. */
export function parseAgentSpec(text: string): AgentSpec {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    throw new SpecError('the spec is not valid YAML');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new SpecError('the spec must be a YAML mapping');
  const spec = doc as Record<string, unknown>;
  const known = new Set(['name', 'vaults', 'env', 'image', 'size']);
  for (const key of Object.keys(spec)) if (!known.has(key)) throw new SpecError(`unknown field in spec: ${key}`);
  if (typeof spec.name !== 'string' || spec.name === '') throw new SpecError('spec.name must be a non-empty string');
  const vaults = spec.vaults ?? [];
  if (!Array.isArray(vaults) || !vaults.every((v) => typeof v === 'string')) throw new SpecError('spec.vaults must be a list of vault ids or names');
  const envList = spec.env ?? [];
  if (!Array.isArray(envList)) throw new SpecError('spec.env must be a list of {name, value} or {name, from_secret_id}');
  const env: Record<string, string> = {};
  const envVars: AgentSpec['env_vars'] = [];
  envList.forEach((entry: unknown, i) => {
    const e = entry as Record<string, unknown>;
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string') throw new SpecError(`spec.env[${i}].name must be a string`);
    const hasValue = 'value' in e;
    const hasSecret = 'from_secret_id' in e;
    if (hasValue === hasSecret) throw new SpecError(`spec.env[${i}] needs exactly one of value or from_secret_id`);
    if (hasSecret) {
      if (typeof e.from_secret_id !== 'string') throw new SpecError(`spec.env[${i}].from_secret_id must be a string`);
      envVars.push({ name: e.name, from_secret_id: e.from_secret_id });
    } else {
      if (typeof e.value !== 'string' && typeof e.value !== 'number' && typeof e.value !== 'boolean') throw new SpecError(`spec.env[${i}].value must be a scalar`);
      env[e.name] = String(e.value);
    }
  });
  return { name: spec.name, vaults: vaults, env, env_vars: envVars };
}

async function resolveVaultIds(client: VaultgateClient, refs: string[]): Promise<string[]> {
  if (refs.every((r) => r.startsWith('vlt_'))) return refs;
  const byName = new Map((await client.vaults.all()).map((v) => [v.name, v.id]));
  return refs.map((r) => (r.startsWith('vlt_') ? r : (byName.get(r) ?? r)));
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Creates or updates the agent named in the spec and leaves it deployed, as `devbox create --from`
 * starts one (so applying undoes a stop); applying the same spec twice changes nothing.
 */
export async function applyAgentSpec(client: VaultgateClient, spec: AgentSpec): Promise<{ agent: Agent; action: 'created' | 'updated' | 'unchanged' }> {
  const vaultIds = await resolveVaultIds(client, spec.vaults);
  const existing = (await client.agents.all()).find((a) => a.name === spec.name);
  if (!existing) {
    const created = await client.agents.create({ name: spec.name, env: spec.env, env_vars: spec.env_vars, vault_ids: vaultIds });
    return { agent: await client.agents.deploy(created.id), action: 'created' };
  }
  let changed = false;
  if (!same(existing.env, spec.env) || !same(existing.env_vars, spec.env_vars)) {
    await client.agents.update(existing.id, { env: spec.env, env_vars: spec.env_vars });
    changed = true;
  }
  for (const id of vaultIds.filter((v) => !existing.vault_ids.includes(v))) {
    await client.agents.attach(existing.id, id);
    changed = true;
  }
  for (const id of existing.vault_ids.filter((v) => !vaultIds.includes(v))) {
    await client.agents.detach(existing.id, id);
    changed = true;
  }
  if (existing.status !== 'deployed') {
    await client.agents.deploy(existing.id);
    changed = true;
  }
  return { agent: await client.agents.get(existing.id), action: changed ? 'updated' : 'unchanged' };
}
