// The OAuth2 access-token cache on PostgreSQL, and the advisory lock that gives every node one refresh.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { VaultError } from '../../contract/errors.js';
import { maybe, toOAuthToken } from '../rows.js';
import type { LockedTokenCache, OAuthTokenRow, TokenStore } from '../token-store.js';
import { firstOf, rowsOf, transaction } from './pg-tx.js';

/** The advisory lock key of one secret's token: 64 bits of a hash of its id, in a namespace of its own. */
export function tokenLockKey(secretId: string): bigint {
  return createHash('sha256').update(`vaultgate/oauth2-token-lock|${secretId}`).digest().readBigInt64BE(0);
}

const upsertSql = `INSERT INTO oauth_tokens (secret_id, org_id, secret_version, kek_id, wrapped_key, ciphertext, expires_at, obtained_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (secret_id) DO UPDATE SET secret_version = EXCLUDED.secret_version, kek_id = EXCLUDED.kek_id,
    wrapped_key = EXCLUDED.wrapped_key, ciphertext = EXCLUDED.ciphertext, expires_at = EXCLUDED.expires_at, obtained_at = EXCLUDED.obtained_at
  WHERE oauth_tokens.org_id = EXCLUDED.org_id`;

const lockNotAvailable = '55P03';

export function createPgTokenMethods(pool: pg.Pool): TokenStore {
  const read = async (c: pg.Pool | pg.PoolClient, orgId: string, secretId: string) =>
    maybe(toOAuthToken, await firstOf(c, 'SELECT * FROM oauth_tokens WHERE org_id = $1 AND secret_id = $2', [orgId, secretId]));

  return {
    async getOAuthToken(orgId, secretId) {
      return read(pool, orgId, secretId);
    },
    async deleteOAuthToken(orgId, secretId, ciphertext) {
      const rows = await rowsOf(pool, 'DELETE FROM oauth_tokens WHERE org_id = $1 AND secret_id = $2 AND ciphertext = $3 RETURNING 1', [orgId, secretId, ciphertext]);
      return rows.length > 0;
    },
    async withOAuthTokenLock(orgId, secretId, waitMs, fn) {
      if (!Number.isSafeInteger(waitMs) || waitMs < 1) throw new RangeError('waitMs must be a positive integer');
      try {
        return await transaction(pool, async (c) => {
          await rowsOf(c, "SELECT set_config('lock_timeout', $1, true)", [`${waitMs}ms`]);
          await rowsOf(c, 'SELECT pg_advisory_xact_lock($1::bigint)', [tokenLockKey(secretId).toString()]);
          const cache: LockedTokenCache = {
            read: () => read(c, orgId, secretId),
            async write(row: OAuthTokenRow) {
              await rowsOf(c, upsertSql, [row.secret_id, row.org_id, row.secret_version, row.kek_id, row.wrapped_key, row.ciphertext, row.expires_at, row.obtained_at]);
            },
          };
          return fn(cache);
        });
      } catch (err) {
        if ((err as { code?: unknown }).code === lockNotAvailable) {
          throw new VaultError('unavailable', 'the OAuth2 access token is being obtained by another node; retry', { cause: err });
        }
        throw err;
      }
    },
  };
}
