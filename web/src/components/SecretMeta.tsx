// How a secret's metadata reads in tables and on its page.
import type { Secret } from '../../../src/sdk/index.js';
import { Badge } from './Badge.js';

export function Domains({ domains }: { domains: readonly string[] }) {
  if (domains.length === 0) return <Badge tone="warn" title="No allowed domains: the real value is injected into the agent's environment">unrestricted</Badge>;
  return (
    <ul className="chips" aria-label="Allowed domains">
      {domains.map((d) => (
        <li key={d}>
          <code>{d}</code>
        </li>
      ))}
    </ul>
  );
}

export function Labels({ labels }: { labels: Secret['labels'] }) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <ul className="chips" aria-label="Labels">
      {entries.map(([k, v]) => (
        <li key={k} className="label-chip">
          {k}={v}
        </li>
      ))}
    </ul>
  );
}

export const typeLabels: Record<Secret['type'], string> = { static: 'static', aws_sigv4: 'AWS SigV4', oauth2: 'OAuth 2' };

export function Rules({ rules }: { rules: Secret['rules'] }) {
  if (rules === null) return <span className="muted">none: any method and path</span>;
  return (
    <ul className="rule-list" aria-label="Request rules">
      {rules.map((r, i) => (
        <li key={i}>
          <span className="mono">{r.methods?.join(', ') ?? 'any method'}</span> <span className="muted">on</span> <span className="mono">{r.paths?.join(', ') ?? 'any path'}</span>
        </li>
      ))}
    </ul>
  );
}

export function RateLimitText({ limit }: { limit: Secret['rate_limit'] }) {
  if (limit === null) return <span className="muted">none</span>;
  return (
    <>
      {limit.requests} per {limit.per} per agent
    </>
  );
}

export function Chips({ items, label }: { items: readonly string[]; label: string }) {
  return (
    <ul className="chips" aria-label={label}>
      {items.map((d) => (
        <li key={d}>
          <code>{d}</code>
        </li>
      ))}
    </ul>
  );
}
