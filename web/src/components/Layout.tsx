// The frame of every signed-in page: skip link, brand, main navigation, sign-out.
import type { ReactNode } from 'react';
import type { Route } from '../router.js';
import { href } from '../router.js';

const sections = [
  { key: 'vaults', label: 'Vaults', href: href.vaults(), pages: ['vaults', 'vault', 'secret'] },
  { key: 'agents', label: 'Agents', href: href.agents(), pages: ['agents', 'agent'] },
  { key: 'audit', label: 'Audit log', href: href.audit(), pages: ['audit'] },
];

export function Layout({ route, onSignOut, children }: { route: Route; onSignOut(): void; children: ReactNode }) {
  return (
    <>
      <a className="skip-link" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <a className="brand" href={href.vaults()}>
            <img src="/favicon.svg" alt="" width="24" height="24" />
            <span>Vaultgate</span>
          </a>
          <nav aria-label="Main" className="mainnav">
            <ul>
              {sections.map((s) => (
                <li key={s.key}>
                  <a href={s.href} aria-current={s.pages.includes(route.page) ? 'page' : undefined}>
                    {s.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <button type="button" className="button ghost signout" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="content">
        {children}
      </main>
    </>
  );
}
