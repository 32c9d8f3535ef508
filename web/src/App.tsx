// The application shell: signed out, the sign-in page; signed in, the page the URL hash names.
import { useCallback, useMemo, useState } from 'react';
import { clientFor, forgetKey, storedKey, type VaultgateClient } from './api.js';
import { Layout } from './components/Layout.js';
import { AgentPage } from './pages/Agent.js';
import { AgentsPage } from './pages/Agents.js';
import { AuditPage } from './pages/Audit.js';
import { SecretPage } from './pages/Secret.js';
import { SignIn } from './pages/SignIn.js';
import { VaultPage } from './pages/Vault.js';
import { VaultsPage } from './pages/Vaults.js';
import { href, useRoute, type Route } from './router.js';
import { SessionContext, type Session } from './session.js';

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'vaults':
      return <VaultsPage />;
    case 'vault':
      return <VaultPage key={route.vaultId} vaultId={route.vaultId} />;
    case 'secret':
      return <SecretPage key={route.secretId} vaultId={route.vaultId} secretId={route.secretId} />;
    case 'agents':
      return <AgentsPage />;
    case 'agent':
      return <AgentPage key={route.agentId} agentId={route.agentId} />;
    case 'audit':
      return <AuditPage />;
    case 'not-found':
      return (
        <section className="card">
          <h1>Page not found</h1>
          <p>
            <a href={href.vaults()}>Go to vaults</a>
          </p>
        </section>
      );
  }
}

export function App() {
  const [client, setClient] = useState<VaultgateClient | null>(() => {
    const key = storedKey();
    return key ? clientFor(key) : null;
  });
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();

  const signOut = useCallback((reason?: string) => {
    forgetKey();
    setClient(null);
    setNotice(reason ?? 'You are signed out.');
  }, []);
  const session = useMemo<Session | null>(() => (client ? { client, signOut } : null), [client, signOut]);

  if (!session) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(c) => {
          setNotice(null);
          setClient(c);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Layout route={route} onSignOut={() => signOut()}>
        <Page route={route} />
      </Layout>
    </SessionContext.Provider>
  );
}
