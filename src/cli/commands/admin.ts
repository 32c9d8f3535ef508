// `vaultgate serve` and `vaultgate admin …`: the only commands that open the store (loaded lazily,
// so that client commands start without loading the server).
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import type { createServices as CreateServices } from '../../main.js';
import { printJson, writeOut } from '../output.js';
import { readInputFile } from '../values.js';

async function withServices<T>(fn: (services: ReturnType<typeof CreateServices>) => Promise<T>): Promise<T> {
  const { createServices, openVaultgate } = await import('../../main.js');
  const config = loadConfig();
  // Only `serve` creates a store: an admin command where there is none says so and writes nothing.
  const vg = await openVaultgate(config, { mustExist: true });
  try {
    return await fn(createServices(vg, config));
  } finally {
    await vg.close();
  }
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the API on the configured store')
    .addHelpText('after', '\nExample:\n  VAULTGATE_DATA_DIR=/var/lib/vaultgate vaultgate serve')
    .action(async () => {
      const { startServer } = await import('../../main.js');
      const server = await startServer(loadConfig());
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        server.app.log.info({ signal }, 'shutting down');
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('operate on the store directly (for the deployment operator)');
  admin.addHelpText('after', '\nExample:\n  vaultgate admin org create acme --json');
  const org = admin.command('org').description('organizations');
  org.addHelpText('after', '\nExample:\n  vaultgate admin org create acme --json');
  org
    .command('create <name>')
    .description('create an org and its first admin API key')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  vaultgate admin org create acme --json')
    .action(async (name: string, opts: { json?: boolean }) => {
      const created = await withServices((s) => s.orgs.createOrg(name));
      if (opts.json) printJson(created);
      else writeOut(`org ${created.org_id}\napi key (shown once): ${created.api_key}\n`);
    });

  const key = admin.command('key').description('operator API keys');
  key.addHelpText('after', '\nExample:\n  vaultgate admin key create --name ci --json');
  key
    .command('create')
    .description('mint an API key (default org unless --org)')
    .option('--org <name>', 'org name')
    .option('--name <name>', 'a label for the key')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  vaultgate admin key create --name ci --json')
    .action(async (opts: { org?: string; name?: string; json?: boolean }) => {
      const created = await withServices((s) => s.orgs.createKey(opts.org, opts.name ?? null));
      if (opts.json) printJson(created);
      else writeOut(`key ${created.id}\napi key (shown once): ${created.api_key}\n`);
    });
  key
    .command('revoke <key_id>')
    .description('revoke an API key; it fails on its very next request')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  vaultgate admin key revoke key_01KQ27AQH800XQTQPJZ0DH14SJ')
    .action(async (keyId: string, opts: { json?: boolean }) => {
      const revoked = await withServices((s) => s.orgs.revokeKey(keyId));
      if (opts.json) printJson(revoked);
      else writeOut(`revoked ${revoked.id}\n`);
    });

  admin
    .command('rotate-master-key')
    .description('re-wrap every data key under a new master key (refused while any node serves the store)')
    .option('--new-key-file <file>', 'read the new key (base64 of 32 bytes) from this file instead of generating one')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  vaultgate admin rotate-master-key')
    .action(async (opts: { newKeyFile?: string; json?: boolean }) => {
      const text = opts.newKeyFile === undefined ? undefined : await readInputFile(opts.newKeyFile);
      const result = await withServices((s) => s.keyring.rotateMasterKey(text));
      if (opts.json) printJson(result);
      else {
        writeOut(`master key rotated: ${result.from} -> ${result.to} (${result.rewrapped} data keys re-wrapped)\n`);
        if (result.pendingFile) writeOut(`set VAULTGATE_MASTER_KEY to the key in ${result.pendingFile}, then delete that file\n`);
      }
    });
}
