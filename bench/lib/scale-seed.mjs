// Seeds a Vaultgate SQLite data dir in-process (no HTTP): `node scale-seed.mjs OUT.json` with
// VAULTGATE_DATA_DIR, VAULTGATE_ADMIN_KEY, SEED_VAULTS, SEED_SECRETS_PER_VAULT set. Creates
// SEED_VAULTS vaults with SEED_SECRETS_PER_VAULT secrets each and one agent per vault (attached
// to it) with one minted token, through the compiled services (each create its own fsync'd
// transaction, as through the API). Writes { vault_ids, tokens, counts, seconds } to OUT.json.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';

const dist = resolve(import.meta.dirname, '../../dist');
const { openVaultgate, createServices } = await import(pathToFileURL(join(dist, 'main.js')).href);
const { loadConfig } = await import(pathToFileURL(join(dist, 'config.js')).href);

const out = process.argv[2];
const nVaults = Number(process.env.SEED_VAULTS);
const perVault = Number(process.env.SEED_SECRETS_PER_VAULT);
const config = loadConfig(process.env);
const vg = await openVaultgate(config);
const services = createServices(vg, config);
await services.orgs.bootstrap(process.env.VAULTGATE_ADMIN_KEY);
const caller = { orgId: (await vg.store.getDefaultOrg()).id, actor: 'bench', requestId: null, sourceIp: null };

const t0 = Date.now();
const vaultIds = [];
const tokens = [];
let secrets = 0;
let lastLog = t0;
for (let v = 0; v < nVaults; v++) {
  const vault = await services.vaults.create(caller, { name: `scale-vault-${v}` });
  vaultIds.push(vault.id);
  for (let s = 0; s < perVault; s++) {
    await services.secrets.create(caller, vault.id, { env_key: `SCALE_S${s}`, value: randomBytes(20).toString('hex') });
    secrets++;
  }
  const agent = await services.agents.create(caller, { name: `scale-agent-${v}`, vault_ids: [vault.id] });
  await services.agents.deploy(caller, agent.id);
  const token = await services.agents.mintToken(caller, agent.id);
  tokens.push(token.token);
  if (Date.now() - lastLog > 5000) {
    lastLog = Date.now();
    process.stderr.write(`seed: ${v + 1}/${nVaults} vaults, ${secrets} secrets, ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
  }
}
const seconds = (Date.now() - t0) / 1000;
await vg.close();
writeFileSync(out, JSON.stringify({ vault_ids: vaultIds, tokens, counts: { vaults: nVaults, secrets, agents: tokens.length }, seconds }));
