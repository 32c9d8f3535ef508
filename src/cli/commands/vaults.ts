// `vaultgate vaults create|list|get|delete`.
import type { Command } from 'commander';
import type { Vault } from '../../sdk/index.js';
import { operatorClient, resolveVault, resolveVaultId } from '../client.js';
import { example, jsonCommand } from '../options.js';
import { printDetails, printResult, printTable, relativeTime, writeOut } from '../output.js';

export function vaultDetails(v: Vault): [string, string][] {
  return [
    ['id', v.id],
    ['name', v.name],
    ['description', v.description ?? '-'],
    ['secrets', String(v.secret_count)],
    ['created', relativeTime(v.created_at)],
    ['updated', relativeTime(v.updated_at)],
  ];
}

export function registerVaultCommands(program: Command): void {
  const vaults = program.command('vaults').description('named groups of secrets');
  example(vaults, 'vaultgate vaults create payments --description "Stripe and bank keys"', 'vaultgate vaults list');

  jsonCommand(vaults.command('create <name>').description('create a vault').option('--description <text>', 'what the vault holds'), 'vaultgate vaults create payments --description "Stripe and bank keys"').action(
    async (name: string, opts: { description?: string; json?: boolean }) => {
      const vault = await operatorClient().vaults.create({ name, ...(opts.description !== undefined ? { description: opts.description } : {}) });
      printResult(opts.json, vault, `created vault ${vault.name} (${vault.id})\n`);
    },
  );

  jsonCommand(vaults.command('list').alias('ls').description('list vaults, oldest first'), 'vaultgate vaults list', 'vaultgate vaults list --json | jq -r ".[].id"').action(async (opts: { json?: boolean }) => {
    const all = await operatorClient().vaults.all();
    printResult(opts.json, all, () => printTable('vaults', ['ID', 'NAME', 'SECRETS', 'CREATED', 'DESCRIPTION'], all.map((v) => [v.id, v.name, String(v.secret_count), relativeTime(v.created_at), v.description ?? ''])));
  });

  jsonCommand(vaults.command('get <vault>').description('show one vault (by id or name)'), 'vaultgate vaults get payments', 'vaultgate vaults get vlt_01KQ27AQH800XQTQPJZ0DH14SJ --json').action(async (ref: string, opts: { json?: boolean }) => {
    const vault = await resolveVault(operatorClient(), ref);
    printResult(opts.json, vault, () => printDetails(vaultDetails(vault)));
  });

  jsonCommand(vaults.command('delete <vault>').alias('rm').description('delete a vault and every secret in it (irreversible)'), 'vaultgate vaults delete payments').action(async (ref: string, opts: { json?: boolean }) => {
    const client = operatorClient();
    const id = await resolveVaultId(client, ref);
    await client.vaults.delete(id);
    if (!opts.json) writeOut(`deleted vault ${id}\n`);
  });
}
