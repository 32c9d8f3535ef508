// `vaultgate secrets add|set|list|get|versions|reveal|delete` (and `import`, in secrets-import.ts), and the actions the `vault` aliases share.
import type { Command } from 'commander';
import type { CredentialType, RateLimit, RequestRule, Secret, VaultgateClient } from '../../sdk/index.js';
import { UsageError } from '../errors.js';
import { operatorClient, resolveVaultId } from '../client.js';
import { collectRule, credentialDetails, parseCredentialType, parseRateLimit, rateLimitText, typedValue } from '../credential-options.js';
import { addFromFile, addIfVersion, addJson, collect, collectList, example, fromFileOf, jsonCommand, parsePairs } from '../options.js';
import { listText, printDetails, printResult, printTable, relativeTime, writeErr, writeOut } from '../output.js';
import { changeRestriction, newSecretRestriction, unrestrictedWarning } from '../unrestricted.js';
import { readOptionalValue, readValue } from '../values.js';
import { registerSecretsImport } from './secrets-import.js';

/** SPEC §10's fields, on both `add` and `set`. */
interface CredentialOptions {
  rule?: RequestRule[];
  rateLimit?: RateLimit;
  region?: string[];
  service?: string[];
}

export interface NewSecretOptions extends CredentialOptions {
  type?: CredentialType;
  allowedDomain?: string[];
  unrestricted?: boolean;
  injectIn?: string[];
  label?: string[];
  revealable?: boolean;
  description?: string;
  fromFile?: string;
  from_file?: string;
  json?: boolean;
}

export interface SetSecretOptions extends CredentialOptions {
  clearRules?: boolean;
  clearRateLimit?: boolean;
  allowedDomain?: string[];
  clearAllowedDomains?: boolean;
  unrestricted?: boolean;
  injectIn?: string[];
  description?: string;
  ifVersionMatches?: number;
  metadataOnly?: boolean;
  fromFile?: string;
  from_file?: string;
  json?: boolean;
}

/** The flags of a new secret, shared by `secrets add` and `vault add`. */
export function addNewSecretOptions(cmd: Command): Command {
  cmd
    .option('--allowed-domain <host>', 'only send the value to this host (repeatable; *.example.com for subdomains)', collectList)
    .option('--unrestricted', 'unrestricted on purpose, no --allowed-domain: agents get the real value in their environment (secrets add needs one of the two)')
    .option('--inject-in <surfaces>', 'where the proxy may put the value: header, path, query, body, websocket (comma-separated; default header)', collectList)
    .option('--label <key=value>', 'an immutable label (repeatable)', collect)
    .option('--revealable', 'allow `secrets reveal` later (immutable)')
    .option('--description <text>', 'what the secret is for')
    .option('--type <type>', 'static (default), aws_sigv4 or oauth2 (immutable); for the last two the value is a JSON object (docs/credentials.md)', parseCredentialType);
  return addJson(addFromFile(addCredentialOptions(cmd, 'a request rule')));
}

/** `--rule`, `--rate-limit`, `--region`, `--service`: the same spelling on `add` and `set`. */
function addCredentialOptions(cmd: Command, rule: string): Command {
  return cmd
    .option('--rule <rule>', `${rule}: 'METHODS PATHS', e.g. 'GET,HEAD /v1/charges/*,/v1/customers/**' (repeatable: one rule each; either part may be left out)`, collectRule)
    .option('--rate-limit <n/period>', 'at most N requests per second, minute or hour per agent, e.g. 100/minute', parseRateLimit)
    .option('--region <regions>', 'aws_sigv4: a region it may sign for (repeatable or comma-separated)', collectList)
    .option('--service <services>', 'aws_sigv4: a service it may sign for, e.g. s3 (repeatable or comma-separated)', collectList);
}

/** The body fields of CredentialOptions that were given. */
function credentialFields(opts: CredentialOptions) {
  return {
    ...(opts.rule ? { rules: opts.rule } : {}),
    ...(opts.rateLimit ? { rate_limit: opts.rateLimit } : {}),
    ...(opts.region ? { regions: opts.region } : {}),
    ...(opts.service ? { services: opts.service } : {}),
  };
}

