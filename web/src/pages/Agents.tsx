// Agents: the list with status and attached vaults, and the form to create one.
import type { FormEvent } from 'react';
import { Badge } from '../components/Badge.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { Listing } from '../components/Listing.js';
import { PageHeader } from '../components/PageHeader.js';
import { RelativeTime } from '../components/RelativeTime.js';
import { SubmitButton } from '../components/SubmitButton.js';
import { Table } from '../components/Table.js';
import { useAction, useLoad } from '../hooks.js';
import { href, navigate } from '../router.js';

function CreateAgent() {
  const action = useAction();
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget).get('name') ?? '').trim();
    let id = '';
    const ok = await action.run(async (c) => {
      id = (await c.agents.create({ name })).id;
    });
    if (ok) navigate(href.agent(id));
  }
  return (
    <form className="card form-card" onSubmit={submit} aria-labelledby="new-agent-title">
      <h2 id="new-agent-title">New agent</h2>
      <div className="form-row">
        <div className="field grow">
          <label htmlFor="agent-name">Name</label>
          <input id="agent-name" name="name" required maxLength={128} placeholder="researcher" autoComplete="off" spellCheck={false} />
        </div>
        <div className="field-action">
          <SubmitButton pending={action.pending}>Create agent</SubmitButton>
        </div>
      </div>
      <p className="help">Next, on the agent's page: attach vaults, deploy it and mint a token for it.</p>
      <ErrorNote message={action.error} />
    </form>
  );
}

export function AgentsPage() {
  const agents = useLoad((c) => c.agents.all(), []);
  return (
    <>
      <PageHeader title="Agents" subtitle="Workloads that use secrets: they get placeholders, the proxy puts values in only for allowed hosts." />
      <CreateAgent />
      <section className="card" aria-labelledby="agent-list-title">
        <h2 id="agent-list-title">All agents</h2>
        <ErrorNote message={agents.error} />
        <Listing items={agents.data} empty="No agents yet.">
          {(all) => (
            <Table columns={['Name', 'Status', { label: 'Vaults', num: true }, { label: 'Variables', num: true }, 'Updated']}>
              {all.map((a) => (
                <tr key={a.id}>
                  <td data-label="Name">
                    <a className="strong-link" href={href.agent(a.id)}>
                      {a.name}
                    </a>
                  </td>
                  <td data-label="Status">
                    <Badge tone={a.status === 'deployed' ? 'good' : 'neutral'}>{a.status}</Badge>
                  </td>
                  <td data-label="Vaults" className="num">
                    {a.vault_ids.length}
                  </td>
                  <td data-label="Variables" className="num">
                    {Object.keys(a.env).length + a.env_vars.length}
                  </td>
                  <td data-label="Updated">
                    <RelativeTime iso={a.updated_at} />
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </Listing>
      </section>
    </>
  );
}
