// Explicit grants: one secret for one agent, without attaching its whole vault.
import type { Agent } from '../../../../src/sdk/index.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { ListItem, PickForm } from '../../components/ItemList.js';
import { Listing } from '../../components/Listing.js';
import { RelativeTime } from '../../components/RelativeTime.js';
import { useAction, useLoad } from '../../hooks.js';
import type { OrgSecrets } from '../../org-secrets.js';

export function AgentGrants({ agent, org, onChanged }: { agent: Agent; org: OrgSecrets | undefined; onChanged(): void }) {
  const grants = useLoad((c) => c.grants.all({ agent_id: agent.id }), [agent.id]);
  const action = useAction();
  const secrets = new Map(org?.secrets.map((s) => [s.id, s]));
  const granted = new Set(grants.data?.map((g) => g.secret_id));
  const choices = org?.secrets.filter((s) => !granted.has(s.id)) ?? [];
  const done = (ok: boolean) => {
    if (!ok) return;
    grants.reload();
    onChanged();
  };

  return (
    <section className="card" aria-labelledby="grants-title">
      <h2 id="grants-title">Grants</h2>
      <ErrorNote message={grants.error} />
      <Listing items={grants.data} empty="No explicit grant.">
        {(all) => (
          <ul className="item-list">
            {all.map((g) => {
              const s = secrets.get(g.secret_id);
              const name = s ? `${s.env_key} (${s.vault_name})` : g.secret_id;
              return (
                <ListItem key={g.grant_id} action="Revoke" actionLabel={`Revoke grant of ${name}`} pending={action.pending} onAction={() => void action.run((c) => c.grants.delete(g.grant_id)).then(done)}>
                  <span className="mono">{s?.env_key ?? g.secret_id}</span> {s && <span className="muted">in {s.vault_name}</span>} · <RelativeTime iso={g.created_at} />
                </ListItem>
              );
            })}
          </ul>
        )}
      </Listing>
      <PickForm
        id="grant-secret"
        name="secret_id"
        label="Grant a secret"
        none="No secret to grant"
        choices={choices.map((s) => ({ value: s.id, label: `${s.env_key} — ${s.vault_name}` }))}
        submit="Grant"
        pending={action.pending}
        onPick={async (secretId) => done(await action.run((c) => c.grants.create(agent.id, secretId)))}
      />
      <ErrorNote message={action.error} />
    </section>
  );
}