/** The flags that change a secret, shared by `secrets set` and `vault set`. */
export function addSetSecretOptions(cmd: Command): Command {
  cmd
    .option('--allowed-domain <host>', 'replace the allowed hosts (repeatable)', collectList)
    .option('--clear-allowed-domains', 'remove every allowed host (the value becomes unrestricted; needs --unrestricted)')
    .option('--unrestricted', 'confirms --clear-allowed-domains: agents then get the real value in their environment')
    .option('--inject-in <surfaces>', 'replace where the proxy may put the value (comma-separated)', collectList)
    .option('--description <text>', 'replace the description')
    .option('--metadata-only', 'change only the given fields; do not read a new value');
  addCredentialOptions(cmd, 'replace the request rules with these')
    .option('--clear-rules', 'remove every request rule (any method and path)')
    .option('--clear-rate-limit', 'remove the rate limit');
  return addJson(addIfVersion(addFromFile(cmd)));
}

/** `whenUnsaid`: what no --allowed-domain and no --unrestricted does (unrestricted.ts): `secrets add` refuses, `vault add` warns. */
export async function createSecret(client: VaultgateClient, vaultId: string, envKey: string, opts: NewSecretOptions, whenUnsaid: 'refuse' | 'warn' = 'refuse'): Promise<void> {
  const unrestricted = newSecretRestriction(opts, whenUnsaid);
  const type = opts.type ?? 'static';
  const labels = parsePairs(opts.label, '--label');
  const value = typedValue(type, await readValue({ fromFile: fromFileOf(opts) }, type === 'static' ? envKey : `${envKey} (a JSON object)`));
  const secret = await client.secrets.create(vaultId, {
    env_key: envKey,
    value,
    ...(opts.type ? { type: opts.type } : {}),
    ...credentialFields(opts),
    ...(opts.allowedDomain ? { allowed_domains: opts.allowedDomain } : {}),
    ...(opts.injectIn ? { inject_in: opts.injectIn as Secret['inject_in'] } : {}),
    ...(opts.label ? { labels } : {}),
    ...(opts.revealable ? { revealable: true } : {}),
    ...(opts.description !== undefined ? { description: opts.description } : {}),
  });
  if (unrestricted) writeErr(unrestrictedWarning(secret.env_key, unrestricted));
  printResult(opts.json, secret, `created secret ${secret.env_key} (${secret.id}) in ${secret.vault_id}, version ${secret.version}\n`);
}

export async function updateSecret(client: VaultgateClient, secretId: string, opts: SetSecretOptions): Promise<void> {
  if (opts.allowedDomain && opts.clearAllowedDomains) throw new UsageError('give --allowed-domain or --clear-allowed-domains, not both');
  if (opts.rule && opts.clearRules) throw new UsageError('give --rule or --clear-rules, not both');
  if (opts.rateLimit && opts.clearRateLimit) throw new UsageError('give --rate-limit or --clear-rate-limit, not both');
  const unrestricted = changeRestriction(opts);
  const fields = {
    ...credentialFields(opts),
    ...(opts.clearRules ? { rules: null } : {}),
    ...(opts.clearRateLimit ? { rate_limit: null } : {}),
    ...(opts.allowedDomain ? { allowed_domains: opts.allowedDomain } : {}),
    ...(opts.clearAllowedDomains ? { allowed_domains: [] } : {}),
    ...(opts.injectIn ? { inject_in: opts.injectIn as Secret['inject_in'] } : {}),
    ...(opts.description !== undefined ? { description: opts.description } : {}),
  };
  const text = await readOptionalValue({ fromFile: fromFileOf(opts), metadataOnly: opts.metadataOnly }, secretId, Object.keys(fields).length > 0);
  // A new value is text or a JSON object by the secret's type, which only the API knows.
  const value = text === undefined ? undefined : typedValue((await client.secrets.get(secretId)).type, text);
  const body = { ...fields, ...(value !== undefined ? { value } : {}) };
  if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give a new value (stdin, --from-file or the prompt) or a field to change');
  const secret = await client.secrets.update(secretId, body, opts.ifVersionMatches !== undefined ? { ifVersion: opts.ifVersionMatches } : {});
  if (unrestricted) writeErr(unrestrictedWarning(secret.env_key, unrestricted));
  printResult(opts.json, secret, `secret ${secret.env_key} (${secret.id}) is at version ${secret.version}\n`);
}

