// Secrets: create, read metadata, update as new versions, delete, reveal; every change audited.
import { VaultError } from '../contract/errors.js';
import type { CreateSecretBody, CredentialType, RevealResponse, Secret, SecretVersion, UpdateSecretBody } from '../contract/schemas.js';
import { checkCredentialValue } from '../core/credential-values.js';
import { parseOAuth2Value } from '../core/oauth2-value.js';
import { isAllowedDestination, parseAuthority } from '../core/host-match.js';
import { sealValue } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../storage/store.js';
import type { SecretRow, SecretVersionRow, SigningScope } from '../storage/types.js';
import { draftEvent, type Caller, type ServiceDeps } from './context.js';
import { paginate, type PageRequest, type PageResult } from './pagination.js';
import { bindingOf, currentValue, openVersion } from './secret-values.js';
import {
  checkAllowedDomains,
  checkDescription,
  checkEnvKey,
  checkInjectIn,
  checkLabels,
  checkRateLimit,
  checkRules,
  checkSigningList,
  checkValue,
  maxValueBytes,
  parseLabelFilters,
  sameJson,
  sameList,
} from './secret-fields.js';

export type SecretsStore = Pick<Store, 'getSecret' | 'getSecretVersion' | 'listSecrets' | 'listSecretVersions' | 'createSecret' | 'putSecretVersion' | 'deleteSecret' | 'vaultExists' | 'appendAudit'>;

export interface SecretsServiceDeps extends ServiceDeps {
  store: SecretsStore;
  keyring: Keyring;
}

export function toSecret(row: SecretRow): Secret {
  return {
    id: row.id,
    env_key: row.env_key,
    allowed_domains: row.allowed_domains,
    created_at: row.created_at,
    updated_at: row.updated_at,
    vault_id: row.vault_id,
    version: row.version,
    revealable: row.revealable,
    labels: row.labels,
    description: row.description,
    inject_in: row.inject_in,
    type: row.type,
    rules: row.rules,
    rate_limit: row.rate_limit,
    ...(row.signing ? { regions: row.signing.regions, services: row.signing.services } : {}),
  };
}

const invalid = (message: string) => new VaultError('invalid_request', message);

/** A value checked for its secret's type: the text that is sealed, and whether it has an AWS session token. */
interface TypedValue {
  text: string;
  sessionToken: boolean;
  tokenUrl: URL | null;
}

/** Static values are text; the other types a JSON object of their fields (SPEC §10). */
function checkTypedValue(type: CredentialType, input: unknown): TypedValue {
  if (type === 'static') {
    if (input !== undefined && typeof input !== 'string') throw invalid('value must be a string for a static secret');
    return { text: checkValue(input), sessionToken: false, tokenUrl: null };
  }
  if (input === undefined || input === '') throw new VaultError('value_empty');
  const checked = checkCredentialValue(type, input);
  if (!checked.ok) throw invalid(checked.message);
  if (Buffer.byteLength(checked.text, 'utf8') > maxValueBytes) throw new VaultError('value_too_large');
  return { text: checked.text, sessionToken: checked.sessionToken, tokenUrl: checked.tokenUrl };
}

/** The token endpoint is dialled like any upstream, so its host must be one the secret may go to. */
function checkTokenUrlAllowed(tokenUrl: URL | null, domains: readonly string[]): void {
  if (!tokenUrl) return;
  const dest = parseAuthority(tokenUrl.host, 443);
  if (!dest.ok || !isAllowedDestination(domains, dest)) throw invalid('value.token_url must be on a host that allowed_domains admits');
}

/** The rules every non-static type shares: only through the proxy, so at least one allowed host. */
function checkTypedFields(type: CredentialType, domains: readonly string[], injectIn: readonly string[] | undefined): void {
  if (type === 'static') return;
  if (domains.length === 0) throw invalid(`allowed_domains must name at least one host for an ${type} secret: it is only ever used through the proxy`);
  if (type === 'aws_sigv4' && injectIn !== undefined && !sameList(injectIn, ['header'])) {
    throw invalid('inject_in does not apply to an aws_sigv4 secret: it signs requests, in the Authorization header');
  }
}

