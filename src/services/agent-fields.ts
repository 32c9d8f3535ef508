// Validation of what an operator writes about an agent: name, plaintext env, env_vars, vault ids.
import { VaultError } from '../contract/errors.js';
import type { EnvVar } from '../contract/agent-schemas.js';
import { isValidEnvKey } from '../core/env-key.js';
import { isId } from '../core/ids.js';
import { maxValueBytes } from './secret-fields.js';

const maxEnvEntries = 1000;
const controlChars = /[\u0000-\u001f\u007f]/;
const invalid = (message: string) => new VaultError('invalid_request', message);

export function checkAgentName(name: string): string {
  if (name.trim() === '' || name.length > 128 || controlChars.test(name)) {
    throw invalid('name must be 1-128 characters without control characters');
  }
  return name;
}

export function checkEnv(env: Record<string, string> | undefined): Record<string, string> {
  if (env === undefined) return {};
  const entries = Object.entries(env);
  if (entries.length > maxEnvEntries) throw invalid(`env may hold at most ${maxEnvEntries} entries`);
  for (const [key, value] of entries) {
    if (!isValidEnvKey(key)) throw invalid('env keys must be valid environment variable names');
    if (Buffer.byteLength(value, 'utf8') > maxValueBytes || value.includes('\0')) {
      throw invalid('env values must be at most 65536 bytes without NUL');
    }
  }
  return Object.fromEntries(entries);
}

export function checkEnvVars(envVars: EnvVar[] | undefined, env: Record<string, string>): EnvVar[] {
  if (envVars === undefined) return [];
  const names = new Set<string>();
  envVars.forEach((e, i) => {
    if (!isValidEnvKey(e.name)) throw invalid(`env_vars[${i}].name must be a valid environment variable name`);
    if (names.has(e.name)) throw invalid(`env_vars[${i}].name is listed twice`);
    if (Object.prototype.hasOwnProperty.call(env, e.name)) throw invalid(`env_vars[${i}].name is also set in env`);
    if (!isId('secret', e.from_secret_id)) throw new VaultError('secret_not_found');
    names.add(e.name);
  });
  return envVars.map((e) => ({ name: e.name, from_secret_id: e.from_secret_id }));
}

export function checkVaultIds(vaultIds: string[] | undefined): string[] {
  if (vaultIds === undefined) return [];
  if (vaultIds.some((id) => !isId('vault', id))) throw new VaultError('vault_not_found');
  return [...new Set(vaultIds)];
}
