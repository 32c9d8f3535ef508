// The value of each credential type (SPEC §10) as form fields: secrets in password inputs, read once and cleared.
import type { CredentialType } from '../../../src/sdk/index.js';
import { parseList } from '../format.js';

export const credentialTypes: readonly { type: CredentialType; label: string }[] = [
  { type: 'static', label: 'Static value (API key, token)' },
  { type: 'aws_sigv4', label: 'AWS access key (SigV4 signing)' },
  { type: 'oauth2', label: 'OAuth 2 client (refreshed access tokens)' },
];

export function TypeField({ id, value, onChange }: { id: string; value: CredentialType; onChange(type: CredentialType): void }) {
  return (
    <div className="field">
      <label htmlFor={id}>Type</label>
      <select id={id} name="type" value={value} onChange={(e) => onChange(e.currentTarget.value as CredentialType)} aria-describedby={`${id}-help`}>
        {credentialTypes.map((t) => (
          <option key={t.type} value={t.type}>
            {t.label}
          </option>
        ))}
      </select>
      <p className="help" id={`${id}-help`}>
        Cannot be changed later.
      </p>
    </div>
  );
}

interface ValueInput {
  name: string;
  label: string;
  secret: boolean;
  required: boolean;
  placeholder?: string;
}

/** The JSON fields of each non-static value, in the order a provider's console shows them. */
const valueInputs: Record<Exclude<CredentialType, 'static'>, ValueInput[]> = {
  aws_sigv4: [
    { name: 'access_key_id', label: 'Access key id', secret: true, required: true },
    { name: 'secret_access_key', label: 'Secret access key', secret: true, required: true },
    { name: 'session_token', label: 'Session token (optional)', secret: true, required: false },
  ],
  oauth2: [
    { name: 'token_url', label: 'Token URL', secret: false, required: true, placeholder: 'https://auth.example.com/oauth/token' },
    { name: 'client_id', label: 'Client id', secret: false, required: true },
    { name: 'client_secret', label: 'Client secret (optional)', secret: true, required: false },
    { name: 'refresh_token', label: 'Refresh token (optional: without it, the client credentials grant)', secret: true, required: false },
    { name: 'scopes', label: 'Scopes (optional)', secret: false, required: false, placeholder: 'read write' },
  ],
};

/** The inputs of a non-static value; `idPrefix` keeps ids unique when two forms are on one page. */
export function TypedValueFields({ type, idPrefix }: { type: Exclude<CredentialType, 'static'>; idPrefix: string }) {
  return (
    <div className="form-row">
      {valueInputs[type].map((f) => (
        <div className="field grow" key={f.name}>
          <label htmlFor={`${idPrefix}-${f.name}`}>{f.label}</label>
          <input
            id={`${idPrefix}-${f.name}`}
            name={`value_${f.name}`}
            type={f.secret ? 'password' : 'text'}
            required={f.required}
            placeholder={f.placeholder}
            autoComplete="off"
            spellCheck={false}
          />
        </div>
      ))}
    </div>
  );
}

/**
 * The value object of a non-static secret, read from the form; its password inputs are emptied
 * whatever happens next, so the value does not linger in the page.
 */
export function typedValueFrom(type: Exclude<CredentialType, 'static'>, form: HTMLFormElement): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const f of valueInputs[type]) {
    const input = form.elements.namedItem(`value_${f.name}`) as HTMLInputElement | null;
    if (!input) continue;
    const text = f.secret ? input.value : input.value.trim();
    if (f.secret) input.value = '';
    if (text === '') continue;
    value[f.name] = f.name === 'scopes' ? parseList(text) : text;
  }
  return value;
}

/** Regions and services an aws_sigv4 secret may sign for. */
export function ScopeFields({ idPrefix, regions = [], services = [] }: { idPrefix: string; regions?: readonly string[]; services?: readonly string[] }) {
  return (
    <div className="form-row">
      <div className="field grow">
        <label htmlFor={`${idPrefix}-regions`}>Regions</label>
        <input id={`${idPrefix}-regions`} name="regions" required defaultValue={regions.join(', ')} placeholder="eu-west-1, us-east-1" spellCheck={false} autoComplete="off" />
      </div>
      <div className="field grow">
        <label htmlFor={`${idPrefix}-services`}>Services</label>
        <input id={`${idPrefix}-services`} name="services" required defaultValue={services.join(', ')} placeholder="s3, sqs" spellCheck={false} autoComplete="off" />
      </div>
    </div>
  );
}

export function scopeFrom(data: FormData): { regions: string[]; services: string[] } {
  return { regions: parseList(String(data.get('regions') ?? '')), services: parseList(String(data.get('services') ?? '')) };
}
