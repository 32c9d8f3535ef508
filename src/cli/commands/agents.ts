// `vaultgate agents create|list|get|deploy|stop|attach|detach|token|delete|apply`.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Agent } from '../../sdk/index.js';
import { UsageError } from '../errors.js';
import { operatorClient, resolveAgentId, resolveVaultId } from '../client.js';
import { collect, example, jsonCommand, parsePairs } from '../options.js';
import { listText, printDetails, printResult, printTable, relativeTime, writeOut } from '../output.js';

function agentDetails(a: Agent): [string, string][] {
  return [
    ['id', a.id],
    ['name', a.name],
    ['status', a.status],
    ['vaults', listText(a.vault_ids)],
    ['env', listText(Object.keys(a.env))],
    ['env_vars', listText(a.env_vars.map((e) => `${e.name}=${e.from_secret_id}`))],
    ['created', relativeTime(a.created_at)],
    ['updated', relativeTime(a.updated_at)],
  ];
}

export function readSpecFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/** `deploy`, `stop`: one POST that answers the agent. */
function registerTransition(agents: Command, name: 'deploy' | 'stop', description: string): void {
  jsonCommand(agents.command(`${name} <agent>`).description(description), `vaultgate agents ${name} researcher`).action(async (ref: string, opts: { json?: boolean }) => {
    const client = operatorClient();
    const agent = await client.agents[name](await resolveAgentId(client, ref));
    printResult(opts.json, agent, `agent ${agent.name} (${agent.id}) ${agent.status}\n`);
  });
}

