// The behavioural contract every Store backend must pass (SQLite and PostgreSQL).
import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { createChainVerifier } from '../../src/core/audit-chain.js';
import { createIdFactory } from '../../src/core/ids.js';
import type { Store } from '../../src/storage/store.js';
import type { AgentRow, AuditDraft, SecretRow, SecretVersionRow } from '../../src/storage/types.js';

export interface StoreFactory {
  open(): Promise<{ store: Store; auditKey: Buffer; cleanup: () => Promise<void> }>;
}

const ids = createIdFactory();
const t = (n: number) => new Date(Date.UTC(2026, 3, 25, 11, 45, n)).toISOString();

function event(orgId: string, type: string, extra: Partial<AuditDraft> = {}): AuditDraft {
  return {
    id: ids('event'), type, time: t(0), org_id: orgId, actor: 'admin', vault_id: null, secret_id: null, agent_id: null,
    target_id: null, request_id: null, source_ip: null, outcome: 'success', reason: null, details: {}, ...extra,
  };
}

function secretRow(orgId: string, vaultId: string, envKey: string, labels: Record<string, string> = {}): SecretRow {
  return {
    id: ids('secret'), org_id: orgId, vault_id: vaultId, env_key: envKey, allowed_domains: [], inject_in: ['header'],
    description: null, labels, revealable: false, version: 1, created_at: t(1), updated_at: t(1), type: 'static', rules: null, rate_limit: null, signing: null,
  };
}

function agentRow(orgId: string, name: string, n = 0): AgentRow {
  return { id: ids('agent'), org_id: orgId, name, env: { MODE: 'x' }, status: 'stopped', created_at: t(n), updated_at: t(n) };
}

function versionOf(row: SecretRow, fingerprint = 'f1'): SecretVersionRow {
  return {
    secret_id: row.id, version: row.version, created_at: row.updated_at, actor: 'admin', changed: ['value'],
    allowed_domains: row.allowed_domains, inject_in: row.inject_in, description: row.description,
    kek_id: 'mk_test', wrapped_key: Buffer.from('wrapped'), ciphertext: Buffer.from('cipher'), fingerprint,
  };
}

