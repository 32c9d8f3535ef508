// The access tokens of `oauth2` secrets: obtained once for many requests and nodes, refreshed before expiry.
import { timingSafeEqual } from 'node:crypto';
import { VaultError } from '../contract/errors.js';
import { openAccessToken, sealAccessToken } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../storage/store.js';
import type { OAuthTokenRow } from '../storage/token-store.js';
import type { SecretRow } from '../storage/types.js';
import type { ServiceDeps } from './context.js';
import { echoValues, parseOAuth2Value, type OAuth2Value } from '../core/oauth2-value.js';
import { bindingOf, currentValue } from './secret-values.js';
import { storeRotatedRefreshToken } from './refresh-rotation.js';
import { readTokenAnswer, TokenEndpointError, tokenRequestOf, type TokenAnswer, type TokenFetcher } from './token-endpoint.js';

export type OAuthTokensStore = Pick<
  Store,
  'getSecret' | 'getSecretVersion' | 'putSecretVersion' | 'getOAuthToken' | 'deleteOAuthToken' | 'withOAuthTokenLock'
>;

export interface OAuthTokensDeps extends ServiceDeps {
  store: OAuthTokensStore;
  keyring: Keyring;
  fetchToken: TokenFetcher;
  /** The longest a token is renewed before it expires (default 60 s); never more than 20% of its lifetime. */
  refreshAheadMs?: number;
  /** How long one call to the token endpoint may take (default 10 s): it bounds every node's wait too. */
  fetchTimeoutMs?: number;
}

export interface AccessToken {
  token: string;
  /** null: the endpoint named no lifetime. */
  expiresAt: Date | null;
  /**
   * Tokens of this secret this node handed out before `token` and that may still be live (renewed
   * ahead of their expiry, or dropped after a 401): an upstream may echo them, so they are scrubbed too.
   */
  superseded: string[];
}

/**
 * A token whose endpoint named no lifetime is used for this long, or until a 401 invalidates it:
 * long enough to spare the endpoint, short enough that a silently revoked token does not linger.
 */
export const unknownExpiryMs = 60 * 60 * 1000;
const lifetimeShareRenewedAhead = 0.2;
/** Extra wait for another node's refresh, beyond its own fetch timeout. */
const lockWaitSlackMs = 5_000;
const maxRemembered = 10_000;
/** Superseded tokens kept per secret for scrubbing (the newest). */
const maxSuperseded = 4;

interface Remembered {
  version: number;
  token: string;
  expiresAt: Date | null;
  /** When it is no longer handed out (epoch ms): its expiry less the renewal margin. */
  staleAt: number;
}

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
};

