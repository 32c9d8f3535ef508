// Changing a secret: rotate its value, or its domains, surfaces and description. Both guard with If-Match.
import { useState, type FormEvent } from 'react';
import type { Secret } from '../../../src/sdk/index.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { DomainsField, InjectField, restrictionProblem, surfacesFrom, UnrestrictedField } from '../components/SecretFields.js';
import { SubmitButton } from '../components/SubmitButton.js';
import { parseList } from '../format.js';
import { useAction } from '../hooks.js';

export function RotateForm({ secret, onChanged }: { secret: Secret; onChanged(): void }) {
  const action = useAction();
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const input = event.currentTarget.elements.namedItem('value') as HTMLInputElement;
    const value = input.value;
    input.value = '';
    if (await action.run((c) => c.secrets.update(secret.id, { value }, { ifVersion: secret.version }))) onChanged();
  }
  return (
    <form className="card form-card" onSubmit={submit} aria-labelledby="rotate-title" autoComplete="off">
      <h2 id="rotate-title">Rotate value</h2>
      <div className="form-row">
        <div className="field grow">
          <label htmlFor="rotate-value">New value</label>
          <input id="rotate-value" name="value" type="password" required autoComplete="off" spellCheck={false} aria-describedby="rotate-help" />
          <p className="help" id="rotate-help">
            Makes version {secret.version + 1}. Running agents use it on their next request; the field is cleared after sending.
          </p>
        </div>
        <div className="field-action">
          <SubmitButton pending={action.pending}>Rotate</SubmitButton>
        </div>
      </div>
      <ErrorNote message={action.error} />
    </form>
  );
}

export function SettingsForm({ secret, onChanged }: { secret: Secret; onChanged(): void }) {
  const action = useAction();
  const [invalid, setInvalid] = useState<string | null>(null);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const description = String(data.get('description') ?? '').trim();
    const allowedDomains = parseList(String(data.get('allowed_domains') ?? ''));
    // Removing the last domain makes the secret unrestricted: only with the box ticked (already ticked when it was).
    const problem = restrictionProblem(allowedDomains, data);
    setInvalid(problem);
    if (problem !== null) return;
    const body = {
      allowed_domains: allowedDomains,
      inject_in: surfacesFrom(data),
      description: description === '' ? null : description,
    };
    if (await action.run((c) => c.secrets.update(secret.id, body, { ifVersion: secret.version }))) onChanged();
  }
  return (
    <form className="card form-card" onSubmit={submit} aria-labelledby="settings-title">
      <h2 id="settings-title">Domains and injection</h2>
      <div className="form-row">
        <DomainsField id="edit-domains" defaultValue={secret.allowed_domains} />
        <InjectField idPrefix="edit-inject" defaultValue={secret.inject_in} />
      </div>
      <div className="form-row">
        <UnrestrictedField id="edit-unrestricted" defaultChecked={secret.allowed_domains.length === 0} />
      </div>
      <div className="form-row end">
        <div className="field grow">
          <label htmlFor="edit-description">Description</label>
          <input id="edit-description" name="description" defaultValue={secret.description ?? ''} maxLength={1024} autoComplete="off" />
        </div>
        <SubmitButton pending={action.pending}>Save changes</SubmitButton>
      </div>
      <ErrorNote message={invalid ?? action.error} />
    </form>
  );
}
