// What the agent's environment holds, by name: a real value or a placeholder, and where each comes from.
import type { EnvironmentEntry } from '../../../../src/sdk/index.js';
import { Badge } from '../../components/Badge.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Listing } from '../../components/Listing.js';
import { Table } from '../../components/Table.js';
import type { Loaded } from '../../hooks.js';
import type { OrgSecrets } from '../../org-secrets.js';

const sources: Record<EnvironmentEntry['source'], string> = {
  env: 'plaintext variable',
  env_var: 'variable from a secret',
  grant: 'grant',
  attached_vault: 'attached vault',
};

export function AgentEnvironment({ environment, org }: { environment: Loaded<EnvironmentEntry[]>; org: OrgSecrets | undefined }) {
  const vaults = new Map(org?.vaults.map((v) => [v.id, v.name]));
  const entries = environment.data && [...environment.data].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section className="card" aria-labelledby="effective-title">
      <h2 id="effective-title">Effective environment</h2>
      <p className="muted">
        Names only. A <em>placeholder</em> is useless outside Vaultgate's proxy, which swaps in the value only for the secret's allowed domains; a <em>value</em> is
        the real thing, in the agent's environment.
      </p>
      <ErrorNote message={environment.error} />
      <Listing items={entries} empty="Empty: attach a vault, grant a secret or add variables.">
        {(all) => (
          <Table columns={['Variable', 'Holds', 'Source']} className="table compact" testId="effective-environment">
            {all.map((e) => (
              <tr key={e.name}>
                <td data-label="Variable" className="mono">
                  {e.name}
                </td>
                <td data-label="Holds">
                  <Badge tone={e.form === 'placeholder' ? 'good' : 'warn'}>{e.form}</Badge>
                </td>
                <td data-label="Source">
                  {sources[e.source]}
                  {e.vault_id && <span className="muted"> · {vaults.get(e.vault_id) ?? e.vault_id}</span>}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Listing>
    </section>
  );
}
