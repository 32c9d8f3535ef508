// The oauth2 access-token manager against a real token endpoint (oauth2-mock-server over HTTPS), on
// SQLite and on PostgreSQL: caching, renewal before expiry, single flight on one node and across
// nodes, invalidation, rotated refresh tokens kept as new versions, refusals, and a canary sweep.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import type { LookupFunction } from 'node:net';
import { join } from 'node:path';
import { OAuth2Server } from 'oauth2-mock-server';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { createIdFactory } from '../../src/core/ids.js';
import { createKeyringRecord, openKeyring } from '../../src/crypto/keyring.js';
import { createTokenFetcher } from '../../src/proxy/token-fetch.js';
import type { Clock } from '../../src/services/context.js';
import { createOAuthTokens, type OAuthTokens } from '../../src/services/oauth-tokens.js';
import { parseOAuth2Value, type OAuth2Value } from '../../src/core/oauth2-value.js';
import { createSecretsService } from '../../src/services/secrets-service.js';
import { currentValue } from '../../src/services/secret-values.js';
import { TokenEndpointError, type TokenFetcher } from '../../src/services/token-endpoint.js';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.js';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../src/storage/store.js';
import type { SecretRow } from '../../src/storage/types.js';
import { leaks, needlesFor, searchDir } from '../helpers/kit.js';
import { createTestDatabase, pgAvailable } from '../helpers/postgres.js';
import { tempDir } from '../helpers/server.js';
import { makePki } from '../proxy/helpers.js';

const masterKey = randomBytes(32);
const record = createKeyringRecord(masterKey);
const keyring = openKeyring(masterKey, record);
const storeKeyring = { kek_id: record.kekId, wrapped_root: record.wrappedRoot };
const auditKey = keyring.auditKey;
const ids = createIdFactory();
const admin = (orgId: string) => ({ orgId, actor: 'key_admin', requestId: null, sourceIp: null });
const clientSecret = `cs-canary-${randomBytes(12).toString('hex')}`;

/** Time as the managers see it: real time plus a shift the expiry test moves forward. */
let shiftMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + shiftMs) };

// ---- The token endpoint: every answer recorded, every secret it hands out kept for the sweep ----

interface Served { grant: string; form: Record<string, string>; authorization: string | undefined; answered: Record<string, unknown> }
let server: OAuth2Server;
let tokenUrl: string;
let fetcher: TokenFetcher;
const served: Served[] = [];
const handedOut = new Set<string>([clientSecret]);
/** Changes the next answers: set by a test, reset after each. */
let shape: (body: Record<string, unknown>, served: Served) => { status?: number; body?: Record<string, unknown> } = () => ({});

beforeAll(async () => {
  const pki = await makePki();
  writeFileSync(join(pki.dir, 'token-key.pem'), pki.good.keyPem);
  writeFileSync(join(pki.dir, 'token-cert.pem'), pki.good.certPem);
  server = new OAuth2Server(join(pki.dir, 'token-key.pem'), join(pki.dir, 'token-cert.pem'));
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  // The mock signs the same claims alike within one second: a jti makes every token its own.
  server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
    token.payload.jti = randomBytes(12).toString('hex');
  });
  server.service.on('beforeResponse', (response: { body: Record<string, unknown>; statusCode: number }, req: { body: Record<string, string>; headers: Record<string, string | undefined> }) => {
    const s: Served = { grant: req.body.grant_type ?? '', form: { ...req.body }, authorization: req.headers.authorization, answered: {} };
    served.push(s);
    const changed = shape(response.body, s);
    if (changed.body) response.body = changed.body;
    if (changed.status) response.statusCode = changed.status;
    s.answered = response.body;
    for (const k of ['access_token', 'refresh_token', 'id_token']) if (typeof response.body[k] === 'string') handedOut.add(response.body[k]);
  });
  // api.x.com is one of the names on the test certificate; it resolves to the mock endpoint.
  const lookup = ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
    opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) as unknown as LookupFunction;
  fetcher = createTokenFetcher({ ca: [pki.ca.certPem], lookup });
  tokenUrl = `https://api.x.com:${server.address().port}/token`;
  return async () => {
    await server.stop();
    rmSync(pki.dir, { recursive: true, force: true });
  };
});

// ---- Both backends ----

