// The OAuth2 access-token cache on SQLite: one node, so the token lock is the caller's single flight.
import type Database from 'better-sqlite3';
import { maybe, toOAuthToken } from '../rows.js';
import type { LockedTokenCache, OAuthTokenRow, TokenStore } from '../token-store.js';

export function createSqliteTokenMethods(db: Database.Database): TokenStore {
  // Written outside `write()`: no cached read includes this table, so there is nothing to drop,
  // and each statement is its own durable transaction (synchronous = FULL).
  const select = db.prepare('SELECT * FROM oauth_tokens WHERE org_id = ? AND secret_id = ?');
  const upsert = db.prepare(
    `INSERT INTO oauth_tokens (secret_id, org_id, secret_version, kek_id, wrapped_key, ciphertext, expires_at, obtained_at)
     VALUES (@secret_id, @org_id, @secret_version, @kek_id, @wrapped_key, @ciphertext, @expires_at, @obtained_at)
     ON CONFLICT (secret_id) DO UPDATE SET secret_version = excluded.secret_version, kek_id = excluded.kek_id,
       wrapped_key = excluded.wrapped_key, ciphertext = excluded.ciphertext, expires_at = excluded.expires_at, obtained_at = excluded.obtained_at
     WHERE oauth_tokens.org_id = excluded.org_id`,
  );
  const compareAndDelete = db.prepare('DELETE FROM oauth_tokens WHERE org_id = ? AND secret_id = ? AND ciphertext = ?');

  const read = async (orgId: string, secretId: string) => maybe(toOAuthToken, select.get(orgId, secretId));

  return {
    getOAuthToken: read,
    async deleteOAuthToken(orgId, secretId, ciphertext) {
      return compareAndDelete.run(orgId, secretId, ciphertext).changes > 0;
    },
    async withOAuthTokenLock(orgId, secretId, _waitMs, fn) {
      const cache: LockedTokenCache = {
        read: () => read(orgId, secretId),
        async write(row: OAuthTokenRow) {
          upsert.run(row);
        },
      };
      return fn(cache);
    },
  };
}
