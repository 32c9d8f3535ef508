// Vaults: the list with secret counts, create, rename, delete (the API's refusal shown in the row).
import { useState, type FormEvent } from 'react';
import type { Vault } from '../../../src/sdk/index.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { Listing } from '../components/Listing.js';
import { PageHeader } from '../components/PageHeader.js';
import { RelativeTime } from '../components/RelativeTime.js';
import { SubmitButton } from '../components/SubmitButton.js';
import { Table } from '../components/Table.js';
import { useAction, useLoad } from '../hooks.js';
import { href } from '../router.js';

function CreateVault({ onCreated }: { onCreated(): void }) {
  const action = useAction();
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const name = String(data.get('name') ?? '').trim();
    const description = String(data.get('description') ?? '').trim();
    const ok = await action.run((c) => c.vaults.create({ name, ...(description ? { description } : {}) }));
    if (ok) {
      form.reset();
      onCreated();
    }
  }
  return (
    <form className="card form-card" onSubmit={submit} aria-labelledby="new-vault-title">
      <h2 id="new-vault-title">New vault</h2>
      <div className="form-row">
        <div className="field">
          <label htmlFor="vault-name">Name</label>
          <input id="vault-name" name="name" required maxLength={128} placeholder="production" autoComplete="off" />
        </div>
        <div className="field grow">
          <label htmlFor="vault-description">Description (optional)</label>
          <input id="vault-description" name="description" maxLength={1024} placeholder="Payment provider keys" autoComplete="off" />
        </div>
        <div className="field-action">
          <SubmitButton pending={action.pending}>Create vault</SubmitButton>
        </div>
      </div>
      <ErrorNote message={action.error} />
    </form>
  );
}

function RenameForm({ vault, onDone }: { vault: Vault; onDone(changed: boolean): void }) {
  const action = useAction();
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget).get('name') ?? '').trim();
    if (await action.run((c) => c.vaults.update(vault.id, { name }))) onDone(true);
  }
  return (
    <form className="inline-form" onSubmit={submit}>
      <label className="visually-hidden" htmlFor={`rename-${vault.id}`}>
        New name for vault {vault.name}
      </label>
      <input id={`rename-${vault.id}`} name="name" defaultValue={vault.name} required maxLength={128} autoFocus autoComplete="off" />
      <SubmitButton pending={action.pending} small>Save</SubmitButton>
      <button type="button" className="button secondary small" onClick={() => onDone(false)}>
        Cancel
      </button>
      <ErrorNote message={action.error} />
    </form>
  );
}

function VaultRow({ vault, onChanged }: { vault: Vault; onChanged(): void }) {
  const [renaming, setRenaming] = useState(false);
  const remove = useAction();
  return (
    <tr>
      <td data-label="Name">
        {renaming ? (
          <RenameForm
            vault={vault}
            onDone={(changed) => {
              setRenaming(false);
              if (changed) onChanged();
            }}
          />
        ) : (
          <a className="strong-link" href={href.vault(vault.id)}>
            {vault.name}
          </a>
        )}
      </td>
      <td data-label="Description" className="muted">
        {vault.description ?? '—'}
      </td>
      <td data-label="Secrets" className="num">
        {vault.secret_count}
      </td>
      <td data-label="Updated">
        <RelativeTime iso={vault.updated_at} />
      </td>
      <td data-label="Actions" className="actions">
        {!renaming && (
          <button type="button" className="button secondary small" aria-label={`Rename vault ${vault.name}`} onClick={() => setRenaming(true)}>
            Rename
          </button>
        )}
        <ConfirmButton
          label={`Delete vault ${vault.name}`}
          question={`Delete ${vault.name} and its ${vault.secret_count} secret(s)? This cannot be undone.`}
          confirmText="Delete vault"
          pending={remove.pending}
          onConfirm={async () => {
            const ok = await remove.run((c) => c.vaults.delete(vault.id));
            if (ok) onChanged();
            return ok;
          }}
        >
          Delete
        </ConfirmButton>
        <ErrorNote message={remove.error} />
      </td>
    </tr>
  );
}

export function VaultsPage() {
  const vaults = useLoad((c) => c.vaults.all(), []);
  return (
    <>
      <PageHeader title="Vaults" subtitle="Groups of secrets. Attach a vault to an agent to give it every secret inside." />
      <CreateVault onCreated={vaults.reload} />
      <section className="card" aria-labelledby="vault-list-title">
        <h2 id="vault-list-title">All vaults</h2>
        <ErrorNote message={vaults.error} />
        <Listing items={vaults.data} empty="No vaults yet. Create the first one above.">
          {(all) => (
            <Table columns={['Name', 'Description', { label: 'Secrets', num: true }, 'Updated', { label: 'Actions', hidden: true }]}>
              {all.map((v) => (
                <VaultRow key={v.id} vault={v} onChanged={vaults.reload} />
              ))}
            </Table>
          )}
        </Listing>
        {vaults.loading && !vaults.data && <p className="muted">Loading…</p>}
      </section>
    </>
  );
}
