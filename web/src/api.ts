// The session: the API key lives in this tab's sessionStorage only, and every call goes through the SDK.
import { createClient, VaultgateError, type VaultgateClient } from '../../src/sdk/index.js';

export { VaultgateError };
export type { VaultgateClient };

const storageKey = 'vaultgate.apiKey';

export function storedKey(): string | null {
  return sessionStorage.getItem(storageKey);
}

export function forgetKey(): void {
  sessionStorage.removeItem(storageKey);
}

/** The dashboard is served by the API it talks to, so the API is this page's own origin. */
export function clientFor(apiKey: string): VaultgateClient {
  return createClient({ url: location.origin, apiKey });
}

/**
 * Checks the key with a cheap call before keeping it; a refused key is never stored.
 * Throws the API's own error (e.g. `unauthorized`).
 */
export async function signIn(apiKey: string): Promise<VaultgateClient> {
  const client = clientFor(apiKey);
  await client.vaults.list({ limit: 1 });
  sessionStorage.setItem(storageKey, apiKey);
  return client;
}

/** What the UI says about a failure: the API's message when there is one. */
export function messageOf(err: unknown): string {
  if (err instanceof VaultgateError) return err.code === 'network_error' ? 'Vaultgate cannot be reached. Is the server running?' : err.message;
  return 'Something went wrong in the dashboard. Reload the page and try again.';
}

export function isUnauthorized(err: unknown): boolean {
  return err instanceof VaultgateError && err.status === 401;
}
