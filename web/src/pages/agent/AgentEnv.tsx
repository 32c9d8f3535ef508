// An agent's own configuration: plaintext variables and variables that name a secret (env_vars).
import { useState, type FormEvent } from 'react';
import type { Agent } from '../../../../src/sdk/index.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { ListItem } from '../../components/ItemList.js';
import { Listing } from '../../components/Listing.js';
import { SubmitButton } from '../../components/SubmitButton.js';
import { formatEnv, parseEnv } from '../../format.js';
import { useAction } from '../../hooks.js';
import type { OrgSecrets } from '../../org-secrets.js';

export function AgentEnv({ agent, org, onChanged }: { agent: Agent; org: OrgSecrets | undefined; onChanged(): void }) {
  const action = useAction();
  const [invalid, setInvalid] = useState<string | null>(null);
  const secrets = new Map(org?.secrets.map((s) => [s.id, s]));

  async function savePlain(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const env = parseEnv(String(new FormData(event.currentTarget).get('env') ?? ''));
    setInvalid(typeof env === 'string' ? env : null);
    if (typeof env !== 'string' && (await action.run((c) => c.agents.update(agent.id, { env })))) onChanged();
  }

  async function addRef(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const ref = { name: String(data.get('name') ?? '').trim(), from_secret_id: String(data.get('from_secret_id') ?? '') };
    if (await action.run((c) => c.agents.update(agent.id, { env_vars: [...agent.env_vars, ref] }))) {
      form.reset();
      onChanged();
    }
  }

  const removeRef = (name: string) =>
    void action.run((c) => c.agents.update(agent.id, { env_vars: agent.env_vars.filter((e) => e.name !== name) })).then((ok) => ok && onChanged());

  return (
    <section className="card" aria-labelledby="agent-env-title">
      <h2 id="agent-env-title">Configuration</h2>
      <form onSubmit={savePlain} className="stack">
        <div className="field">
          <label htmlFor="agent-env">Plaintext variables</label>
          <textarea id="agent-env" name="env" rows={4} defaultValue={formatEnv(agent.env)} spellCheck={false} aria-describedby="agent-env-help" className="mono" />
          <p className="help" id="agent-env-help">
            One <code>NAME=value</code> per line. For configuration only: these are stored and shown in clear. Put credentials in a vault.
          </p>
        </div>
        <div>
          <SubmitButton pending={action.pending} small>
            Save variables
          </SubmitButton>
        </div>
      </form>

      <h3>Variables from secrets</h3>
      <Listing items={agent.env_vars} empty="None: secrets reach this agent through attached vaults and grants.">
        {(refs) => (
          <ul className="item-list">
            {refs.map((e) => {
              const s = secrets.get(e.from_secret_id);
              return (
                <ListItem key={e.name} action="Remove" actionLabel={`Remove variable ${e.name}`} pending={action.pending} onAction={() => removeRef(e.name)}>
                  <span className="mono">{e.name}</span> ← <span className="mono">{s?.env_key ?? e.from_secret_id}</span> {s && <span className="muted">in {s.vault_name}</span>}
                </ListItem>
              );
            })}
          </ul>
        )}
      </Listing>
      <form className="inline-form" onSubmit={addRef}>
        <label htmlFor="ref-name">Variable</label>
        <input id="ref-name" name="name" required pattern="[A-Za-z_][A-Za-z0-9_]*" placeholder="GITHUB_TOKEN" spellCheck={false} autoComplete="off" />
        <label htmlFor="ref-secret">from secret</label>
        <select id="ref-secret" name="from_secret_id" required>
          {org?.secrets.map((s) => (
            <option key={s.id} value={s.id}>
              {s.env_key} — {s.vault_name}
            </option>
          ))}
        </select>
        <button type="submit" className="button primary small" disabled={action.pending || !org?.secrets.length}>
          Add
        </button>
      </form>
      <ErrorNote message={invalid ?? action.error} />
    </section>
  );
}
