// The Namespace-style `vault add|set|delete|list|reveal`, with its flag spellings (`--object_id`, `--from_file`; SPEC §7).
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { defaultVault, operatorClient, resolveVaultId } from '../client.js';
import { addIfVersion, collect, example, jsonCommand } from '../options.js';
import { addNewSecretOptions, addSetSecretOptions, createSecret, deleteSecret, listSecrets, revealSecret, updateSecret, type NewSecretOptions, type SetSecretOptions } from './secrets.js';

interface ObjectIdOptions {
  objectId?: string;
  object_id?: string;
}

function addObjectId(cmd: Command): Command {
  return cmd.option('--object-id <secret_id>', 'the secret (or give it as the argument)').addOption(new Option('--object_id <secret_id>', 'same as --object-id').hideHelp());
}

function objectIdOf(arg: string | undefined, opts: ObjectIdOptions): string {
  const given = [arg, opts.objectId, opts.object_id].filter((v): v is string => v !== undefined);
  if (given.length === 0) throw new UsageError('name the secret: --object_id sec_… (or as the argument)');
  if (new Set(given).size > 1) throw new UsageError('the secret is named twice, differently');
  return given[0] as string;
}

export function registerVaultAliases(program: Command): void {
  const vault = program.command('vault').description('Namespace-style aliases of `secrets`: add, set, delete, list, reveal');
  example(vault, 'vaultgate vault add --name API_KEY --from_file secret.txt --description "secret from file"');

  const add = addNewSecretOptions(
    vault
      .command('add')
      .description("add a secret (to the org's vault named `default` unless --vault); the value comes from stdin, --from_file or a hidden prompt")
      .option('--env-key <name>', 'the environment variable name (also --name)')
      .option('--name <name>', 'same as --env-key')
      .option('--vault <vault>', 'the vault (id or name); default: the vault named default, created if missing'),
  );
  example(add, 'vaultgate vault add --name API_KEY --description "key description"          # prompts', 'vaultgate vault add --name API_KEY --from_file secret.txt --description "secret from file"').action(
    async (opts: NewSecretOptions & { envKey?: string; name?: string; vault?: string }) => {
      if (opts.envKey !== undefined && opts.name !== undefined && opts.envKey !== opts.name) throw new UsageError('give --env-key or --name, not both');
      const envKey = opts.envKey ?? opts.name;
      if (envKey === undefined) throw new UsageError('vault add needs the environment variable name: --env-key NAME (or --name NAME)');
      const client = operatorClient();
      const vaultId = opts.vault !== undefined ? await resolveVaultId(client, opts.vault) : (await defaultVault(client)).id;
      // Namespace-style scripts (Namespace has no domains) keep working: unrestricted with a warning, not refused.
      await createSecret(client, vaultId, envKey, opts, 'warn');
    },
  );

  const set = addSetSecretOptions(addObjectId(vault.command('set [secret_id]').description('set a new value (prompted, or from --from_file / stdin) and/or change fields')));
  example(set, 'vaultgate vault set --object_id sec_abcde12345                      # prompts', 'vaultgate vault set --object_id sec_abcde12345 --from_file key.txt').action(
    async (id: string | undefined, opts: SetSecretOptions & ObjectIdOptions) => updateSecret(operatorClient(), objectIdOf(id, opts), opts),
  );

  jsonCommand(addIfVersion(addObjectId(vault.command('delete [secret_id]').description('delete a secret and its grants (irreversible)'))), 'vaultgate vault delete --object_id sec_abcde12345').action(
    async (id: string | undefined, opts: ObjectIdOptions & { ifVersionMatches?: number; json?: boolean }) => deleteSecret(operatorClient(), objectIdOf(id, opts), opts),
  );

  jsonCommand(
    vault.command('list').description('list secrets of every vault (metadata only)').option('--vault <vault>', 'only this vault (id or name)').option('--label <key=value>', 'only secrets with this label (repeatable)', collect),
    'vaultgate vault list --label team=payments',
  ).action(async (opts: { vault?: string; label?: string[]; json?: boolean }) => listSecrets(operatorClient(), opts));

  jsonCommand(addObjectId(vault.command('reveal [secret_id]').description('print the value of a revealable secret')), 'vaultgate vault reveal --object_id sec_abcde12345').action(
    async (id: string | undefined, opts: ObjectIdOptions & { json?: boolean }) => revealSecret(operatorClient(), objectIdOf(id, opts), opts),
  );
}
