// Explicit grants: one secret for one agent, without attaching its whole vault.
import type { FormEvent } from 'react';
import type { Agent } from '../../../../src/sdk/index.js';
import { ErrorNote } from '../../components/ErrorNote.js';
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

  async function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const secretId = String(new FormData(event.currentTarget).get('secret_id') ?? '');
    if (secretId) done(await action.run((c) => c.grants.create(agent.id, secretId)));
  }

  return (
    <section className="card" aria-labelledby="grants-title">
      <h2 id="grants-title">Grants</h2>
      <ErrorNote message={grants.error} />
      {grants.data?.length === 0 && <p className="empty">No explicit grant.</p>}
      {grants.data && grants.data.length > 0 && (
        <ul className="item-list">
          {grants.data.map((g) => {
            const s = secrets.get(g.secret_id);
            const name = s ? `${s.env_key} (${s.vault_name})` : g.secret_id;
            return (
              <li key={g.grant_id}>
                <span>
                  <span className="mono">{s?.env_key ?? g.secret_id}</span> {s && <span className="muted">in {s.vault_name}</span>} · <RelativeTime iso={g.created_at} />
                </span>
                <button type="button" className="button secondary small" aria-label={`Revoke grant of ${name}`} disabled={action.pending} onClick={() => void action.run((c) => c.grants.delete(g.grant_id)).then(done)}>
                  Revoke
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <form className="inline-form" onSubmit={add}>
        <label htmlFor="grant-secret">Grant a secret</label>
        <select id="grant-secret" name="secret_id" disabled={choices.length === 0}>
          {choices.length === 0 && <option value="">No secret to grant</option>}
          {choices.map((s) => (
            <option key={s.id} value={s.id}>
              {s.env_key} — {s.vault_name}
            </option>
          ))}
        </select>
        <button type="submit" className="button primary small" disabled={action.pending || choices.length === 0}>
          Grant
        </button>
      </form>
      <ErrorNote message={action.error} />
    </section>
  );
}