function signingScope(type: CredentialType, body: { regions?: string[]; services?: string[] }, sessionToken: boolean): SigningScope | null {
  if (type !== 'aws_sigv4') {
    if (body.regions !== undefined) throw invalid('regions applies only to aws_sigv4 secrets');
    if (body.services !== undefined) throw invalid('services applies only to aws_sigv4 secrets');
    return null;
  }
  return { regions: checkSigningList('regions', body.regions), services: checkSigningList('services', body.services), session_token: sessionToken };
}

/** Where a secret is addressed from: nested under a vault, or flat by id. */
export type SecretScope = { vaultId: string } | null;

// Concurrent writers on one secret (several nodes, or a pool on PostgreSQL) lose the
// compare-and-swap to each other; each loser re-reads and retries after a short random pause.
const maxCasRetries = 25;
const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));

export function createSecretsService(deps: SecretsServiceDeps) {
  const { store, keyring } = deps;

  /**
   * Updates of one secret on this node run one after another: they queue instead of racing for the
   * compare-and-swap, which under many concurrent PATCHes on PostgreSQL ran out of retries (the
   * write benchmark saw 2% answered 503). Writers on other nodes still meet the retry loop.
   */
  const queues = new Map<string, Promise<unknown>>();
  function oneWriterAtATime<T>(secretId: string, fn: () => Promise<T>): Promise<T> {
    const run = (queues.get(secretId) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    queues.set(secretId, tail);
    void tail.then(() => {
      if (queues.get(secretId) === tail) queues.delete(secretId);
    });
    return run;
  }

  async function requireVault(orgId: string, vaultId: string): Promise<void> {
    if (!(await store.vaultExists(orgId, vaultId))) throw new VaultError('vault_not_found');
  }

  async function requireSecret(caller: Caller, scope: SecretScope, secretId: string): Promise<SecretRow> {
    if (scope) await requireVault(caller.orgId, scope.vaultId);
    const row = await store.getSecret(caller.orgId, secretId);
    if (!row || (scope && row.vault_id !== scope.vaultId)) throw new VaultError('secret_not_found');
    return row;
  }

  function versionRow(row: SecretRow, caller: Caller, changed: string[], value: string): SecretVersionRow {
    const sealed = sealValue(keyring, bindingOf(row), value);
    return {
      secret_id: row.id,
      version: row.version,
      created_at: row.updated_at,
      actor: caller.actor,
      changed,
      allowed_domains: row.allowed_domains,
      inject_in: row.inject_in,
      description: row.description,
      kek_id: sealed.kekId,
      wrapped_key: sealed.wrappedKey,
      ciphertext: sealed.ciphertext,
      fingerprint: keyring.fingerprint(row.id, value),
    };
  }

  return {
    async create(caller: Caller, vaultId: string, body: CreateSecretBody): Promise<Secret> {
      await requireVault(caller.orgId, vaultId);
      const envKey = checkEnvKey(body.env_key);
      const type = body.type ?? 'static';
      const domains = checkAllowedDomains(body.allowed_domains);
      checkTypedFields(type, domains, body.inject_in);
      const typed = checkTypedValue(type, body.value);
      checkTokenUrlAllowed(typed.tokenUrl, domains);
      const value = typed.text;
      const now = deps.clock.now().toISOString();
      const row: SecretRow = {
        id: deps.ids('secret'),
        org_id: caller.orgId,
        vault_id: vaultId,
        env_key: envKey,
        allowed_domains: domains,
        inject_in: checkInjectIn(body.inject_in),
        description: checkDescription(body.description),
        labels: checkLabels(body.labels),
        revealable: body.revealable ?? false,
        version: 1,
        created_at: now,
        updated_at: now,
        type,
        rules: checkRules(body.rules),
        rate_limit: checkRateLimit(body.rate_limit),
        signing: signingScope(type, body, typed.sessionToken),
      };
      const audit = [
        draftEvent(deps, caller, 'secret.created', {
          vault_id: vaultId,
          secret_id: row.id,
          details: { env_key: envKey, version: 1, allowed_domains: row.allowed_domains, revealable: row.revealable, type },
        }),
      ];
      const result = await store.createSecret(row, versionRow(row, caller, ['value'], value), audit);
      if (!result.ok) throw new VaultError(result.reason);
      return toSecret(row);
    },

    async list(caller: Caller, vaultId: string, query: PageRequest & { label?: string | string[] }): Promise<PageResult<Secret>> {
      const labels = parseLabelFilters(query.label);
      const page = await paginate(query, (p) => store.listSecrets(caller.orgId, vaultId, { labels, page: p }));
      if (!page) throw new VaultError('vault_not_found');
      return { items: page.items.map(toSecret), nextCursor: page.nextCursor };
    },

    async get(caller: Caller, scope: SecretScope, secretId: string): Promise<Secret> {
      return toSecret(await requireSecret(caller, scope, secretId));
    },

    async update(caller: Caller, scope: SecretScope, secretId: string, body: UpdateSecretBody, ifMatch: number | null): Promise<Secret> {
      if (body.labels !== undefined) throw new VaultError('immutable_field', 'labels is immutable');
      if (body.revealable !== undefined) throw new VaultError('immutable_field', 'revealable is immutable');
      if (body.type !== undefined) throw new VaultError('immutable_field', 'type is immutable');
      const expected = expectedVersion(ifMatch, body.expected_version);
      const rules = body.rules === undefined ? undefined : checkRules(body.rules);
      const rateLimit = body.rate_limit === undefined ? undefined : checkRateLimit(body.rate_limit);
      const domains = body.allowed_domains === undefined ? undefined : checkAllowedDomains(body.allowed_domains);
      const injectIn = body.inject_in === undefined ? undefined : checkInjectIn(body.inject_in);
      const description = body.description === undefined ? undefined : checkDescription(body.description);

      return oneWriterAtATime(secretId, async () => {
        for (let attempt = 0; attempt < maxCasRetries; attempt++) {
          const current = await requireSecret(caller, scope, secretId);
          if (expected !== null && current.version !== expected) throw new VaultError('version_mismatch');
          const currentVersion = await store.getSecretVersion(caller.orgId, secretId, current.version);
          if (!currentVersion) throw new VaultError('internal', 'current secret version is missing');
          const type = current.type;
          const nextDomains = domains ?? current.allowed_domains;
          checkTypedFields(type, nextDomains, body.inject_in);
          const typed = body.value === undefined ? undefined : checkTypedValue(type, body.value);
          const newValue = typed?.text;
          const signing = signingScope(
            type,
            { regions: body.regions ?? current.signing?.regions, services: body.services ?? current.signing?.services },
            typed?.sessionToken ?? current.signing?.session_token === true,
          );

          const changed: string[] = [];
          if (newValue !== undefined && keyring.fingerprint(secretId, newValue) !== currentVersion.fingerprint) changed.push('value');
          if (domains !== undefined && !sameList(domains, current.allowed_domains)) changed.push('allowed_domains');
          if (injectIn !== undefined && !sameList(injectIn, current.inject_in)) changed.push('inject_in');
          if (description !== undefined && description !== current.description) changed.push('description');
          if (rules !== undefined && !sameJson(rules, current.rules)) changed.push('rules');
          if (rateLimit !== undefined && !sameJson(rateLimit, current.rate_limit)) changed.push('rate_limit');
          if (signing && current.signing && !sameList(signing.regions, current.signing.regions)) changed.push('regions');
          if (signing && current.signing && !sameList(signing.services, current.signing.services)) changed.push('services');
          if (changed.length === 0) return toSecret(current);

          const next: SecretRow = {
            ...current,
            allowed_domains: nextDomains,
            inject_in: (injectIn ?? current.inject_in),
            description: description === undefined ? current.description : description,
            rules: rules === undefined ? current.rules : rules,
            rate_limit: rateLimit === undefined ? current.rate_limit : rateLimit,
            signing,
            version: current.version + 1,
            updated_at: deps.clock.now().toISOString(),
          };
          // A metadata-only change still makes a new version; its value is re-sealed under
          // the new version's binding so that every version row decrypts on its own.
          const value = changed.includes('value') && newValue !== undefined ? newValue : openVersion(keyring, current, currentVersion);
          if (type === 'oauth2' && (changed.includes('value') || changed.includes('allowed_domains'))) {
            checkTokenUrlAllowed(typed?.tokenUrl ?? new URL(parseOAuth2Value(value).token_url), nextDomains);
          }
          const audit = [
            draftEvent(deps, caller, 'secret.updated', {
              vault_id: current.vault_id,
              secret_id: secretId,
              details: { env_key: current.env_key, version: next.version, changed },
            }),
          ];
          const result = await store.putSecretVersion(caller.orgId, secretId, current.version, { row: next, version: versionRow(next, caller, changed, value) }, audit);
          if (result.ok) return toSecret(next);
          if (result.reason === 'not_found') throw new VaultError('secret_not_found');
          if (expected !== null) throw new VaultError('version_mismatch');
          await backoff(attempt);
        }
        throw new VaultError('unavailable', 'the secret is changing too often; retry');
      });
    },

    async remove(caller: Caller, scope: SecretScope, secretId: string, ifMatch: number | null): Promise<void> {
      const current = await requireSecret(caller, scope, secretId);
      const audit = [
        draftEvent(deps, caller, 'secret.deleted', {
          vault_id: current.vault_id,
          secret_id: secretId,
          details: { env_key: current.env_key, version: current.version },
        }),
      ];
      const result = await store.deleteSecret(caller.orgId, secretId, ifMatch, audit);
      if (!result.ok) throw new VaultError(result.reason === 'not_found' ? 'secret_not_found' : 'version_mismatch');
    },

    async versions(caller: Caller, scope: SecretScope, secretId: string): Promise<SecretVersion[]> {
      await requireSecret(caller, scope, secretId);
      const rows = await store.listSecretVersions(caller.orgId, secretId);
      if (!rows) throw new VaultError('secret_not_found');
      return rows;
    },

    async reveal(caller: Caller, scope: SecretScope, secretId: string): Promise<RevealResponse> {
      const row = await requireSecret(caller, scope, secretId);
      const target = { vault_id: row.vault_id, secret_id: row.id };
      if (!row.revealable) {
        await store.appendAudit([draftEvent(deps, caller, 'secret.revealed', { ...target, outcome: 'denied', reason: 'secret is not revealable' })]);
        throw new VaultError('not_revealable');
      }
      const value = await currentValue(store, keyring, row);
      // Fail closed: the value is returned only after its audit record is durable.
      await store.appendAudit([draftEvent(deps, caller, 'secret.revealed', { ...target, details: { env_key: row.env_key, version: row.version } })]);
      return { value: row.type === 'static' ? value : (JSON.parse(value) as Record<string, unknown>), version: row.version };
    },
  };
}

export type SecretsService = ReturnType<typeof createSecretsService>;

function expectedVersion(ifMatch: number | null, bodyVersion: number | undefined): number | null {
  if (ifMatch !== null && bodyVersion !== undefined && ifMatch !== bodyVersion) {
    throw new VaultError('invalid_request', 'If-Match and expected_version disagree');
  }
  return ifMatch ?? bodyVersion ?? null;
}
