// The signed-in client, shared with every page; a 401 anywhere signs the operator out.
import { createContext, useContext } from 'react';
import type { VaultgateClient } from './api.js';

export interface Session {
  client: VaultgateClient;
  /** Forgets the key; `reason` is shown on the sign-in page. */
  signOut(reason?: string): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}
