// The vaults attached to an agent: every secret inside reaches the agent under its env_key.
import type { Agent } from '../../../../src/sdk/index.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { ListItem, PickForm } from '../../components/ItemList.js';
import { Listing } from '../../components/Listing.js';
import { useAction } from '../../hooks.js';
import type { OrgSecrets } from '../../org-secrets.js';
import { href } from '../../router.js';

export function AgentVaults({ agent, org, onChanged }: { agent: Agent; org: OrgSecrets | undefined; onChanged(): void }) {
  const action = useAction();
  const byId = new Map(org?.vaults.map((v) => [v.id, v]));
  const free = org?.vaults.filter((v) => !agent.vault_ids.includes(v.id)) ?? [];

  return (
    <section className="card" aria-labelledby="agent-vaults-title">
      <h2 id="agent-vaults-title">Attached vaults</h2>
      <Listing items={agent.vault_ids} empty="No vault attached.">
        {(ids) => (
          <ul className="item-list">
            {ids.map((id) => {
              const v = byId.get(id);
              const name = v?.name ?? id;
              return (
                <ListItem key={id} action="Detach" actionLabel={`Detach vault ${name}`} pending={action.pending} onAction={() => void action.run((c) => c.agents.detach(agent.id, id)).then((ok) => ok && onChanged())}>
                  <a href={href.vault(id)}>{name}</a> {v && <span className="muted">({v.secret_count} secrets)</span>}
                </ListItem>
              );
            })}
          </ul>
        )}
      </Listing>
      <PickForm
        id="attach-vault"
        name="vault_id"
        label="Attach a vault"
        none="No other vault"
        choices={free.map((v) => ({ value: v.id, label: v.name }))}
        submit="Attach"
        pending={action.pending}
        onPick={async (vaultId) => {
          if (await action.run((c) => c.agents.attach(agent.id, vaultId))) onChanged();
        }}
      />
      <ErrorNote message={action.error} />
    </section>
  );
}
