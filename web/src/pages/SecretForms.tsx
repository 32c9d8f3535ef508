// Changing a secret: rotate its value, or its domains, surfaces, rules, rate limit, AWS scope and description. Both guard with If-Match.
import { useState, type FormEvent } from 'react';
import type { Secret } from '../../../src/sdk/index.js';
import { ScopeFields, scopeFrom, TypedValueFields, typedValueFrom } from '../components/CredentialFields.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { RateLimitField, rateLimitFrom, RulesEditor, rulesFrom } from '../components/RuleFields.js';
import { DomainsField, InjectField, restrictionProblem, surfacesFrom, UnrestrictedField } from '../components/SecretFields.js';
import { SubmitButton } from '../components/SubmitButton.js';
import { parseList } from '../format.js';
import { useAction } from '../hooks.js';

export function RotateForm({ secret, onChanged }: { secret: Secret; onChanged(): void }) {
  const action = useAction();
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    let value: string | Record<string, unknown>;
    if (secret.type === 'static') {
      const input = form.elements.namedItem('value') as HTMLInputElement;
      value = input.value;
      input.value = '';
    } else {
      // A typed value is replaced whole: every field, including the optional ones, comes from this form.
      value = typedValueFrom(secret.type, form);
    }
    if (await action.run((c) => c.secrets.update(secret.id, { value }, { ifVersion: secret.version }))) onChanged();
  }
  return (
    <form className="card form-card" onSubmit={submit} aria-labelledby="rotate-title" autoComplete="off">
      <h2 id="rotate-title">Rotate value</h2>
      {secret.type === 'static' ? (
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
      ) : (
        <>
          <p className="help" id="rotate-help">
            Replaces the whole value (version {secret.version + 1}): fill in every field you use. Secret fields are cleared after sending.
          </p>
          <TypedValueFields type={secret.type} idPrefix="rotate" />
          <div className="form-row end">
            <span />
            <SubmitButton pending={action.pending}>Rotate</SubmitButton>
          </div>
        </>
      )}
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
    // A typed secret always has a domain: the API says so if the last one is removed.
    const problem = secret.type === 'static' ? restrictionProblem(allowedDomains, data) : null;
    setInvalid(problem);
    if (problem !== null) return;
    const body = {
      allowed_domains: allowedDomains,
      ...(secret.type === 'aws_sigv4' ? scopeFrom(data) : { inject_in: surfacesFrom(data) }),
      rules: rulesFrom(data),
      rate_limit: rateLimitFrom(data),
      description: description === '' ? null : description,
    };
    if (await action.run((c) => c.secrets.update(secret.id, body, { ifVersion: secret.version }))) onChanged();
  }
  return (
    <form className="card form-card" onSubmit={submit} aria-labelledby="settings-title">
      <h2 id="settings-title">Domains, rules and limits</h2>
      <div className="form-row">
        <DomainsField id="edit-domains" defaultValue={secret.allowed_domains} />
        {secret.type !== 'aws_sigv4' && <InjectField idPrefix="edit-inject" defaultValue={secret.inject_in} />}
      </div>
      {secret.type === 'aws_sigv4' && <ScopeFields idPrefix="edit-scope" regions={secret.regions} services={secret.services} />}
      {secret.type === 'static' && (
        <div className="form-row">
          <UnrestrictedField id="edit-unrestricted" defaultChecked={secret.allowed_domains.length === 0} />
        </div>
      )}
      <div className="form-row">
        <RulesEditor idPrefix="edit-rules" defaultValue={secret.rules} />
        <RateLimitField idPrefix="edit-rate" defaultValue={secret.rate_limit} />
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
