// A tiny hash router: `#/vaults/vlt_…` never reaches the server, so no path can shadow an API route.
import { useEffect, useState } from 'react';

export type Route =
  | { page: 'vaults' }
  | { page: 'vault'; vaultId: string }
  | { page: 'secret'; vaultId: string; secretId: string }
  | { page: 'agents' }
  | { page: 'agent'; agentId: string }
  | { page: 'audit' }
  | { page: 'not-found' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [first, id, sub, subId] = parts;
  if (parts.length === 0 || (first === 'vaults' && parts.length === 1)) return { page: 'vaults' };
  if (first === 'vaults' && id && parts.length === 2) return { page: 'vault', vaultId: id };
  if (first === 'vaults' && id && sub === 'secrets' && subId && parts.length === 4) return { page: 'secret', vaultId: id, secretId: subId };
  if (first === 'agents' && parts.length === 1) return { page: 'agents' };
  if (first === 'agents' && id && parts.length === 2) return { page: 'agent', agentId: id };
  if (first === 'audit' && parts.length === 1) return { page: 'audit' };
  return { page: 'not-found' };
}

export const href = {
  vaults: () => '#/vaults',
  vault: (id: string) => `#/vaults/${encodeURIComponent(id)}`,
  secret: (vaultId: string, id: string) => `#/vaults/${encodeURIComponent(vaultId)}/secrets/${encodeURIComponent(id)}`,
  agents: () => '#/agents',
  agent: (id: string) => `#/agents/${encodeURIComponent(id)}`,
  audit: () => '#/audit',
};

export function navigate(to: string): void {
  location.hash = to;
}

export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return parseRoute(hash);
}
