// `vaultgate run`: start a command as an agent; its exit code (128+n for signal n) is ours.
import type { Command } from 'commander';
import { VaultgateError, type Agent, type EnvironmentEntry } from '../../sdk/index.js';
import { parentEnvironment } from '../../config.js';
import { CliError, exitCodes, UsageError } from '../errors.js';
import { clientConfig, operatorClient } from '../client.js';
import { parseDuration } from '../options.js';
import { writeErr } from '../output.js';
import { readSpecFile } from './agents.js';

/** The kill switch, told before the command starts, with the fix (a token alone does not name its agent). */
function stoppedError(name: string | null): CliError {
  return new CliError(`${name === null ? 'this agent' : `agent ${name}`} is stopped: run "vaultgate agents deploy ${name ?? '<agent>'}" first`, exitCodes.auth);
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a command as an agent: its environment, the egress proxy and the deployment CA')
    .option('--agent <id-or-name>', 'the agent (with VAULTGATE_API_KEY: a token is minted for this run and revoked after)')
    .option('--spec <file>', 'apply this agent spec first, then run as that agent')
    .option('--watch', 'restart the command when an unrestricted value it holds changes')
    .option('--watch-interval <duration>', 'how often --watch asks whether a value changed (default 2s; 100ms to 60m)', parseDuration('--watch-interval', 100, 3_600_000))
    .argument('<command...>', 'the command and its arguments (after --)')
    .addHelpText(
      'after',
      '\nExamples:\n  VAULTGATE_AGENT_TOKEN=vgat_… vaultgate run -- curl https://api.stripe.com/v1/charges -H "Authorization: Bearer $STRIPE_KEY"\n  vaultgate run --agent researcher -- python3 agent.py',
    )
    .action(async (command: string[], opts: { agent?: string; spec?: string; watch?: boolean; watchInterval?: number }) => {
      if (opts.watchInterval !== undefined && !opts.watch) throw new UsageError('--watch-interval needs --watch');
      const client = clientConfig();
      let token = client.agentToken;
      let revoke: (() => Promise<void>) | null = null;
      // With an operator key, `run` can tell the agent's plain env from unrestricted secrets (docs/run.md).
      let describeEnvironment: (() => Promise<EnvironmentEntry[]>) | undefined;
      let agentName: string | null = null;
      if (opts.agent !== undefined || opts.spec !== undefined || token === undefined) {
        if (opts.agent === undefined && opts.spec === undefined) {
          throw new CliError('set VAULTGATE_AGENT_TOKEN, or give --agent or --spec with VAULTGATE_API_KEY (or after vaultgate login)', exitCodes.auth);
        }
        const operator = operatorClient();
        let agent: Agent | undefined;
        if (opts.spec !== undefined) {
          const { applyAgentSpec, parseAgentSpec } = await import('../agents-apply.js');
          agent = (await applyAgentSpec(operator, parseAgentSpec(readSpecFile(opts.spec)))).agent;
        } else {
          const ref = opts.agent as string;
          agent = ref.startsWith('agt_') ? await operator.agents.get(ref) : (await operator.agents.all()).find((a) => a.name === ref);
        }
        // An unknown name goes on as an id, and minting its token answers 404.
        const agentId = agent?.id ?? opts.agent ?? '';
        agentName = agent?.name ?? null;
        if (agent && agent.status !== 'deployed') throw stoppedError(agentName);
        const minted = await operator.agents.createToken(agentId);
        token = minted.token;
        revoke = () => operator.agents.revokeToken(agentId, minted.id);
        describeEnvironment = () => operator.agents.environment(agentId);
      }
      // Loaded per command, like agents-apply: `serve` and the other commands never need them.
      const { runAsAgent } = await import('../../runtime/run.js');
      try {
        process.exitCode = await runAsAgent({
          url: client.url,
          token,
          command,
          watch: opts.watch ?? false,
          watchIntervalMs: opts.watchInterval,
          parentEnv: parentEnvironment(),
          onNotice: (text) => writeErr(`${text}\n`),
          describeEnvironment,
        });
      } catch (err) {
        // Stopped after the check above, or run with a token alone: the environment was refused.
        if (err instanceof VaultgateError && err.code === 'agent_stopped') throw stoppedError(agentName);
        throw err;
      } finally {
        await revoke?.().catch(() => writeErr('vaultgate run: could not revoke the token minted for this run\n'));
      }
    });
}
