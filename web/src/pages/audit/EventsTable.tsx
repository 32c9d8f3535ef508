// Audit events, newest first, with names resolved from ids where the dashboard knows them.
import type { Agent, AuditEvent } from '../../../../src/sdk/index.js';
import { Badge } from '../../components/Badge.js';
import { RelativeTime } from '../../components/RelativeTime.js';
import { Table } from '../../components/Table.js';
import { shortId } from '../../format.js';
import type { OrgSecrets } from '../../org-secrets.js';

export interface Names {
  agents: Map<string, Agent>;
  org: OrgSecrets | undefined;
}

function subjectOf(e: AuditEvent, names: Names): string {
  const d = e.details as Record<string, unknown>;
  const secret = e.secret_id ? names.org?.secrets.find((s) => s.id === e.secret_id) : undefined;
  const vault = e.vault_id ? names.org?.vaults.find((v) => v.id === e.vault_id) : undefined;
  const agent = e.agent_id ? names.agents.get(e.agent_id) : undefined;
  const parts: string[] = [];
  if (typeof d.env_key === 'string') parts.push(d.env_key);
  else if (secret) parts.push(secret.env_key);
  else if (e.secret_id) parts.push(shortId(e.secret_id));
  if (vault) parts.push(`vault ${vault.name}`);
  else if (typeof d.name === 'string' && e.type.startsWith('vault.')) parts.push(`vault ${d.name}`);
  if (agent && e.actor !== e.agent_id) parts.push(`agent ${agent.name}`);
  if (typeof d.host === 'string') parts.push(`→ ${d.host}`);
  return parts.join(' · ') || (e.target_id ? shortId(e.target_id) : '—');
}

function actorOf(e: AuditEvent, names: Names): string {
  const agent = names.agents.get(e.actor);
  return agent ? `agent ${agent.name}` : shortId(e.actor);
}

const tones = { success: 'good', denied: 'bad', failure: 'warn' } as const;

export function EventsTable({ events, names }: { events: AuditEvent[]; names: Names }) {
  return (
    <Table columns={[{ label: 'Seq', num: true }, 'When', 'Event', 'Actor', 'Subject', 'Outcome']} className="table compact events" testId="audit-events">
      {events.map((e) => (
        <tr key={e.seq} data-type={e.type}>
          <td data-label="Seq" className="num">
            {e.seq}
          </td>
          <td data-label="When">
            <RelativeTime iso={e.time} />
          </td>
          <td data-label="Event" className="mono">
            {e.type}
          </td>
          <td data-label="Actor" title={e.actor}>
            {actorOf(e, names)}
          </td>
          <td data-label="Subject">{subjectOf(e, names)}</td>
          <td data-label="Outcome">
            <Badge tone={tones[e.outcome]}>{e.outcome}</Badge>
            {e.reason && <span className="muted"> {e.reason}</span>}
          </td>
        </tr>
      ))}
    </Table>
  );
}