export function registerAgentCommands(program: Command): void {
  const agents = program.command('agents').description('agents that use secrets');
  example(agents, 'vaultgate agents create researcher --vault payments --env MODE=dev', 'vaultgate agents apply -f devbox.yaml');

  jsonCommand(
    agents
      .command('create <name>')
      .description('create an agent (stopped: it receives no value until deployed)')
      .option('--vault <vault>', 'attach this vault, id or name (repeatable)', collect)
      .option('--env <KEY=value>', 'plaintext configuration, not a secret (repeatable)', collect)
      .option('--env-from <NAME=sec_…>', 'inject this secret as NAME (repeatable)', collect),
    'vaultgate agents create researcher --vault payments --env MODE=dev --env-from GITHUB_TOKEN=sec_01KQ27AQH800XQTQPJZ0DH14SJ',
  ).action(async (name: string, opts: { vault?: string[]; env?: string[]; envFrom?: string[]; json?: boolean }) => {
    const client = operatorClient();
    const vaultIds: string[] = [];
    for (const ref of opts.vault ?? []) vaultIds.push(await resolveVaultId(client, ref));
    const envVars = Object.entries(parsePairs(opts.envFrom, '--env-from')).map(([n, id]) => ({ name: n, from_secret_id: id }));
    const agent = await client.agents.create({ name, env: parsePairs(opts.env, '--env'), env_vars: envVars, vault_ids: vaultIds });
    printResult(opts.json, agent, `created agent ${agent.name} (${agent.id})\n`);
  });

  jsonCommand(agents.command('list').alias('ls').description('list agents'), 'vaultgate agents list').action(async (opts: { json?: boolean }) => {
    const all = await operatorClient().agents.all();
    printResult(opts.json, all, () =>
      printTable('agents', ['ID', 'NAME', 'STATUS', 'VAULTS', 'SECRET_ENV', 'CREATED'], all.map((a) => [a.id, a.name, a.status, String(a.vault_ids.length), String(a.env_vars.length), relativeTime(a.created_at)])),
    );
  });

  jsonCommand(agents.command('get <agent>').description('show one agent (by id or name)'), 'vaultgate agents get researcher --json').action(async (ref: string, opts: { json?: boolean }) => {
    const client = operatorClient();
    const agent = await client.agents.get(await resolveAgentId(client, ref));
    printResult(opts.json, agent, () => printDetails(agentDetails(agent)));
  });

  registerTransition(agents, 'deploy', 'deploy the agent: it receives values from its next request on');
  registerTransition(agents, 'stop', "stop the agent (kill switch): its environment, secret reads and proxy requests are refused from its next request on");

  jsonCommand(agents.command('attach <agent> <vault>').description("give the agent every secret of a vault"), 'vaultgate agents attach researcher payments').action(async (ref: string, vaultRef: string, opts: { json?: boolean }) => {
    const client = operatorClient();
    const agent = await client.agents.attach(await resolveAgentId(client, ref), await resolveVaultId(client, vaultRef));
    printResult(opts.json, agent, `agent ${agent.name} (${agent.id}) vaults: ${listText(agent.vault_ids)}\n`);
  });

  jsonCommand(agents.command('detach <agent> <vault>').description('take a vault away from the agent'), 'vaultgate agents detach researcher payments').action(async (ref: string, vaultRef: string, opts: { json?: boolean }) => {
    const client = operatorClient();
    const [agentId, vaultId] = [await resolveAgentId(client, ref), await resolveVaultId(client, vaultRef)];
    await client.agents.detach(agentId, vaultId);
    if (!opts.json) writeOut(`detached ${vaultId} from ${agentId}\n`);
  });

  jsonCommand(
    agents
      .command('token <agent>')
      .description("mint an agent token (shown once); or list or revoke the agent's tokens")
      .option('--list', "list the agent's tokens (ids and times only)")
      .option('--revoke <token_id>', 'revoke this token'),
    'vaultgate agents token researcher --json',
    'vaultgate agents token researcher --list',
    'vaultgate agents token researcher --revoke atk_01KQ27AQH800XQTQPJZ0DH14SJ',
  ).action(async (ref: string, opts: { list?: boolean; revoke?: string; json?: boolean }) => {
    if (opts.list && opts.revoke !== undefined) throw new UsageError('give --list or --revoke, not both');
    const client = operatorClient();
    const agentId = await resolveAgentId(client, ref);
    if (opts.list) {
      const all = await client.agents.tokens(agentId);
      return printResult(opts.json, all, () => printTable('tokens', ['ID', 'CREATED', 'REVOKED'], all.map((t) => [t.id, relativeTime(t.created_at), t.revoked_at ? relativeTime(t.revoked_at) : '-'])));
    }
    if (opts.revoke !== undefined) {
      await client.agents.revokeToken(agentId, opts.revoke);
      if (!opts.json) writeOut(`revoked token ${opts.revoke}\n`);
      return;
    }
    const minted = await client.agents.createToken(agentId);
    printResult(opts.json, minted, `token ${minted.id} for ${minted.agent_id} (shown once, store it now):\n${minted.token}\n`);
  });

  jsonCommand(agents.command('delete <agent>').alias('rm').description('delete an agent, its tokens and grants'), 'vaultgate agents delete researcher').action(async (ref: string, opts: { json?: boolean }) => {
    const client = operatorClient();
    const id = await resolveAgentId(client, ref);
    await client.agents.delete(id);
    if (!opts.json) writeOut(`deleted agent ${id}\n`);
  });

  agents
    .command('apply')
    .description('create or update an agent from a devbox-style spec and deploy it; applying it twice changes nothing')
    .requiredOption('-f, --file <spec.yaml>', 'the agent spec (YAML)')
    .option('--json', 'print the agent as JSON')
    .addHelpText('after', '\nExample:\n  vaultgate agents apply -f devbox.yaml\n\nSpec:\n  name: my-devbox\n  vaults: [vlt_…]\n  env:\n    - name: GITHUB_TOKEN\n      from_secret_id: sec_…\n    - name: MODE\n      value: dev')
    .action(async (opts: { file: string; json?: boolean }) => {
      // Loaded here: the YAML parser is not needed by any other command (nor by `serve`).
      const { applyAgentSpec, parseAgentSpec } = await import('../agents-apply.js');
      const spec = parseAgentSpec(readSpecFile(opts.file));
      const { agent, action } = await applyAgentSpec(operatorClient(), spec);
      printResult(opts.json, agent, `agent ${agent.name} (${agent.id}) ${action}\n`);
    });
}
