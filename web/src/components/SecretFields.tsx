// Form parts shared by the create and edit forms of a secret: domains and where the proxy may inject.
import type { Secret } from '../../../src/sdk/index.js';

type InjectSurface = Secret['inject_in'][number];
// Repeated here rather than imported: the contract's list is a runtime value beside TypeBox schemas.
export const injectSurfaces: readonly InjectSurface[] = ['header', 'path', 'query', 'body'];

export function surfacesFrom(data: FormData): InjectSurface[] {
  return injectSurfaces.filter((s) => data.get(`inject_${s}`) === 'on');
}

export function DomainsField({ id, defaultValue }: { id: string; defaultValue?: readonly string[] }) {
  return (
    <div className="field grow">
      <label htmlFor={id}>Allowed domains</label>
      <textarea id={id} name="allowed_domains" rows={2} defaultValue={defaultValue?.join('\n')} placeholder="api.stripe.com&#10;*.example.com" aria-describedby={`${id}-help`} spellCheck={false} />
      <p className="help" id={`${id}-help`}>
        One per line. The proxy puts the value only into requests to these hosts; the agent sees a placeholder. Leave empty for an unrestricted secret, injected
        as its real value.
      </p>
    </div>
  );
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
