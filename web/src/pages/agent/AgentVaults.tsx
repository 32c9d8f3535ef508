// The vaults attached to an agent: every secret inside reaches the agent under its env_key.
import type { FormEvent } from 'react';
import type { Agent } from '../../../../src/sdk/index.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useAction } from '../../hooks.js';
import type { OrgSecrets } from '../../org-secrets.js';
import { href } from '../../router.js';

export function AgentVaults({ agent, org, onChanged }: { agent: Agent; org: OrgSecrets | undefined; onChanged(): void }) {
  const action = useAction();
  const byId = new Map(org?.vaults.map((v) => [v.id, v]));
  const free = org?.vaults.filter((v) => !agent.vault_ids.includes(v.id)) ?? [];

  async function attach(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const vaultId = String(new FormData(event.currentTarget).get('vault_id') ?? '');
    if (vaultId && (await action.run((c) => c.agents.attach(agent.id, vaultId)))) onChanged();
  }

  return (
    <section className="card" aria-labelledby="agent-vaults-title">
      <h2 id="agent-vaults-title">Attached vaults</h2>
      {agent.vault_ids.length === 0 ? (
        <p className="empty">No vault attached.</p>
      ) : (
        <ul className="item-list">
          {agent.vault_ids.map((id) => {
            const v = byId.get(id);
            const name = v?.name ?? id;
            return (
              <li key={id}>
                <span>
                  <a href={href.vault(id)}>{name}</a> {v && <span className="muted">({v.secret_count} secrets)</span>}
                </span>
                <button type="button" className="button secondary small" aria-label={`Detach vault ${name}`} disabled={action.pending} onClick={() => void action.run((c) => c.agents.detach(agent.id, id)).then((ok) => ok && onChanged())}>
                  Detach
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <form className="inline-form" onSubmit={attach}>
        <label htmlFor="attach-vault">Attach a vault</label>
        <select id="attach-vault" name="vault_id" disabled={free.length === 0}>
          {free.length === 0 && <option value="">No other vault</option>}
          {free.map((v) => (
            <option key={v.id} value={v.id}>
              {v.name}
            </option>
          ))}
        </select>
        <button type="submit" className="button primary small" disabled={action.pending || free.length === 0}>
          Attach
        </button>
      </form>
      <ErrorNote message={action.error} />
    </section>
  );
}