export async function deleteSecret(client: VaultgateClient, secretId: string, opts: { ifVersionMatches?: number; json?: boolean }): Promise<void> {
  await client.secrets.delete(secretId, opts.ifVersionMatches !== undefined ? { ifVersion: opts.ifVersionMatches } : {});
  if (!opts.json) writeOut(`deleted secret ${secretId}\n`);
}

/** The one command that prints a value: to stdout, with a warning on stderr when that is a terminal. */
export async function revealSecret(client: VaultgateClient, secretId: string, opts: { json?: boolean }): Promise<void> {
  const revealed = await client.secrets.reveal(secretId);
  if (process.stdout.isTTY) writeErr(`vaultgate: printing the value of ${secretId} to the terminal; it stays in the scrollback\n`);
  printResult(opts.json, revealed, `${typeof revealed.value === "string" ? revealed.value : JSON.stringify(revealed.value)}\n`);
}

/** Every secret of one vault, or of every vault; `--label k=v` filters (`?label=k:v`). */
export async function listSecrets(client: VaultgateClient, opts: { vault?: string; label?: string[]; json?: boolean }): Promise<void> {
  const label = Object.entries(parsePairs(opts.label, '--label')).map(([k, v]) => `${k}:${v}`);
  const filter = label.length > 0 ? { label } : {};
  const vaults = await client.vaults.all();
  const names = new Map(vaults.map((v) => [v.id, v.name]));
  const ids = opts.vault !== undefined ? [await resolveVaultId(client, opts.vault)] : vaults.map((v) => v.id);
  const secrets: Secret[] = [];
  for (const id of ids) secrets.push(...(await client.secrets.all(id, filter)));
  printResult(opts.json, secrets, () =>
    printTable(
      'secrets',
      ['ID', 'ENV_KEY', 'TYPE', 'VAULT', 'VERSION', 'ALLOWED_DOMAINS', 'RULES', 'RATE_LIMIT', 'UPDATED'],
      secrets.map((s) => [
        s.id,
        s.env_key,
        s.type,
        names.get(s.vault_id) ?? s.vault_id,
        String(s.version),
        listText(s.allowed_domains, '(any)'),
        s.rules === null ? '-' : String(s.rules.length),
        s.rate_limit === null ? '-' : rateLimitText(s.rate_limit),
        relativeTime(s.updated_at),
      ]),
    ),
  );
}

function secretDetails(s: Secret): [string, string][] {
  return [
    ['id', s.id],
    ['env_key', s.env_key],
    ['vault', s.vault_id],
    ['version', String(s.version)],
    ...credentialDetails(s),
    ['allowed_domains', listText(s.allowed_domains, '(any host: unrestricted)')],
    ['inject_in', listText(s.inject_in)],
    ['revealable', s.revealable ? 'yes' : 'no'],
    ['labels', listText(Object.entries(s.labels).map(([k, v]) => `${k}=${v}`))],
    ['description', s.description ?? '-'],
    ['created', relativeTime(s.created_at)],
    ['updated', relativeTime(s.updated_at)],
  ];
}

