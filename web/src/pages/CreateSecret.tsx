// The new-secret form: the value goes from a password field straight to the API and is never shown.
import { useState, type FormEvent } from 'react';
import { DomainsField, InjectField, restrictionProblem, surfacesFrom, UnrestrictedField } from '../components/SecretFields.js';
import { SubmitButton } from '../components/SubmitButton.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { parseLabels, parseList } from '../format.js';
import { useAction } from '../hooks.js';

export function CreateSecret({ vaultId, onCreated }: { vaultId: string; onCreated(): void }) {
  const action = useAction();
  const [invalid, setInvalid] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    // The value is read once, then the field is emptied whatever the outcome: it must not linger.
    const valueInput = form.elements.namedItem('value') as HTMLInputElement;
    const value = valueInput.value;
    valueInput.value = '';
    const labels = parseLabels(String(data.get('labels') ?? ''));
    const allowedDomains = parseList(String(data.get('allowed_domains') ?? ''));
    const problem = typeof labels === 'string' ? labels : restrictionProblem(allowedDomains, data);
    setInvalid(problem);
    if (problem !== null || typeof labels === 'string') return;
    const description = String(data.get('description') ?? '').trim();
    const ok = await action.run((c) =>
      c.secrets.create(vaultId, {
        env_key: String(data.get('env_key') ?? '').trim(),
        value,
        allowed_domains: allowedDomains,
        inject_in: surfacesFrom(data),
        labels,
        revealable: data.get('revealable') === 'on',
        ...(description ? { description } : {}),
      }),
    );
    if (ok) {
      form.reset();
      onCreated();
    }
  }

  return (
    <form className="card form-card" onSubmit={submit} aria-labelledby="new-secret-title" autoComplete="off">
      <h2 id="new-secret-title">New secret</h2>
      <div className="form-row">
        <div className="field">
          <label htmlFor="secret-env-key">Name (env_key)</label>
          <input id="secret-env-key" name="env_key" required maxLength={256} pattern="[A-Za-z_][A-Za-z0-9_]*" title="Letters, digits and _, not starting with a digit" placeholder="STRIPE_KEY" spellCheck={false} autoComplete="off" />
        </div>
        <div className="field grow">
          <label htmlFor="secret-value">Value</label>
          <input id="secret-value" name="value" type="password" required autoComplete="off" spellCheck={false} aria-describedby="secret-value-help" />
          <p className="help" id="secret-value-help">
            Sent once to the vault and cleared from this form. It is never shown again unless the secret is revealable.
          </p>
        </div>
      </div>
      <div className="form-row">
        <DomainsField id="secret-domains" />
        <InjectField idPrefix="secret-inject" />
      </div>
      <div className="form-row">
        <UnrestrictedField id="secret-unrestricted" />
      </div>
      <div className="form-row">
        <div className="field grow">
          <label htmlFor="secret-labels">Labels (optional)</label>
          <input id="secret-labels" name="labels" placeholder="team=payments, tier=prod" spellCheck={false} autoComplete="off" />
        </div>
        <div className="field grow">
          <label htmlFor="secret-description">Description (optional)</label>
          <input id="secret-description" name="description" maxLength={1024} autoComplete="off" />
        </div>
      </div>
      <div className="form-row end">
        <label className="check" htmlFor="secret-revealable">
          <input type="checkbox" id="secret-revealable" name="revealable" />
          Revealable: operators may reveal the value later (audited). Cannot be changed afterwards.
        </label>
        <SubmitButton pending={action.pending}>Create secret</SubmitButton>
      </div>
      <ErrorNote message={invalid ?? action.error} />
    </form>
  );
}
