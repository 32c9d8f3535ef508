// The operator's client: URL and key from the environment or the saved profile, and name lookups.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { clientProfilePath, loadClientConfig, type ClientConfig, type ClientProfile } from '../config.js';
import { createClient, VaultgateError, type Agent, type Vault, type VaultgateClient } from '../sdk/index.js';
import { CliError, exitCodes } from './errors.js';

/** The saved profile, or an empty one when there is none. */
export function readProfile(path: string = clientProfilePath()): ClientProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    const doc = JSON.parse(text) as { url?: unknown; api_key?: unknown };
    return {
      url: typeof doc.url === 'string' ? doc.url : undefined,
      apiKey: typeof doc.api_key === 'string' ? doc.api_key : undefined,
    };
  } catch {
    throw new CliError(`the profile ${path} is not valid JSON; run vaultgate login again`, exitCodes.usage);
  }
}

/** Writes the profile readable by its owner only (0600, directory 0700), replacing it atomically. */
export function writeProfile(profile: { url: string; apiKey: string }, path: string = clientProfilePath()): string {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify({ url: profile.url, api_key: profile.apiKey }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
  return path;
}

export function clientConfig(): Readonly<ClientConfig> {
  return loadClientConfig(undefined, readProfile());
}

export function operatorClient(): VaultgateClient {
  const config = clientConfig();
  if (!config.apiKey) {
    throw new CliError('not logged in: run vaultgate login, or set VAULTGATE_API_KEY (and VAULTGATE_URL if the API is not at http://127.0.0.1:7400)', exitCodes.auth);
  }
  return createClient({ url: config.url, apiKey: config.apiKey });
}

const notFound = (code: 'vault_not_found' | 'agent_not_found', message: string) => new VaultgateError(404, code, message);

/** A vault by id (`vlt_…`) or by name. */
export async function resolveVault(client: VaultgateClient, ref: string): Promise<Vault> {
  if (ref.startsWith('vlt_')) return client.vaults.get(ref);
  const found = (await client.vaults.all()).find((v) => v.name === ref);
  if (!found) throw notFound('vault_not_found', 'vault not found');
  return found;
}

export async function resolveVaultId(client: VaultgateClient, ref: string): Promise<string> {
  return ref.startsWith('vlt_') ? ref : (await resolveVault(client, ref)).id;
}

/** An agent by id (`agt_…`) or by name. */
export async function resolveAgentId(client: VaultgateClient, ref: string): Promise<string> {
  if (ref.startsWith('agt_')) return ref;
  const found = (await client.agents.all()).find((a: Agent) => a.name === ref);
  if (!found) throw notFound('agent_not_found', 'agent not found');
  return found.id;
}

/** The org's vault named `default` (the one `/v1/vault` uses), created when missing. */
export async function defaultVault(client: VaultgateClient): Promise<Vault> {
  const find = async () => (await client.vaults.all()).find((v) => v.name === 'default');
  const existing = await find();
  if (existing) return existing;
  try {
    return await client.vaults.create({ name: 'default', description: 'Default vault of the /v1/vault API' });
  } catch (err) {
    // Created concurrently by someone else: use theirs.
    const raced = err instanceof VaultgateError && err.status === 409 ? await find() : undefined;
    if (raced) return raced;
    throw err;
  }
}