export function registerSecretCommands(program: Command): void {
  const secrets = program.command('secrets').description('encrypted values: add, change, list, reveal, delete');
  example(secrets, 'printf %s "$STRIPE_KEY" | vaultgate secrets add --vault payments --env-key STRIPE_KEY --allowed-domain api.stripe.com');

  const add = addNewSecretOptions(
    secrets
      .command('add')
      .description('add a secret; the value comes from stdin, --from-file, or a hidden prompt')
      .requiredOption('--vault <vault>', 'the vault (id or name)')
      .requiredOption('--env-key <name>', 'the environment variable name, e.g. STRIPE_KEY'),
  );
  example(
    add,
    'vaultgate secrets add --vault payments --env-key STRIPE_KEY --allowed-domain api.stripe.com      # prompts',
    'vaultgate secrets add --vault payments --env-key DB_URL --from-file db-url.txt --label env=prod --unrestricted   # agents get the real value',
    "vaultgate secrets add --vault payments --env-key STRIPE_KEY --allowed-domain api.stripe.com --rule 'GET /v1/charges/**' --rate-limit 100/minute",
    'vaultgate secrets add --vault aws --env-key AWS --type aws_sigv4 --allowed-domain *.amazonaws.com --region eu-west-1 --service s3 --from-file aws.json',
  ).action(async (opts: NewSecretOptions & { vault: string; envKey: string }) => {
    const client = operatorClient();
    await createSecret(client, await resolveVaultId(client, opts.vault), opts.envKey, opts);
  });

  registerSecretsImport(secrets);

  const set = addSetSecretOptions(secrets.command('set <secret_id>').description('change a secret: a new value (stdin, --from-file, prompt) and/or its fields'));
  example(
    set,
    'vaultgate secrets set sec_01KQ27AQH800XQTQPJZ0DH14SJ --from-file new-key.txt --if-version-matches 3',
    'vaultgate secrets set sec_01KQ27AQH800XQTQPJZ0DH14SJ --allowed-domain api.stripe.com --metadata-only',
    "vaultgate secrets set sec_01KQ27AQH800XQTQPJZ0DH14SJ --rule 'GET,HEAD /v1/**' --clear-rate-limit --metadata-only",
  ).action(async (id: string, opts: SetSecretOptions) => updateSecret(operatorClient(), id, opts));

  jsonCommand(
    secrets
      .command('list')
      .alias('ls')
      .description('list secrets (metadata only, never values)')
      .option('--vault <vault>', 'only this vault (id or name); default every vault')
      .option('--label <key=value>', 'only secrets with this label (repeatable)', collect),
    'vaultgate secrets list --vault payments --label env=prod',
  ).action(async (opts: { vault?: string; label?: string[]; json?: boolean }) => listSecrets(operatorClient(), opts));

  jsonCommand(secrets.command('get <secret_id>').description("show a secret's metadata (never its value)"), 'vaultgate secrets get sec_01KQ27AQH800XQTQPJZ0DH14SJ').action(async (id: string, opts: { json?: boolean }) => {
    const secret = await operatorClient().secrets.get(id);
    printResult(opts.json, secret, () => printDetails(secretDetails(secret)));
  });

  jsonCommand(secrets.command('versions <secret_id>').description("a secret's versions, newest first (no values)"), 'vaultgate secrets versions sec_01KQ27AQH800XQTQPJZ0DH14SJ').action(async (id: string, opts: { json?: boolean }) => {
    const all = await operatorClient().secrets.versions(id);
    printResult(opts.json, all, () =>
      printTable('versions', ['VERSION', 'CREATED', 'ACTOR', 'CHANGED', 'ALLOWED_DOMAINS'], all.map((v) => [String(v.version), relativeTime(v.created_at), v.actor, listText(v.changed), listText(v.allowed_domains, '(any)')])),
    );
  });

  jsonCommand(secrets.command('reveal <secret_id>').description('print the value of a revealable secret (audited as secret.revealed)'), 'vaultgate secrets reveal sec_01KQ27AQH800XQTQPJZ0DH14SJ > value.txt').action(async (id: string, opts: { json?: boolean }) =>
    revealSecret(operatorClient(), id, opts),
  );

  jsonCommand(addIfVersion(secrets.command('delete <secret_id>').alias('rm').description('delete a secret and its grants (irreversible)')), 'vaultgate secrets delete sec_01KQ27AQH800XQTQPJZ0DH14SJ --if-version-matches 2').action(
    async (id: string, opts: { ifVersionMatches?: number; json?: boolean }) => deleteSecret(operatorClient(), id, opts),
  );
}