export function runStoreContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let auditKey: Buffer;
    let cleanup: () => Promise<void>;
    let orgId: string;

    async function newOrg(orgName: string): Promise<string> {
      const id = ids('org');
      const result = await store.createOrg(
        { id, name: orgName, is_default: false, created_at: t(0) },
        { id: ids('apiKey'), org_id: id, name: 'admin', hash: `hash-${id}`, created_at: t(0), revoked_at: null },
        [event(id, 'org.created')],
      );
      expect(result).toEqual({ ok: true });
      return id;
    }

    async function newVault(org: string, vaultName: string): Promise<string> {
      const id = ids('vault');
      expect(await store.createVault({ id, org_id: org, name: vaultName, description: null, created_at: t(1), updated_at: t(1) }, [event(org, 'vault.created')])).toEqual({ ok: true });
      return id;
    }

    beforeEach(async () => {
      ({ store, auditKey, cleanup } = await factory.open());
      orgId = await newOrg('acme');
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    it('orgs: names are unique; the default org is found; keys are found by hash and revoked once', async () => {
      expect(await store.getDefaultOrg()).toBeNull();
      const dup = await store.createOrg({ id: ids('org'), name: 'acme', is_default: false, created_at: t(0) }, { id: ids('apiKey'), org_id: 'x', name: null, hash: 'h2', created_at: t(0), revoked_at: null }, []);
      expect(dup).toEqual({ ok: false, reason: 'org_name_exists' });
      expect((await store.findOrgByName('acme'))?.id).toBe(orgId);
      const key = await store.findApiKeyByHash(`hash-${orgId}`);
      expect(key?.org_id).toBe(orgId);
      expect(await store.findApiKeyByHash('nope')).toBeNull();
      const revoked = await store.revokeApiKey(key!.id, t(5), (k) => [event(k.org_id, 'api_key.revoked')]);
      expect(revoked?.revoked_at).toBe(t(5));
      expect((await store.findApiKeyByHash(`hash-${orgId}`))?.revoked_at).toBe(t(5));
      expect(await store.revokeApiKey('key_missing', t(6), () => [])).toBeNull();
    });

    it('vaults: create, unique name per org, list in id order with paging, count secrets, update, delete cascades', async () => {
      const a = await newVault(orgId, 'a');
      const b = await newVault(orgId, 'b');
      expect(await store.createVault({ id: ids('vault'), org_id: orgId, name: 'a', description: null, created_at: t(1), updated_at: t(1) }, [])).toEqual({ ok: false, reason: 'vault_name_exists' });
      const other = await newOrg('other');
      await newVault(other, 'a');
      expect((await store.listVaults(orgId, { limit: 10 })).map((v) => v.id)).toEqual([a, b]);
      expect((await store.listVaults(orgId, { limit: 10, after: a })).map((v) => v.id)).toEqual([b]);
      expect(await store.getVault(other, a)).toBeNull();
      expect([await store.vaultExists(orgId, a), await store.vaultExists(other, a)]).toEqual([true, false]);
      const s = secretRow(orgId, a, 'K');
      await store.createSecret(s, versionOf(s), []);
      expect((await store.getVault(orgId, a))?.secret_count).toBe(1);
      const renamed = await store.updateVault(orgId, a, { name: 'c', updated_at: t(9) }, []);
      expect(renamed.ok && renamed.vault.name).toBe('c');
      expect(await store.updateVault(orgId, a, { name: 'b', updated_at: t(9) }, [])).toEqual({ ok: false, reason: 'vault_name_exists' });
      expect(await store.deleteVault(other, a, () => [])).toEqual({ ok: false, reason: 'not_found' });
      const seen: string[] = [];
      expect(await store.deleteVault(orgId, a, (vault, secrets) => (seen.push(vault.name, ...secrets.map((x) => x.env_key)), []))).toEqual({ ok: true });
      expect(seen).toEqual(['c', 'K']);
      expect(await store.getSecret(orgId, s.id)).toBeNull();
      expect(await store.getSecretVersion(orgId, s.id, 1)).toBeNull();
    });

    it('secrets: env_key unique per vault, label filters, compare-and-swap versions, delete with expected version', async () => {
      const v = await newVault(orgId, 'v');
      const s1 = secretRow(orgId, v, 'A', { env: 'prod', team: 'x' });
      const s2 = secretRow(orgId, v, 'B', { env: 'dev' });
      expect(await store.createSecret(s1, versionOf(s1), [])).toEqual({ ok: true });
      expect(await store.createSecret(s2, versionOf(s2), [])).toEqual({ ok: true });
      const dupKey = secretRow(orgId, v, 'A');
      expect(await store.createSecret(dupKey, versionOf(dupKey), [])).toEqual({ ok: false, reason: 'env_key_exists' });
      const noVault = secretRow(orgId, ids('vault'), 'C');
      expect(await store.createSecret(noVault, versionOf(noVault), [])).toEqual({ ok: false, reason: 'vault_not_found' });

      const list = (labels: [string, string][]) => store.listSecrets(orgId, v, { labels, page: { limit: 10 } }).then((r) => r?.map((s) => s.env_key));
      expect(await list([])).toEqual(['A', 'B']);
      expect(await list([['env', 'prod']])).toEqual(['A']);
      expect(await list([['env', 'prod'], ['team', 'y']])).toEqual([]);
      expect(await store.listSecrets(orgId, ids('vault'), { labels: [], page: { limit: 10 } })).toBeNull();
      expect(await store.getSecret(orgId, s1.id)).toEqual(s1);

      const v2 = { ...s1, version: 2, allowed_domains: ['api.example.com'], updated_at: t(3) };
      expect(await store.putSecretVersion(orgId, s1.id, 1, { row: v2, version: versionOf(v2, 'f2') }, [])).toEqual({ ok: true });
      expect(await store.putSecretVersion(orgId, s1.id, 1, { row: { ...v2, version: 3 }, version: versionOf({ ...v2, version: 3 }) }, [])).toEqual({ ok: false, reason: 'version_mismatch' });
      expect((await store.getSecret(orgId, s1.id))?.version).toBe(2);
      expect((await store.getSecretVersion(orgId, s1.id, 2))?.fingerprint).toBe('f2');
      expect((await store.listSecretVersions(orgId, s1.id))?.map((x) => x.version)).toEqual([2, 1]);
      expect(await store.getSecret('org_other', s1.id)).toBeNull();

      expect(await store.deleteSecret(orgId, s1.id, 1, [])).toEqual({ ok: false, reason: 'version_mismatch' });
      expect(await store.deleteSecret(orgId, s1.id, 2, [])).toEqual({ ok: true });
      expect(await store.deleteSecret(orgId, s1.id, null, [])).toEqual({ ok: false, reason: 'not_found' });
    });

    it('audit: one chain per org, seq from 1, verifiable; filters; live wake-ups after commit', async () => {
      const other = await newOrg('other');
      const woken: [string, number][] = [];
      const stop = store.onAudit((org, seq) => woken.push([org, seq]));
      await store.appendAudit([event(orgId, 'secret.created', { secret_id: 'sec_1' }), event(orgId, 'secret.revealed', { actor: 'key_2' })]);
      await store.appendAudit([event(other, 'vault.created')]);
      stop();
      await store.appendAudit([event(orgId, 'vault.deleted')]);
      expect(woken).toEqual([[orgId, 2], [orgId, 3], [other, 2]]);

      const all = await store.listAudit(orgId, { limit: 100 });
      expect(all.map((e) => [e.seq, e.type])).toEqual([[1, 'org.created'], [2, 'secret.created'], [3, 'secret.revealed'], [4, 'vault.deleted']]);
      expect((await store.listAudit(other, { limit: 100 })).map((e) => e.seq)).toEqual([1, 2]);
      expect((await store.listAudit(orgId, { limit: 100, type: 'secret.*' })).map((e) => e.seq)).toEqual([2, 3]);
      expect((await store.listAudit(orgId, { limit: 100, actor: 'key_2' })).map((e) => e.seq)).toEqual([3]);
      expect((await store.listAudit(orgId, { limit: 100, secretId: 'sec_1' })).map((e) => e.seq)).toEqual([2]);
      expect((await store.listAudit(orgId, { limit: 2, afterSeq: 1 })).map((e) => e.seq)).toEqual([2, 3]);

      const verifier = createChainVerifier(auditKey);
      for (const e of all) verifier.push(e);
      expect(verifier.result()).toMatchObject({ ok: true, events: 4 });
    });

    it('concurrent audit appends all commit (group commit), in call order; a bad one fails alone', async () => {
      const first = event(orgId, 'vault.created');
      await store.appendAudit([first]);
      const results = await Promise.allSettled([
        store.appendAudit([event(orgId, 'secret.revealed', { details: { n: 1 } })]),
        store.appendAudit([{ ...first }]),
        store.appendAudit([event(orgId, 'secret.revealed', { details: { n: 2 } }), event(orgId, 'secret.revealed', { details: { n: 3 } })]),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const all = await store.listAudit(orgId, { limit: 100 });
      expect(all.filter((e) => e.type === 'secret.revealed').map((e) => e.details.n)).toEqual([1, 2, 3]);
      const verifier = createChainVerifier(auditKey);
      for (const e of all) verifier.push(e);
      expect(verifier.result()).toMatchObject({ ok: true, events: all.length });
    });

    it('fails closed: when the audit append fails, the change it records is rolled back', async () => {
      const first = event(orgId, 'vault.created');
      await store.appendAudit([first]);
      const vaultId = ids('vault');
      // Reusing an event id violates a constraint inside the same transaction.
      await expect(store.createVault({ id: vaultId, org_id: orgId, name: 'x', description: null, created_at: t(1), updated_at: t(1) }, [{ ...first }])).rejects.toThrow();
      expect(await store.getVault(orgId, vaultId)).toBeNull();
      expect((await store.listAudit(orgId, { limit: 100 })).length).toBe(2);
    });

    it('agents: unique names, views with env_vars and vault_ids in order, paging, updates, deletes', async () => {
      const [v1, v2] = [await newVault(orgId, 'v1'), await newVault(orgId, 'v2')];
      const [s1, s2] = [secretRow(orgId, v1, 'A'), secretRow(orgId, v1, 'B')];
      for (const s of [s1, s2]) await store.createSecret(s, versionOf(s), []);
      const a = agentRow(orgId, 'a');
      const attach = (vaultId: string, n: number) => ({ id: ids('resource'), org_id: orgId, agent_id: a.id, vault_id: vaultId, created_at: t(n) });
      const envVars = [{ name: 'Z', from_secret_id: s2.id }, { name: 'Y', from_secret_id: s1.id }];
      expect(await store.createAgent(a, envVars, [attach(v2, 1), attach(v1, 2)], [event(orgId, 'agent.created')])).toEqual({ ok: true });
      expect(await store.createAgent(agentRow(orgId, 'a'), [], [], [])).toEqual({ ok: false, reason: 'agent_name_exists' });
      expect(await store.createAgent(agentRow(orgId, 'b'), [], [attach(ids('vault'), 1)], [])).toEqual({ ok: false, reason: 'vault_not_found' });
      expect(await store.createAgent(agentRow(orgId, 'b'), [{ name: 'X', from_secret_id: ids('secret') }], [], [])).toEqual({ ok: false, reason: 'secret_not_found' });
      expect(await store.getAgent(orgId, a.id)).toEqual({ ...a, env_vars: envVars, vault_ids: [v2, v1] });
      const b = agentRow(orgId, 'b');
      await store.createAgent(b, [], [], []);
      expect((await store.findAgentByName(orgId, 'b'))?.id).toBe(b.id);
      expect((await store.listAgents(orgId, { limit: 10 })).map((x) => x.name)).toEqual(['a', 'b']);
      expect((await store.listAgents(orgId, { limit: 10, after: a.id })).map((x) => x.name)).toEqual(['b']);
      expect(await store.updateAgent(orgId, b.id, { name: 'a', updated_at: t(5) }, [])).toEqual({ ok: false, reason: 'agent_name_exists' });
      expect(await store.updateAgent(orgId, a.id, { env_vars: [{ name: 'W', from_secret_id: s1.id }], status: 'deployed', updated_at: t(5) }, [])).toEqual({ ok: true });
      expect(await store.getAgent(orgId, a.id)).toMatchObject({ env: { MODE: 'x' }, status: 'deployed', updated_at: t(5), env_vars: [{ name: 'W', from_secret_id: s1.id }] });
      expect(await store.countDeployedAgentsWithVault(orgId, v1)).toBe(1);
      expect(await store.deleteVault(orgId, v1, () => [])).toEqual({ ok: false, reason: 'in_use', deployedAgents: 1 });
      expect(await store.deleteSecret(orgId, s1.id, null, [])).toEqual({ ok: true });
      expect((await store.getAgent(orgId, a.id))?.env_vars).toEqual([]);
      expect(await store.updateAgent(orgId, ids('agent'), { updated_at: t(6) }, [])).toEqual({ ok: false, reason: 'agent_not_found' });
      expect([await store.deleteAgent(orgId, b.id, []), await store.deleteAgent(orgId, b.id, [])]).toEqual([true, false]);
      expect(await store.getAgent(orgId, b.id)).toBeNull();
    });

    it('attachments, tokens and grants: attach and grant once, detach by vault or id, revoke once', async () => {
      const [v1, v2] = [await newVault(orgId, 'v1'), await newVault(orgId, 'v2')];
      const s = secretRow(orgId, v1, 'A');
      await store.createSecret(s, versionOf(s), []);
      const a = agentRow(orgId, 'a');
      await store.createAgent(a, [], [], []);
      const att = (vaultId: string) => ({ id: ids('resource'), org_id: orgId, agent_id: a.id, vault_id: vaultId, created_at: t(2) });
      const first = att(v1);
      expect(await store.attachVault(first, [])).toEqual({ ok: true, attachment: first, created: true });
      expect(await store.attachVault(att(v1), [])).toEqual({ ok: true, attachment: first, created: false });
      expect(await store.attachVault({ ...att(v1), agent_id: ids('agent') }, [])).toEqual({ ok: false, reason: 'agent_not_found' });
      expect(await store.attachVault(att(ids('vault')), [])).toEqual({ ok: false, reason: 'vault_not_found' });
      const second = att(v2);
      await store.attachVault(second, []);
      expect(await store.listAttachments(orgId, a.id)).toEqual([first, second]);
      expect(await store.listAttachments(orgId, ids('agent'))).toBeNull();
      expect(await store.detachVault(orgId, a.id, { vaultId: v1 }, () => [])).toEqual(first);
      expect(await store.detachVault(orgId, a.id, { attachmentId: second.id }, () => [])).toEqual(second);
      expect(await store.detachVault(orgId, a.id, { attachmentId: second.id }, () => [])).toBeNull();

      const token = { id: ids('agentToken'), org_id: orgId, agent_id: a.id, hash: `th-${a.id}`, created_at: t(3), revoked_at: null };
      expect(await store.createAgentToken(token, [])).toBe(true);
      expect(await store.createAgentToken({ ...token, id: ids('agentToken'), agent_id: ids('agent') }, [])).toBe(false);
      expect(await store.findAgentTokenByHash(token.hash)).toEqual(token);
      expect([await store.revokeAgentToken(orgId, a.id, token.id, t(4), []), await store.revokeAgentToken(orgId, a.id, token.id, t(5), [])]).toEqual([true, false]);
      expect(await store.listAgentTokens(orgId, a.id)).toEqual([{ ...token, revoked_at: t(4) }]);
      expect(await store.listAgentTokens(orgId, ids('agent'))).toBeNull();

      const grant = { id: ids('grant'), org_id: orgId, agent_id: a.id, secret_id: s.id, created_at: t(6) };
      expect(await store.createGrant(grant, [])).toEqual({ ok: true, grant, created: true });
      expect(await store.createGrant({ ...grant, id: ids('grant') }, [])).toEqual({ ok: true, grant, created: false });
      expect(await store.createGrant({ ...grant, secret_id: ids('secret') }, [])).toEqual({ ok: false, reason: 'secret_not_found' });
      expect(await store.listGrants(orgId, { agentId: a.id, page: { limit: 10 } })).toEqual([grant]);
      expect(await store.listGrants(orgId, { agentId: ids('agent'), page: { limit: 10 } })).toEqual([]);
      expect(await store.listGrants(orgId, { page: { limit: 10, after: grant.id } })).toEqual([]);
      expect(await store.deleteGrant(orgId, grant.id, (g) => [event(orgId, 'grant.deleted', { target_id: g.id })])).toEqual(grant);
      expect(await store.deleteGrant(orgId, grant.id, () => [])).toBeNull();
    });

    it('access facts: attached secrets in attachment then secret order, granted, env vars; proxy CA set once', async () => {
      const [v1, v2] = [await newVault(orgId, 'v1'), await newVault(orgId, 'v2')];
      const [a1, a2, b1] = [secretRow(orgId, v1, 'A1'), secretRow(orgId, v1, 'A2'), secretRow(orgId, v2, 'B1', { env: 'prod' })];
      for (const s of [a1, a2, b1]) await store.createSecret(s, versionOf(s), []);
      const agent = agentRow(orgId, 'a');
      await store.createAgent(agent, [{ name: 'E', from_secret_id: b1.id }], [
        { id: ids('resource'), org_id: orgId, agent_id: agent.id, vault_id: v2, created_at: t(1) },
        { id: ids('resource'), org_id: orgId, agent_id: agent.id, vault_id: v1, created_at: t(2) },
      ], []);
      await store.createGrant({ id: ids('grant'), org_id: orgId, agent_id: agent.id, secret_id: a2.id, created_at: t(3) }, []);
      const facts = await store.agentAccessFacts(orgId, agent.id);
      expect(facts?.agent).toEqual(await store.getAgent(orgId, agent.id));
      expect(facts?.attached).toEqual([b1, a1, a2]);
      expect(facts?.granted).toEqual([a2]);
      expect(facts?.envVars).toEqual([{ name: 'E', secret: b1 }]);
      expect(await store.agentAccessFacts(orgId, ids('agent'))).toBeNull();
      expect(await store.findSecretsByEnvKey(orgId, 'A2')).toEqual([a2]);

      expect(await store.getProxyCa()).toBeNull();
      const ca = { cert_pem: '-----BEGIN CERTIFICATE-----\n', sealed_key: Buffer.from('sealed'), created_at: t(1) };
      expect(await store.initProxyCa(ca)).toEqual(ca);
      expect(await store.initProxyCa({ ...ca, cert_pem: 'other' })).toEqual(ca);
      expect(await store.getProxyCa()).toEqual(ca);
    });

    it('rewrapAll replaces every wrapped key and the keyring in one step', async () => {
      const v = await newVault(orgId, 'v');
      const s = secretRow(orgId, v, 'A');
      await store.createSecret(s, versionOf(s), []);
      const n = await store.rewrapAll({ kek_id: 'mk_new', wrapped_root: Buffer.from('root2') }, (ref) => Buffer.concat([ref.wrapped_key, Buffer.from('!')]), [], t(0));
      expect(n).toEqual({ ok: true, rewrapped: 1 });
      const row = await store.getSecretVersion(orgId, s.id, 1);
      expect(row?.kek_id).toBe('mk_new');
      expect(row?.wrapped_key.toString()).toBe('wrapped!');
      expect((await store.getKeyring())?.kek_id).toBe('mk_new');
      await expect(store.rewrapAll({ kek_id: 'mk_3', wrapped_root: Buffer.from('r') }, () => { throw new Error('boom'); }, [], t(0))).rejects.toThrow('boom');
      expect((await store.getKeyring())?.kek_id).toBe('mk_new');
    });

    it('serving nodes: recorded under the current keyring only; a live heartbeat refuses rewrapAll, a stale one does not', async () => {
      const node = { id: ids('node'), pid: 4242, hostname: 'host-a', started_at: t(0), heartbeat_at: t(10) };
      expect(await store.recordServingNode(node, 'mk_other')).toBe(false);
      expect(await store.listServingNodes()).toEqual([]);
      expect(await store.recordServingNode(node, 'mk_test')).toBe(true);
      // A refresh moves the heartbeat only.
      expect(await store.recordServingNode({ ...node, pid: 1, started_at: t(5), heartbeat_at: t(20) }, 'mk_test')).toBe(true);
      const live = { ...node, heartbeat_at: t(20) };
      expect(await store.listServingNodes()).toEqual([live]);

      const v = await newVault(orgId, 'v');
      const s = secretRow(orgId, v, 'A');
      await store.createSecret(s, versionOf(s), []);
      const next = { kek_id: 'mk_new', wrapped_root: Buffer.from('root2') };
      const flip = (ref: { wrapped_key: Buffer }) => Buffer.concat([ref.wrapped_key, Buffer.from('!')]);
      expect(await store.rewrapAll(next, flip, [event(orgId, 'keyring.rotated')], t(19))).toEqual({ ok: false, reason: 'node_serving', node: live });
      expect((await store.getKeyring())?.kek_id).toBe('mk_test');
      expect((await store.getSecretVersion(orgId, s.id, 1))?.wrapped_key.toString()).toBe('wrapped');
      expect((await store.listAudit(orgId, { limit: 10 })).map((e) => e.type)).toEqual(['org.created', 'vault.created']);

      // A heartbeat at liveSince or before is a dead node's.
      expect(await store.rewrapAll(next, flip, [], t(20))).toEqual({ ok: true, rewrapped: 1 });
      // A node still on the old key can no longer record itself.
      expect(await store.recordServingNode({ ...node, heartbeat_at: t(30) }, 'mk_test')).toBe(false);
      expect(await store.listServingNodes()).toEqual([live]);
      await store.removeServingNode(node.id);
      expect(await store.listServingNodes()).toEqual([]);
    });
  });
}
