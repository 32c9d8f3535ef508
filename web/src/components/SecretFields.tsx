// Form parts shared by the create and edit forms of a secret: domains, the explicit "unrestricted", where the proxy may inject.
import type { Secret } from '../../../src/sdk/index.js';

type InjectSurface = Secret['inject_in'][number];
// Repeated here rather than imported: the contract's list is a runtime value beside TypeBox schemas.
export const injectSurfaces: readonly InjectSurface[] = ['header', 'path', 'query', 'body', 'websocket'];

export function surfacesFrom(data: FormData): InjectSurface[] {
  return injectSurfaces.filter((s) => data.get(`inject_${s}`) === 'on');
}

export function DomainsField({ id, defaultValue }: { id: string; defaultValue?: readonly string[] }) {
  return (
    <div className="field grow">
      <label htmlFor={id}>Allowed domains</label>
      <textarea id={id} name="allowed_domains" rows={2} defaultValue={defaultValue?.join('\n')} placeholder="api.stripe.com&#10;*.example.com" aria-describedby={`${id}-help`} spellCheck={false} />
      <p className="help" id={`${id}-help`}>
        One per line. The proxy puts the value only into requests to these hosts; the agent sees a placeholder. Empty only for an unrestricted secret: tick
        the box below.
      </p>
    </div>
  );
}

/** No allowed domain means agents get the real value: the form sends that only when this box says so. */
export function UnrestrictedField({ id, defaultChecked = false }: { id: string; defaultChecked?: boolean }) {
  return (
    <div className="field grow">
      <label className="check" htmlFor={id}>
        <input type="checkbox" id={id} name="unrestricted" defaultChecked={defaultChecked} aria-describedby={`${id}-warning`} />
        Unrestricted: deliver the real value to agents' environments
      </label>
      <p className="help warning" id={`${id}-warning`}>
        Used only when no allowed domain is given. Agents then hold the value itself, not a placeholder, and can send it anywhere: the proxy cannot protect it.
      </p>
    </div>
  );
}

export const unrestrictedUnconfirmed = 'No allowed domains: add one, or tick "Unrestricted" to deliver the real value to agents\' environments.';

/** Why the form must not be sent (no domain and no tick), or `null`. */
export function restrictionProblem(allowedDomains: readonly string[], data: FormData): string | null {
  return allowedDomains.length > 0 || data.get('unrestricted') === 'on' ? null : unrestrictedUnconfirmed;
}

export function InjectField({ idPrefix, defaultValue = ['header'] }: { idPrefix: string; defaultValue?: readonly InjectSurface[] }) {
  return (
    <fieldset className="field checks">
      <legend>Inject in</legend>
      {injectSurfaces.map((s) => (
        <label key={s} className="check" htmlFor={`${idPrefix}-${s}`}>
          <input type="checkbox" id={`${idPrefix}-${s}`} name={`inject_${s}`} defaultChecked={defaultValue.includes(s)} />
          {s}
        </label>
      ))}
    </fieldset>
  );
}
