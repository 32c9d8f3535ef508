// `vaultgate grants create|list|delete`: explicit rights of one agent to one secret.
import type { Command } from 'commander';
import { operatorClient, resolveAgentId } from '../client.js';
import { example, jsonCommand } from '../options.js';
import { printResult, printTable, relativeTime, writeOut } from '../output.js';

export function registerGrantCommands(program: Command): void {
  const grants = program.command('grants').description('explicit rights of one agent to one secret');
  example(grants, 'vaultgate grants create --agent researcher --secret sec_01KQ27AQH800XQTQPJZ0DH14SJ');

  jsonCommand(
    grants.command('create').description('let an agent read one secret').requiredOption('--agent <agent>', 'the agent (id or name)').requiredOption('--secret <secret_id>', 'the secret'),
    'vaultgate grants create --agent researcher --secret sec_01KQ27AQH800XQTQPJZ0DH14SJ',
  ).action(async (opts: { agent: string; secret: string; json?: boolean }) => {
    const client = operatorClient();
    const grant = await client.grants.create(await resolveAgentId(client, opts.agent), opts.secret);
    printResult(opts.json, grant, `granted ${grant.secret_id} to ${grant.agent_id} (${grant.grant_id})\n`);
  });

  jsonCommand(grants.command('list').alias('ls').description('list grants').option('--agent <agent>', "only this agent's grants (id or name)"), 'vaultgate grants list --agent researcher').action(async (opts: { agent?: string; json?: boolean }) => {
    const client = operatorClient();
    const all = await client.grants.all(opts.agent !== undefined ? { agent_id: await resolveAgentId(client, opts.agent) } : {});
    printResult(opts.json, all, () => printTable('grants', ['ID', 'AGENT', 'SECRET', 'CREATED'], all.map((g) => [g.grant_id, g.agent_id, g.secret_id, relativeTime(g.created_at)])));
  });

  jsonCommand(grants.command('delete <grant_id>').alias('rm').description('revoke a grant'), 'vaultgate grants delete grt_01KQ27AQH800XQTQPJZ0DH14SJ').action(async (id: string, opts: { json?: boolean }) => {
    await operatorClient().grants.delete(id);
    if (!opts.json) writeOut(`deleted grant ${id}\n`);
  });
}