export function createOAuthTokens(deps: OAuthTokensDeps) {
  const { store, keyring } = deps;
  const refreshAheadMs = deps.refreshAheadMs ?? 60_000;
  const fetchTimeoutMs = deps.fetchTimeoutMs ?? 10_000;
  /** This node's opened tokens, so a request costs no read or decryption while its token is fresh. */
  const remembered = new Map<string, Remembered>();
  /** This node's refreshes in flight, by secret and version: concurrent callers share one. */
  const inFlight = new Map<string, Promise<AccessToken>>();
  const keyOf = (s: SecretRow) => `${s.org_id}/${s.id}`;
  /** Tokens replaced on this node, until they would have expired: still scrubbed from responses. */
  const supersededBy = new Map<string, { token: string; until: number }[]>();

  function supersede(key: string, r: Remembered): void {
    const now = deps.clock.now().getTime();
    const until = r.expiresAt?.getTime() ?? now + unknownExpiryMs;
    const kept = (supersededBy.get(key) ?? []).filter((s) => s.until > now && s.token !== r.token);
    if (until > now) kept.push({ token: r.token, until });
    supersededBy.delete(key);
    if (kept.length === 0) return;
    if (supersededBy.size >= maxRemembered) supersededBy.delete(supersededBy.keys().next().value as string);
    supersededBy.set(key, kept.slice(-maxSuperseded));
  }

  function supersededOf(key: string, current: string): string[] {
    const now = deps.clock.now().getTime();
    return (supersededBy.get(key) ?? []).filter((s) => s.until > now && s.token !== current).map((s) => s.token);
  }

  function staleAt(obtainedAt: Date, expiresAt: Date | null): number {
    if (expiresAt === null) return obtainedAt.getTime() + unknownExpiryMs;
    const lifetime = expiresAt.getTime() - obtainedAt.getTime();
    return expiresAt.getTime() - Math.max(0, Math.min(refreshAheadMs, lifetime * lifetimeShareRenewedAhead));
  }
  const isFresh = (r: Remembered) => deps.clock.now().getTime() < r.staleAt;

  function remember(secret: SecretRow, r: Remembered): AccessToken {
    const key = keyOf(secret);
    const before = remembered.get(key);
    if (before && before.token !== r.token) supersede(key, before);
    remembered.delete(key);
    if (remembered.size >= maxRemembered) remembered.delete(remembered.keys().next().value as string);
    remembered.set(key, r);
    return { token: r.token, expiresAt: r.expiresAt, superseded: supersededOf(key, r.token) };
  }

  /** The cached row opened, or null if it cannot be (sealed under a master key since rotated, or tampered). */
  function opened(secret: SecretRow, row: OAuthTokenRow): Remembered | null {
    try {
      const token = openAccessToken(keyring, bindingOf(secret, row.secret_version), { kekId: row.kek_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext });
      const expiresAt = row.expires_at === null ? null : new Date(row.expires_at);
      return { version: row.secret_version, token, expiresAt, staleAt: staleAt(new Date(row.obtained_at), expiresAt) };
    } catch {
      return null;
    }
  }

  async function callEndpoint(value: OAuth2Value): Promise<TokenAnswer> {
    const request = tokenRequestOf(value);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new TokenEndpointError(null, null, `token endpoint did not answer within ${fetchTimeoutMs} ms`)), fetchTimeoutMs);
    });
    try {
      const answer = await Promise.race([deps.fetchToken(request.url, request.form, request.headers), deadline]);
      return readTokenAnswer(answer.status, answer.body, echoValues(value, null));
    } catch (err) {
      // A dialler's own error (a refused destination) is ours and safe; any other may say too much.
      if (err instanceof VaultError) throw err;
      const code = (err as { code?: unknown }).code;
      throw new TokenEndpointError(null, null, `token endpoint request failed${typeof code === 'string' && /^[A-Z_]{1,32}$/.test(code) ? ` (${code})` : ''}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Under the secret's lock: the cached token if another node renewed it meanwhile, else a new one. */
  async function renew(secret: SecretRow): Promise<AccessToken> {
    return store.withOAuthTokenLock(secret.org_id, secret.id, fetchTimeoutMs + lockWaitSlackMs, async (cache) => {
      const current = await store.getSecret(secret.org_id, secret.id);
      if (!current) throw new VaultError('secret_not_found');
      const row = await cache.read();
      const shared = row && row.secret_version === current.version ? opened(current, row) : null;
      if (shared && isFresh(shared)) return remember(current, shared);

      const value = parseOAuth2Value(await currentValue(store, keyring, current));
      const obtainedAt = deps.clock.now();
      const answer = await callEndpoint(value);
      let owner: SecretRow | null = current;
      if (answer.refreshToken !== null && value.refresh_token !== undefined && answer.refreshToken !== value.refresh_token) {
        owner = await storeRotatedRefreshToken({ ...deps, store }, current, value.refresh_token, answer.refreshToken);
      }
      const expiresAt = answer.expiresIn === null ? null : new Date(obtainedAt.getTime() + answer.expiresIn * 1000);
      const fresh: Remembered = { version: owner?.version ?? current.version, token: answer.accessToken, expiresAt, staleAt: staleAt(obtainedAt, expiresAt) };
      // The operator replaced the credential while this token was obtained with the old one: hand it
      // to the callers waiting now, but keep it for nobody.
      if (!owner) return { token: fresh.token, expiresAt, superseded: supersededOf(keyOf(current), fresh.token) };
      const sealed = sealAccessToken(keyring, bindingOf(owner), fresh.token);
      await cache.write({
        org_id: owner.org_id,
        secret_id: owner.id,
        secret_version: owner.version,
        kek_id: sealed.kekId,
        wrapped_key: sealed.wrappedKey,
        ciphertext: sealed.ciphertext,
        expires_at: expiresAt?.toISOString() ?? null,
        obtained_at: obtainedAt.toISOString(),
      });
      return remember(owner, fresh);
    });
  }

  /** The token another node (or this one, earlier) stored, else a renewal under the lock. */
  async function obtain(secret: SecretRow): Promise<AccessToken> {
    const row = await store.getOAuthToken(secret.org_id, secret.id);
    // A token of a later version is newer than the caller's row, which was read a moment ago.
    const shared = row && row.secret_version >= secret.version ? opened(secret, row) : null;
    if (shared && isFresh(shared)) return remember(secret, shared);
    return renew(secret);
  }

  return {
    /** A current access token for an `oauth2` secret: the cached one while fresh, else a new one. */
    async accessToken(secret: SecretRow): Promise<AccessToken> {
      const key = keyOf(secret);
      const hit = remembered.get(key);
      if (hit && hit.version >= secret.version && isFresh(hit)) return { token: hit.token, expiresAt: hit.expiresAt, superseded: supersededOf(key, hit.token) };
      // Callers holding the same version share a flight; a newer row must not be served by a
      // flight that started from an older one (it may take that version's cached token).
      const flightKey = `${key}@${secret.version}`;
      let flight = inFlight.get(flightKey);
      if (!flight) {
        flight = obtain(secret).finally(() => inFlight.delete(flightKey));
        inFlight.set(flightKey, flight);
      }
      return flight;
    },

    /** After a 401 with `token`: drops it if it is still the cached one (a newer token is kept). */
    async invalidate(secret: SecretRow, token: string): Promise<void> {
      const key = keyOf(secret);
      const hit = remembered.get(key);
      if (hit && sameText(hit.token, token)) {
        remembered.delete(key);
        supersede(key, hit);
      }
      const row = await store.getOAuthToken(secret.org_id, secret.id);
      const cached = row ? opened(secret, row) : null;
      if (row && cached && sameText(cached.token, token)) await store.deleteOAuthToken(secret.org_id, secret.id, row.ciphertext);
    },
  };
}

export type OAuthTokens = ReturnType<typeof createOAuthTokens>;
