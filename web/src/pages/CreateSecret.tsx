// The new-secret form: the value goes from password fields straight to the API and is never shown.
import { useState, type FormEvent } from 'react';
import type { CredentialType } from '../../../src/sdk/index.js';
import { ScopeFields, scopeFrom, TypedValueFields, typedValueFrom, TypeField } from '../components/CredentialFields.js';
import { RateLimitField, rateLimitFrom, RulesEditor, rulesFrom } from '../components/RuleFields.js';
import { DomainsField, InjectField, restrictionProblem, surfacesFrom, UnrestrictedField } from '../components/SecretFields.js';
import { SubmitButton } from '../components/SubmitButton.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { parseLabels, parseList } from '../format.js';
import { useAction } from '../hooks.js';

const typedNeedsDomain = 'An AWS or OAuth 2 secret is only used through the proxy: give at least one allowed domain.';

export function CreateSecret({ vaultId, onCreated }: { vaultId: string; onCreated(): void }) {
  const action = useAction();
  const [invalid, setInvalid] = useState<string | null>(null);
  const [type, setType] = useState<CredentialType>('static');

  /** Read once; every secret input is emptied whatever the outcome: a value must not linger. */
  function takeValue(form: HTMLFormElement): string | Record<string, unknown> {
    if (type !== 'static') return typedValueFrom(type, form);
    const input = form.elements.namedItem('value') as HTMLInputElement;
    const value = input.value;
    input.value = '';
    return value;
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const value = takeValue(form);
    const labels = parseLabels(String(data.get('labels') ?? ''));
    const allowedDomains = parseList(String(data.get('allowed_domains') ?? ''));
    const problem = typeof labels === 'string' ? labels : type === 'static' ? restrictionProblem(allowedDomains, data) : allowedDomains.length === 0 ? typedNeedsDomain : null;
    setInvalid(problem);
    if (problem !== null || typeof labels === 'string') return;
    const description = String(data.get('description') ?? '').trim();
    const ok = await action.run((c) =>
      c.secrets.create(vaultId, {
        env_key: String(data.get('env_key') ?? '').trim(),
        value,
        type,
        allowed_domains: allowedDomains,
        // An aws_sigv4 secret signs the Authorization header; it has no surfaces to choose.
        ...(type === 'aws_sigv4' ? scopeFrom(data) : { inject_in: surfacesFrom(data) }),
        rules: rulesFrom(data),
        rate_limit: rateLimitFrom(data),
        labels,
        revealable: data.get('revealable') === 'on',
        ...(description ? { description } : {}),
      }),
    );
    if (ok) {
      form.reset();
      setType('static');
      onCreated();
    }
  }

  return (
    <form className="card form-card" onSubmit={submit} aria-labelledby="new-secret-title" autoComplete="off">
      <h2 id="new-secret-title">New secret</h2>
      <div className="form-row">
        <div className="field">
          <label htmlFor="secret-env-key">{type === 'aws_sigv4' ? 'Name prefix (env_key)' : 'Name (env_key)'}</label>
          <input
            id="secret-env-key"
            name="env_key"
            required
            maxLength={256}
            pattern="[A-Za-z_][A-Za-z0-9_]*"
            title="Letters, digits and _, not starting with a digit"
            placeholder={type === 'aws_sigv4' ? 'AWS' : 'STRIPE_KEY'}
            spellCheck={false}
            autoComplete="off"
            aria-describedby={type === 'aws_sigv4' ? 'secret-env-key-help' : undefined}
          />
          {type === 'aws_sigv4' && (
            <p className="help" id="secret-env-key-help">
              AWS gives the agent AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) placeholders.
            </p>
          )}
        </div>
        <TypeField id="secret-type" value={type} onChange={setType} />
        {type === 'static' && (
          <div className="field grow">
            <label htmlFor="secret-value">Value</label>
            <input id="secret-value" name="value" type="password" required autoComplete="off" spellCheck={false} aria-describedby="secret-value-help" />
            <p className="help" id="secret-value-help">
              Sent once to the vault and cleared from this form. It is never shown again unless the secret is revealable.
            </p>
          </div>
        )}
      </div>
      {type !== 'static' && <TypedValueFields type={type} idPrefix="secret-value" />}
      {type === 'aws_sigv4' && <ScopeFields idPrefix="secret-scope" />}
      <div className="form-row">
        <DomainsField id="secret-domains" />
        {type !== 'aws_sigv4' && <InjectField idPrefix="secret-inject" />}
      </div>
      {type === 'static' && (
        <div className="form-row">
          <UnrestrictedField id="secret-unrestricted" />
        </div>
      )}
      <div className="form-row">
        <RulesEditor idPrefix="secret-rules" />
        <RateLimitField idPrefix="secret-rate" />
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
