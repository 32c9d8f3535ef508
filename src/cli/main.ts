#!/usr/bin/env node
// The `vaultgate` command: serve, and the admin commands that work on the store directly.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError, loadClientConfig, loadConfig, parentEnvironment } from '../config.js';
import { createClient, VaultgateError } from '../sdk/index.js';
import { runAsAgent } from '../runtime/run.js';
import { applyAgentSpec, parseAgentSpec } from './agents-apply.js';
import { VaultError } from '../contract/errors.js';
import { createServices, openVaultgate, rotateMasterKey, startServer, version } from '../main.js';

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

async function withServices<T>(fn: (services: ReturnType<typeof createServices>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const vg = await openVaultgate(config);
  try {
    return await fn(createServices(vg, config));
  } finally {
    await vg.close();
  }
}

const program = new Command('vaultgate')
  .description('Vaultgate: a secrets vault for AI agents')
  .version(version)
  .showHelpAfterError();

program
  .command('serve')
  .description('run the API on the configured store')
  .addHelpText('after', '\nExample:\n  VAULTGATE_DATA_DIR=/var/lib/vaultgate vaultgate serve')
  .action(async () => {
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

const admin = program.command('admin').description('operate on the store directly (for the deployment operator)');
const org = admin.command('org').description('organizations');
org
  .command('create <name>')
  .description('create an org and its first admin API key')
  .option('--json', 'print JSON')
  .addHelpText('after', '\nExample:\n  vaultgate admin org create acme --json')
  .action(async (name: string, opts: { json?: boolean }) => {
    const created = await withServices((s) => s.orgs.createOrg(name));
    if (opts.json) printJson(created);
    else process.stdout.write(`org ${created.org_id}\napi key (shown once): ${created.api_key}\n`);
  });

const key = admin.command('key').description('operator API keys');
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
    else process.stdout.write(`key ${created.id}\napi key (shown once): ${created.api_key}\n`);
  });
key
  .command('revoke <key_id>')
  .description('revoke an API key; it fails on its very next request')
  .option('--json', 'print JSON')
  .addHelpText('after', '\nExample:\n  vaultgate admin key revoke key_01KQ27AQH800XQTQPJZ0DH14SJ')
  .action(async (keyId: string, opts: { json?: boolean }) => {
    const revoked = await withServices((s) => s.orgs.revokeKey(keyId));
    if (opts.json) printJson(revoked);
    else process.stdout.write(`revoked ${revoked.id}\n`);
  });

admin
  .command('rotate-master-key')
  .description('re-wrap every data key under a new master key (stop the server first)')
  .option('--new-key-file <file>', 'read the new key (base64 of 32 bytes) from this file instead of generating one')
  .option('--json', 'print JSON')
  .addHelpText('after', '\nExample:\n  vaultgate admin rotate-master-key')
  .action(async (opts: { newKeyFile?: string; json?: boolean }) => {
    const text = opts.newKeyFile === undefined ? undefined : readFileSync(opts.newKeyFile, 'utf8');
    const result = await rotateMasterKey(loadConfig(), text);
    if (opts.json) printJson(result);
    else {
      process.stdout.write(`master key rotated: ${result.from} -> ${result.to} (${result.rewrapped} data keys re-wrapped)\n`);
      if (result.pendingFile) process.stdout.write(`set VAULTGATE_MASTER_KEY to the key in ${result.pendingFile}, then delete that file\n`);
    }
  });

function operatorClient() {
  const config = loadClientConfig();
  if (!config.apiKey) throw new ConfigError('set VAULTGATE_API_KEY (and VAULTGATE_URL if the API is not at http://127.0.0.1:7400)');
  return createClient({ url: config.url, apiKey: config.apiKey });
}

const agents = program.command('agents').description('agents that use secrets');
agents
  .command('apply')
  .description('create or update an agent from a devbox-style spec; applying it twice changes nothing')
  .requiredOption('-f, --file <spec.yaml>', 'the agent spec (YAML)')
  .option('--json', 'print the agent as JSON')
  .addHelpText('after', '\nExample:\n  vaultgate agents apply -f devbox.yaml\n\nSpec:\n  name: my-devbox\n  vaults: [vlt_…]\n  env:\n    - name: GITHUB_TOKEN\n      from_secret_id: sec_…\n    - name: MODE\n      value: dev')
  .action(async (opts: { file: string; json?: boolean }) => {
    const spec = parseAgentSpec(readFileSync(opts.file, 'utf8'));
    const { agent, action } = await applyAgentSpec(operatorClient(), spec);
    if (opts.json) printJson(agent);
    else process.stdout.write(`agent ${agent.name} (${agent.id}) ${action}\n`);
  });

program
  .command('run')
  .description("run a command as an agent: its environment, the egress proxy and the deployment CA")
  .option('--agent <id-or-name>', 'the agent (with VAULTGATE_API_KEY: a token is minted for this run and revoked after)')
  .option('--spec <file>', 'apply this agent spec first, then run as that agent')
  .option('--watch', 'restart the command when an unrestricted value it holds changes')
  .argument('<command...>', 'the command and its arguments (after --)')
  .addHelpText('after', '\nExamples:\n  VAULTGATE_AGENT_TOKEN=vgat_… vaultgate run -- curl https://api.stripe.com/v1/charges -H "Authorization: Bearer $STRIPE_KEY"\n  vaultgate run --agent researcher -- python3 agent.py')
  .action(async (command: string[], opts: { agent?: string; spec?: string; watch?: boolean }) => {
    const client = loadClientConfig();
    let token = client.agentToken;
    let revoke: (() => Promise<void>) | null = null;
    if (opts.agent !== undefined || opts.spec !== undefined || token === undefined) {
      const operator = operatorClient();
      let agentId: string;
      if (opts.spec !== undefined) {
        agentId = (await applyAgentSpec(operator, parseAgentSpec(readFileSync(opts.spec, 'utf8')))).agent.id;
      } else if (opts.agent !== undefined) {
        const ref = opts.agent;
        agentId = ref.startsWith('agt_') ? ref : ((await operator.agents.all()).find((a) => a.name === ref)?.id ?? ref);
      } else {
        throw new ConfigError('set VAULTGATE_AGENT_TOKEN, or give --agent or --spec with VAULTGATE_API_KEY');
      }
      const minted = await operator.agents.createToken(agentId);
      token = minted.token;
      revoke = () => operator.agents.revokeToken(agentId, minted.id);
    }
    try {
      process.exitCode = await runAsAgent({
        url: client.url,
        token,
        command,
        watch: opts.watch ?? false,
        parentEnv: parentEnvironment(),
        onNotice: (text) => process.stderr.write(`${text}\n`),
      });
    } finally {
      await revoke?.().catch(() => process.stderr.write('vaultgate run: could not revoke the token minted for this run\n'));
    }
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  const known = err instanceof VaultError || err instanceof VaultgateError || err instanceof ConfigError || (err instanceof Error && /Error$/.test(err.name) && err.name !== 'Error');
  process.stderr.write(`vaultgate: ${known ? (err as Error).message : 'unexpected error'}\n`);
  if (!known) process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
  process.exitCode = 1;
});
