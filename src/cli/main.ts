#!/usr/bin/env node
// The `vaultgate` command: the command tree, argv checks, and one error → exit code mapping.
import { Command } from 'commander';
import { version } from '../version.js';
import { registerAdminCommands, registerServeCommand } from './commands/admin.js';
import { registerAgentCommands } from './commands/agents.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerCompletionCommand } from './commands/completion.js';
import { registerExplainCommand } from './commands/explain.js';
import { registerGrantCommands } from './commands/grants.js';
import { registerLoginCommand, registerLogoutCommand } from './commands/login.js';
import { registerRunCommand } from './commands/run.js';
import { registerSecretCommands } from './commands/secrets.js';
import { registerVaultAliases } from './commands/vault-aliases.js';
import { registerVaultCommands } from './commands/vaults.js';
import { reportError } from './errors.js';
import { writeErr } from './output.js';
import { refuseArgvValues } from './values.js';

/** Commander's own messages, as `vaultgate: …`, with anything after `=` in an echoed flag cut (it could be a value). */
function usageMessage(text: string): string {
  return `vaultgate: ${text.replace(/^error: /, '').replace(/'(-{1,2}[^'=\s]+)=[^']*'/g, "'$1=…'")}`;
}

export function buildProgram(): Command {
  const program = new Command('vaultgate')
    .description('Vaultgate: a secrets vault for AI agents')
    .version(version)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(usageMessage(text)) })
    .showHelpAfterError('(add --help for usage)');
  program.addHelpText(
    'after',
    '\nExamples:\n  vaultgate login\n  printf %s "$STRIPE_KEY" | vaultgate secrets add --vault payments --env-key STRIPE_KEY --allowed-domain api.stripe.com\n  vaultgate run --agent researcher -- python3 agent.py\n\nExit codes: 2 usage, 3 auth, 4 not found, 5 conflict/validation, 6 server, 7 network (docs/cli.md).',
  );
  registerServeCommand(program);
  registerAdminCommands(program);
  registerLoginCommand(program);
  registerLogoutCommand(program);
  registerVaultCommands(program);
  registerSecretCommands(program);
  registerVaultAliases(program);
  registerAgentCommands(program);
  registerGrantCommands(program);
  registerExplainCommand(program);
  registerAuditCommands(program);
  registerRunCommand(program);
  registerCompletionCommand(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  // `vaultgate … | head`: a closed stdout ends the command quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  try {
    refuseArgvValues(argv.slice(2));
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err, writeErr);
  }
}

await main(process.argv);
