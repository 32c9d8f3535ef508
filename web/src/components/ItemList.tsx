// Short lists of what an agent holds (vaults, grants, variables, tokens): one entry each with the button that undoes it, and the form that adds one.
import type { FormEvent, ReactNode } from 'react';

/** One entry: what it is, and the button acting on it (none without `onAction`). */
export function ListItem({ children, action, actionLabel, pending, onAction }: { children: ReactNode; action: string; actionLabel: string; pending: boolean; onAction?: () => void }) {
  return (
    <li>
      <span>{children}</span>
      {onAction && (
        <button type="button" className="button secondary small" aria-label={actionLabel} disabled={pending} onClick={onAction}>
          {action}
        </button>
      )}
    </li>
  );
}

interface Choice {
  value: string;
  label: string;
}

/** A one-select inline form: `onPick` gets the chosen value; with no choice left it shows `none` and is disabled. */
export function PickForm({ id, name, label, none, choices, submit, pending, onPick }: { id: string; name: string; label: string; none: string; choices: Choice[]; submit: string; pending: boolean; onPick(value: string): Promise<void> }) {
  async function pick(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const value = String(new FormData(event.currentTarget).get(name) ?? '');
    if (value) await onPick(value);
  }
  return (
    <form className="inline-form" onSubmit={pick}>
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} disabled={choices.length === 0}>
        {choices.length === 0 && <option value="">{none}</option>}
        {choices.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
      <button type="submit" className="button primary small" disabled={pending || choices.length === 0}>
        {submit}
      </button>
    </form>
  );
}
