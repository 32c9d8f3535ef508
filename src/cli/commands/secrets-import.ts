// `vaultgate secrets import --from-dotenv FILE`: one secret per KEY=value of a .env file; prints names and outcomes, never a value.
import type { Command } from 'commander';
import type { Secret, VaultgateClient } from '../../sdk/index.js';
import { DotenvError, parseDotenv, type DotenvEntry } from '../dotenv.js';
import { UsageError } from '../errors.js';
import { operatorClient, resolveVaultId } from '../client.js';
import { collectList, jsonCommand } from '../options.js';
import { printJson, writeErr, writeOut } from '../output.js';
import { newSecretRestriction, unrestrictedWarning } from '../unrestricted.js';
import { readInputFile } from '../values.js';

interface ImportOptions {
  vault: string;
  fromDotenv: string;
  allowedDomain?: string[];
  unrestricted?: boolean;
  injectIn?: string[];
  overwrite?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** `unchanged`: `--overwrite` sent the value the secret already had, and the API made no new version. */
type Action = 'created' | 'updated' | 'unchanged' | 'skipped';

interface Outcome {
  env_key: string;
  action: Action;
  /** Why a key was skipped. */
  reason?: string;
  id: string | null;
  dry_run: boolean;
}

/** The entries of the file, or a usage error naming the file and the line (never its text). */
async function readEntries(path: string): Promise<DotenvEntry[]> {
  const text = await readInputFile(path);
  let entries: DotenvEntry[];
  try {
    entries = parseDotenv(text);
  } catch (err) {
    if (err instanceof DotenvError) throw new UsageError(`${path === '-' ? 'stdin' : path} ${err.message}; nothing was imported`);
    throw err;
  }
  const empty = entries.find((e) => e.value === '');
  if (empty) throw new UsageError(`${path === '-' ? 'stdin' : path} line ${empty.line}: ${empty.key} is empty, and a secret cannot be; nothing was imported`);
  if (entries.length === 0) throw new UsageError(`${path === '-' ? 'stdin' : path} has no KEY=value line; nothing was imported`);
  return entries;
}

/** What happens to one key: create it, set its value (`--overwrite`), or leave it. */
function plan(existing: Secret | undefined, overwrite: boolean): { action: Action; reason?: string } {
  if (!existing) return { action: 'created' };
  if (!overwrite) return { action: 'skipped', reason: 'exists (--overwrite sets a new value)' };
  if (existing.type !== 'static') return { action: 'skipped', reason: `exists as a ${existing.type} secret, whose value is not a .env line` };
  return { action: 'updated' };
}

async function apply(client: VaultgateClient, vaultId: string, entry: DotenvEntry, action: Action, existing: Secret | undefined, opts: ImportOptions): Promise<{ id: string | null; action: Action }> {
  if (action === 'skipped' || opts.dryRun) return { id: existing?.id ?? null, action };
  if (existing) {
    const updated = await client.secrets.update(existing.id, { value: entry.value });
    return { id: updated.id, action: updated.version === existing.version ? 'unchanged' : 'updated' };
  }
  const created = await client.secrets.create(vaultId, {
    env_key: entry.key,
    value: entry.value,
    ...(opts.allowedDomain ? { allowed_domains: opts.allowedDomain } : {}),
    ...(opts.injectIn ? { inject_in: opts.injectIn as Secret['inject_in'] } : {}),
  });
  return { id: created.id, action };
}

function outcomeLine(o: Outcome): string {
  const verb = o.dry_run ? { created: 'would be created', updated: 'would be updated', unchanged: 'unchanged', skipped: 'skipped' }[o.action] : o.action;
  return `${o.env_key}  ${verb}${o.reason ? `: ${o.reason}` : ''}${o.id ? `  ${o.id}` : ''}\n`;
}

export async function importDotenv(client: VaultgateClient, opts: ImportOptions): Promise<void> {
  const unrestricted = newSecretRestriction(opts, 'refuse');
  const entries = await readEntries(opts.fromDotenv);
  const vaultId = await resolveVaultId(client, opts.vault);
  const byKey = new Map((await client.secrets.all(vaultId)).map((s) => [s.env_key, s]));
  const outcomes: Outcome[] = [];
  for (const entry of entries) {
    const existing = byKey.get(entry.key);
    const planned = plan(existing, opts.overwrite === true);
    const { id, action } = await apply(client, vaultId, entry, planned.action, existing, opts);
    const reason = planned.reason;
    const outcome: Outcome = { env_key: entry.key, action, ...(reason ? { reason } : {}), id, dry_run: opts.dryRun === true };
    outcomes.push(outcome);
    // One line as each key is done, so that a failure half-way still shows what was imported.
    if (!opts.json) writeOut(outcomeLine(outcome));
    if (unrestricted && action === 'created' && !opts.dryRun) writeErr(unrestrictedWarning(entry.key, unrestricted));
  }
  if (opts.json) printJson(outcomes);
}

export function registerSecretsImport(secrets: Command): void {
  jsonCommand(
    secrets
      .command('import')
      .description('create one secret per KEY=value line of a .env file (existing keys are skipped unless --overwrite); prints names, never values')
      .requiredOption('--vault <vault>', 'the vault (id or name)')
      .requiredOption('--from-dotenv <file>', 'the .env file (- is stdin): KEY=value, export KEY=value, quotes, # comments; multi-line values are refused')
      .option('--allowed-domain <host>', 'only send the values to this host (repeatable); every imported secret gets the same list', collectList)
      .option('--unrestricted', 'unrestricted on purpose, no --allowed-domain: agents get the real values (one of the two is needed)')
      .option('--inject-in <surfaces>', 'where the proxy may put the values: header, path, query, body, websocket (comma-separated)', collectList)
      .option('--overwrite', 'give keys the vault already has the value from the file (a new version) instead of skipping them')
      .option('--dry-run', 'read the file and the vault, print what would happen, change nothing'),
    'vaultgate secrets import --vault payments --from-dotenv .env --allowed-domain api.stripe.com --dry-run',
    'vaultgate secrets import --vault dev --from-dotenv .env.local --unrestricted --overwrite',
  ).action(async (opts: ImportOptions) => importDotenv(operatorClient(), opts));
}
