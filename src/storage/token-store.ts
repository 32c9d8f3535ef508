// The OAuth2 access-token cache of the Store: one sealed token per oauth2 secret, shared by every node.

/** The access token cached for one secret, sealed under the secret version it was obtained with. */
export interface OAuthTokenRow {
  org_id: string;
  secret_id: string;
  secret_version: number;
  kek_id: string;
  wrapped_key: Buffer;
  ciphertext: Buffer;
  /** null: the token endpoint named no lifetime. */
  expires_at: string | null;
  obtained_at: string;
}

/** The cache as seen while holding a secret's token lock. */
export interface LockedTokenCache {
  read(): Promise<OAuthTokenRow | null>;
  /** Replaces the secret's cached token (a row for an older version included). */
  write(row: OAuthTokenRow): Promise<void>;
}

export interface TokenStore {
  getOAuthToken(orgId: string, secretId: string): Promise<OAuthTokenRow | null>;
  /** Compare-and-delete: drops the secret's token only if it is still the one sealed as `ciphertext`. */
  deleteOAuthToken(orgId: string, secretId: string, ciphertext: Buffer): Promise<boolean>;
  /**
   * Runs `fn` holding the secret's token lock, so that one node at a time re-reads, obtains and
   * writes its token. PostgreSQL: a transaction-level advisory lock, waited for at most `waitMs`
   * (then `unavailable`); `fn`'s write commits as the lock is released. SQLite serves one node, whose
   * own single flight is the lock: `fn` runs at once.
   */
  withOAuthTokenLock<T>(orgId: string, secretId: string, waitMs: number, fn: (cache: LockedTokenCache) => Promise<T>): Promise<T>;
}
