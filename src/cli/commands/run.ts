// `vaultgate run`: start a command as an agent; its exit code (128+n for signal n) is ours.
import type { Command } from 'commander';
import { parentEnvironment } from '../../config.js';
import { CliError, exitCodes } from '../errors.js';
import { clientConfig, operatorClient } from '../client.js';
import { writeErr } from '../output.js';
import { readSpecFile } from './agents.js';

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a command as an agent: its environment, the egress proxy and the deployment CA')
    .option('--agent <id-or-name>', 'the agent (with VAULTGATE_API_KEY: a token is minted for this run and revoked after)')
    .option('--spec <file>', 'apply this agent spec first, then run as that agent')
    .option('--watch', 'restart the command when an unrestricted value it holds changes')
    .argument('<command...>', 'the command and its arguments (after --)')
    .addHelpText(
      'after',
      '\nExamples:\n  VAULTGATE_AGENT_TOKEN=vgat_… vaultgate run -- curl https://api.stripe.com/v1/charges -H "Authorization: Bearer $STRIPE_KEY"\n  vaultgate run --agent researcher -- python3 agent.py',
    )
    .action(async (command: string[], opts: { agent?: string; spec?: string; watch?: boolean }) => {
      const client = clientConfig();
      let token = client.agentToken;
      let revoke: (() => Promise<void>) | null = null;
      if (opts.agent !== undefined || opts.spec !== undefined || token === undefined) {
        if (opts.agent === undefined && opts.spec === undefined) {
          throw new CliError('set VAULTGATE_AGENT_TOKEN, or give --agent or --spec with VAULTGATE_API_KEY (or after vaultgate login)', exitCodes.auth);
        }
        const operator = operatorClient();
        let agentId: string;
        if (opts.spec !== undefined) {
          const { applyAgentSpec, parseAgentSpec } = await import('../agents-apply.js');
          agentId = (await applyAgentSpec(operator, parseAgentSpec(readSpecFile(opts.spec)))).agent.id;
        } else {
          const ref = opts.agent as string;
          agentId = ref.startsWith('agt_') ? ref : ((await operator.agents.all()).find((a) => a.name === ref)?.id ?? ref);
        }
        const minted = await operator.agents.createToken(agentId);
        token = minted.token;
        revoke = () => operator.agents.revokeToken(agentId, minted.id);
      }
      // Loaded per command, like agents-apply: `serve` and the other commands never need them.
      const { runAsAgent } = await import('../../runtime/run.js');
      try {
        process.exitCode = await runAsAgent({
          url: client.url,
          token,
          command,
          watch: opts.watch ?? false,
          parentEnv: parentEnvironment(),
          onNotice: (text) => writeErr(`${text}\n`),
        });
      } finally {
        await revoke?.().catch(() => writeErr('vaultgate run: could not revoke the token minted for this run\n'));
      }
    });
}
