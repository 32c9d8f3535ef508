// A page's title, its place in the hierarchy and its main actions.
import { useEffect, useRef, type ReactNode } from 'react';

interface Crumb {
  label: string;
  href: string;
}

export function PageHeader({ title, crumbs = [], children, subtitle }: { title: ReactNode; crumbs?: Crumb[]; children?: ReactNode; subtitle?: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  // A new page moves focus to its title, so keyboard and screen-reader users start there.
  useEffect(() => {
    heading.current?.focus({ preventScroll: true });
  }, []);
  return (
    <header className="page-header">
      {crumbs.length > 0 && (
        <nav aria-label="Breadcrumb" className="crumbs">
          <ol>
            {crumbs.map((c) => (
              <li key={c.href}>
                <a href={c.href}>{c.label}</a>
              </li>
            ))}
          </ol>
        </nav>
      )}
      <div className="page-title-row">
        <div>
          <h1 ref={heading} tabIndex={-1}>
            {title}
          </h1>
          {subtitle && <p className="subtitle">{subtitle}</p>}
        </div>
        {children && <div className="page-actions">{children}</div>}
      </div>
    </header>
  );
}