interface Opened {
  store: Store;
  /** Another node on the same database (PostgreSQL only). */
  second?: () => Promise<Store>;
  /** Where any of `canaries` appears in the database's files or rows (sealed columns hold ciphertext only). */
  leaks(canaries: string[]): Promise<string[]>;
  cleanup(): Promise<void>;
}

const backends: { name: string; skip: boolean; open(): Promise<Opened> }[] = [
  {
    name: 'sqlite',
    skip: false,
    async open() {
      const dir = tempDir('vg-oauth-');
      const store = openSqliteStore({ path: join(dir, 'vaultgate.db'), auditKey, keyring: storeKeyring });
      let closed: Promise<void> | null = null;
      const close = () => (closed ??= store.close());
      return {
        store,
        async leaks(canaries) {
          await close(); // checkpoints the WAL: every byte is in files now
          return searchDir(dir, canaries.flatMap((c) => needlesFor(c))).map((h) => `${h.where}: ${h.encoding}`);
        },
        async cleanup() {
          await close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: !pgAvailable(),
    async open() {
      const db = await createTestDatabase();
      const stores: Store[] = [await openPostgresStore({ url: db.url, auditKey, keyring: storeKeyring })];
      return {
        store: stores[0]!,
        async second() {
          const s = await openPostgresStore({ url: db.url, auditKey, keyring: storeKeyring });
          stores.push(s);
          return s;
        },
        async leaks(canaries) {
          const c = new pg.Client({ connectionString: db.url });
          await c.connect();
          const tables = await c.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
          const found: string[] = [];
          for (const t of tables.rows) {
            // Each row as text (bytea as hex, which a canary's hex needle would find if it were there).
            const rows = await c.query<{ line: string }>(`SELECT t::text AS line FROM "${t.table_name}" t`);
            const text = rows.rows.map((r) => r.line).join('\n');
            for (const canary of canaries) found.push(...leaks(`table ${t.table_name}`, text, canary));
          }
          await c.end();
          return found;
        },
        async cleanup() {
          for (const s of stores) await s.close();
          await db.drop();
        },
      };
    },
  },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(`oauth2 access tokens on ${backend.name}`, () => {
    let opened: Opened;
    let store: Store;
    let orgId: string;
    let vaultId: string;
    const errors: unknown[] = [];

    beforeAll(async () => {
      opened = await backend.open();
      store = opened.store;
      orgId = ids('org');
      const t = new Date().toISOString();
      await store.createOrg({ id: orgId, name: 'acme', is_default: false, created_at: t }, { id: ids('apiKey'), org_id: orgId, name: null, hash: `h-${orgId}`, created_at: t, revoked_at: null }, []);
      vaultId = ids('vault');
      await store.createVault({ id: vaultId, org_id: orgId, name: 'v', description: null, created_at: t, updated_at: t }, []);
      return () => opened.cleanup();
    });

    /** A manager (a node's), counting its own token calls in `count` when given. */
    function managerOn(s: Store, count?: { n: number }): OAuthTokens {
      const fetchToken: TokenFetcher = (url, form, headers) => {
        if (count) count.n++;
        return fetcher(url, form, headers);
      };
      return createOAuthTokens({ store: s, keyring, ids, clock, random: randomBytes, fetchToken });
    }

    async function newSecret(value: OAuth2Value): Promise<SecretRow> {
      const secrets = createSecretsService({ store, keyring, ids, clock, random: randomBytes });
      const created = await secrets.create(admin(orgId), vaultId, { env_key: `OAUTH_${ids('secret').slice(-8)}`, value: JSON.stringify(value), allowed_domains: ['api.x.com'], revealable: true });
      return (await store.getSecret(orgId, created.id))!;
    }

    const clientCredentials = (): OAuth2Value => ({ token_url: tokenUrl, client_id: 'svc-client', client_secret: clientSecret, scopes: ['read', 'write'] });
    const callsSince = (mark: number) => served.length - mark;

    function reset() {
      shape = () => ({});
      shiftMs = 0;
    }

    it('obtains a token on first use (client_secret_basic, the scopes) and reuses it, on this node and from the shared cache', async () => {
      reset();
      const secret = await newSecret(clientCredentials());
      const tokens = managerOn(store);
      const mark = served.length;
      const first = await tokens.accessToken(secret);
      expect(callsSince(mark)).toBe(1);
      const request = served.at(-1)!;
      expect(request.grant).toBe('client_credentials');
      expect(request.form).toEqual({ grant_type: 'client_credentials', scope: 'read write' });
      expect(request.authorization).toBe(`Basic ${Buffer.from(`svc-client:${clientSecret}`).toString('base64')}`);
      expect(first.token.length).toBeGreaterThan(20);
      expect(first.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 3000_000);

      for (let i = 0; i < 20; i++) expect((await tokens.accessToken(secret)).token).toBe(first.token);
      // A manager with nothing in memory (a restarted node) finds it in the store.
      expect((await managerOn(store).accessToken(secret)).token).toBe(first.token);
      expect(callsSince(mark)).toBe(1);
      const row = await store.getOAuthToken(orgId, secret.id);
      expect(row?.secret_version).toBe(1);
      expect(row?.ciphertext.includes(Buffer.from(first.token))).toBe(false);
    });

    it('a public client names itself in the form; a token without expires_in is kept, its expiry unknown', async () => {
      reset();
      shape = (body) => ({ body: { access_token: body.access_token, token_type: 'bearer' } });
      const secret = await newSecret({ token_url: tokenUrl, client_id: 'public-client' });
      const tokens = managerOn(store);
      const mark = served.length;
      const got = await tokens.accessToken(secret);
      expect(got.expiresAt).toBeNull();
      expect(served.at(-1)!.form).toEqual({ grant_type: 'client_credentials', client_id: 'public-client' });
      expect(served.at(-1)!.authorization).toBeUndefined();
      shiftMs = 59 * 60_000;
      expect((await tokens.accessToken(secret)).token).toBe(got.token);
      expect(callsSince(mark)).toBe(1);
      shiftMs = 61 * 60_000;
      expect((await tokens.accessToken(secret)).token).not.toBe(got.token);
      expect(callsSince(mark)).toBe(2);
    });

    it('renews a 5-second token before it expires (margin: 20% of its lifetime)', async () => {
      reset();
      shape = (body) => ({ body: { ...body, expires_in: 5 } });
      const secret = await newSecret(clientCredentials());
      const tokens = managerOn(store);
      const mark = served.length;
      const first = await tokens.accessToken(secret);
      expect(first.expiresAt!.getTime() - Date.now()).toBeLessThanOrEqual(5000);
      shiftMs = 3500;
      expect((await tokens.accessToken(secret)).token).toBe(first.token);
      expect(callsSince(mark)).toBe(1);
      shiftMs = 4200; // within a second of expiry: renewed, though the old token is still valid
      const second = await tokens.accessToken(secret);
      expect(second.token).not.toBe(first.token);
      expect(callsSince(mark)).toBe(2);
      expect(second.expiresAt!.getTime()).toBeGreaterThan(first.expiresAt!.getTime());
    });

    it('50 concurrent calls with nothing cached make one token call', async () => {
      reset();
      const secret = await newSecret(clientCredentials());
      const tokens = managerOn(store);
      const mark = served.length;
      const got = await Promise.all(Array.from({ length: 50 }, () => tokens.accessToken(secret)));
      expect(callsSince(mark)).toBe(1);
      expect(new Set(got.map((g) => g.token)).size).toBe(1);
    });

    it('invalidate drops the cached token (compare-and-delete: a newer one is kept)', async () => {
      reset();
      const secret = await newSecret(clientCredentials());
      const tokens = managerOn(store);
      const other = managerOn(store);
      const mark = served.length;
      const first = await tokens.accessToken(secret);
      await tokens.invalidate(secret, first.token);
      expect(await store.getOAuthToken(orgId, secret.id)).toBeNull();
      const second = await tokens.accessToken(secret);
      expect(second.token).not.toBe(first.token);
      expect(callsSince(mark)).toBe(2);
      // Another node's late 401 on the first token leaves the second in place.
      await other.invalidate(secret, first.token);
      expect((await other.accessToken(secret)).token).toBe(second.token);
      expect(callsSince(mark)).toBe(2);
    });

    it('a token of an older secret version is never used; deleting the secret deletes its token', async () => {
      reset();
      const secret = await newSecret(clientCredentials());
      const tokens = managerOn(store);
      const mark = served.length;
      const first = await tokens.accessToken(secret);
      const secrets = createSecretsService({ store, keyring, ids, clock, random: randomBytes });
      await secrets.update(admin(orgId), null, secret.id, { value: JSON.stringify({ ...clientCredentials(), client_id: 'svc-client-2' }) }, null);
      const updated = (await store.getSecret(orgId, secret.id))!;
      const second = await tokens.accessToken(updated);
      expect(second.token).not.toBe(first.token);
      expect(callsSince(mark)).toBe(2);
      expect(served.at(-1)!.authorization).toBe(`Basic ${Buffer.from(`svc-client-2:${clientSecret}`).toString('base64')}`);
      expect((await store.getOAuthToken(orgId, secret.id))?.secret_version).toBe(2);
      await secrets.remove(admin(orgId), null, secret.id, null);
      expect(await store.getOAuthToken(orgId, secret.id)).toBeNull();
    });

    it('a rotated refresh token is stored as a new version, audited by system without any token', async () => {
      reset();
      const initial = `rt-canary-${randomBytes(8).toString('hex')}`;
      handedOut.add(initial);
      const secret = await newSecret({ token_url: tokenUrl, client_id: 'app', client_secret: clientSecret, refresh_token: initial });
      const tokens = managerOn(store);
      const mark = served.length;
      const got = await tokens.accessToken(secret);
      expect(served.at(-1)!.form).toEqual({ grant_type: 'refresh_token', refresh_token: initial });

      const after = (await store.getSecret(orgId, secret.id))!;
      expect(after.version).toBe(2);
      const value = parseOAuth2Value(await currentValue(store, keyring, after));
      expect(value.refresh_token).not.toBe(initial);
      expect(value.refresh_token).toBe(served.at(-1)!.answered.refresh_token);
      expect({ ...value, refresh_token: initial }).toEqual({ token_url: tokenUrl, client_id: 'app', client_secret: clientSecret, refresh_token: initial });
      expect((await store.getOAuthToken(orgId, secret.id))?.secret_version).toBe(2);
      // The proxy's older row (version 1) is served the token of version 2.
      expect((await tokens.accessToken(secret)).token).toBe(got.token);

      const events = (await store.listAudit(orgId, { limit: 1000, secretId: secret.id })).filter((e) => e.type === 'secret.updated');
      expect(events.map((e) => [e.actor, e.details])).toEqual([['system', { env_key: secret.env_key, version: 2, changed: ['value'], reason: 'oauth2_refresh_token_rotated' }]]);
      for (const s of [initial, value.refresh_token!, got.token, clientSecret]) expect(leaks('audit', JSON.stringify(events), s)).toEqual([]);

      // The next renewal uses the new refresh token.
      await tokens.invalidate(secret, got.token);
      await tokens.accessToken(after);
      expect(served.at(-1)!.form).toEqual({ grant_type: 'refresh_token', refresh_token: value.refresh_token });
      expect((await store.getSecret(orgId, secret.id))!.version).toBe(3);
      expect(callsSince(mark)).toBe(2);
    });

    it('a rotation that loses the compare-and-swap to an operator edit re-reads and keeps the new refresh token', async () => {
      reset();
      const initial = `rt-canary-${randomBytes(8).toString('hex')}`;
      handedOut.add(initial);
      const secret = await newSecret({ token_url: tokenUrl, client_id: 'app', refresh_token: initial });
      const secrets = createSecretsService({ store, keyring, ids, clock, random: randomBytes });
      let edits = 0;
      // The operator changes the description just before the manager's compare-and-swap.
      const racing: Store = Object.create(store, {
        putSecretVersion: {
          value: async (...args: Parameters<Store['putSecretVersion']>) => {
            if (args[3].version.actor === 'system' && edits++ === 0) await secrets.update(admin(orgId), null, secret.id, { description: 'edited' }, null);
            return store.putSecretVersion(...args);
          },
        },
      }) as Store;
      const tokens = createOAuthTokens({ store: racing, keyring, ids, clock, random: randomBytes, fetchToken: fetcher });
      const got = await tokens.accessToken(secret);
      const after = (await store.getSecret(orgId, secret.id))!;
      expect([after.version, after.description, edits]).toEqual([3, 'edited', 2]);
      expect(parseOAuth2Value(await currentValue(store, keyring, after)).refresh_token).toBe(served.at(-1)!.answered.refresh_token);
      expect((await store.getOAuthToken(orgId, secret.id))?.secret_version).toBe(3);
      expect((await tokens.accessToken(after)).token).toBe(got.token);
    });

    it('a refresh token the operator replaced meanwhile wins over the rotated one, and the token is not kept', async () => {
      reset();
      const initial = `rt-canary-${randomBytes(8).toString('hex')}`;
      const replaced = `rt-canary-${randomBytes(8).toString('hex')}`;
      handedOut.add(initial).add(replaced);
      const value: OAuth2Value = { token_url: tokenUrl, client_id: 'app', refresh_token: initial };
      const secret = await newSecret(value);
      const secrets = createSecretsService({ store, keyring, ids, clock, random: randomBytes });
      const racing: Store = Object.create(store, {
        putSecretVersion: {
          value: async (...args: Parameters<Store['putSecretVersion']>) => {
            if (args[3].version.actor === 'system') await secrets.update(admin(orgId), null, secret.id, { value: JSON.stringify({ ...value, refresh_token: replaced }) }, null);
            return store.putSecretVersion(...args);
          },
        },
      }) as Store;
      const got = await createOAuthTokens({ store: racing, keyring, ids, clock, random: randomBytes, fetchToken: fetcher }).accessToken(secret);
      expect(got.token.length).toBeGreaterThan(20);
      const after = (await store.getSecret(orgId, secret.id))!;
      expect(after.version).toBe(2);
      expect(parseOAuth2Value(await currentValue(store, keyring, after)).refresh_token).toBe(replaced);
      expect(await store.getOAuthToken(orgId, secret.id)).toBeNull();
    });

    it('an endpoint answering 400 invalid_grant raises TokenEndpointError naming it, with no credential in it', async () => {
      reset();
      const refresh = `rt-canary-${randomBytes(8).toString('hex')}`;
      handedOut.add(refresh);
      shape = () => ({ status: 400, body: { error: 'invalid_grant', error_description: `refresh token ${refresh} revoked for client secret ${clientSecret}` } });
      const secret = await newSecret({ token_url: tokenUrl, client_id: 'app', client_secret: clientSecret, refresh_token: refresh });
      const err = await managerOn(store).accessToken(secret).catch((e: unknown) => e);
      errors.push(err);
      expect(err).toBeInstanceOf(TokenEndpointError);
      const e = err as TokenEndpointError;
      expect(e.message).toBe('token endpoint answered 400 (invalid_grant: refresh token [redacted] revoked for client secret [redacted])');
      expect([e.endpointStatus, e.oauthError, e.code]).toEqual([400, 'invalid_grant', 'upstream_failed']);
      expect(await store.getOAuthToken(orgId, secret.id)).toBeNull();
      expect((await store.getSecret(orgId, secret.id))!.version).toBe(1);
    });

    // SQLite is one node: the cross-node test exists for PostgreSQL only.
    if (backend.name === 'postgres') it('two nodes on one database, 20 concurrent calls each, make one token call', async () => {
      reset();
      const secret = await newSecret(clientCredentials());
      const nodeB = await opened.second!();
      const count = { n: 0 };
      const a = managerOn(store, count);
      const b = managerOn(nodeB, count);
      const mark = served.length;
      const got = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).accessToken(secret)));
      expect(callsSince(mark)).toBe(1);
      expect(count.n).toBe(1);
      expect(new Set(got.map((g) => g.token)).size).toBe(1);
    });

    it('canary sweep: no token, refresh token or client secret in the database (outside sealed columns), the audit log or an error', async () => {
      reset();
      expect(handedOut.size).toBeGreaterThan(10);
      const canaries = [...handedOut];
      const audit = JSON.stringify(await store.listAudit(orgId, { limit: 10_000 }));
      const errorText = errors.map((e) => JSON.stringify({ message: (e as Error).message, stack: (e as Error).stack, ...(e as object) })).join('\n');
      expect(errors.length).toBeGreaterThan(0);
      expect(canaries.flatMap((s) => [...leaks('audit', audit, s), ...leaks('errors', errorText, s)])).toEqual([]);
      expect(await opened.leaks(canaries)).toEqual([]);
    });
  });
}
