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
