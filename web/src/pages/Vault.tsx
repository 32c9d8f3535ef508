// One vault: its secrets' metadata (never a value) and the form to add one.
import type { Secret } from '../../../src/sdk/index.js';
import { Badge } from '../components/Badge.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { PageHeader } from '../components/PageHeader.js';
import { RelativeTime } from '../components/RelativeTime.js';
import { Domains, Labels } from '../components/SecretMeta.js';
import { useLoad } from '../hooks.js';
import { href } from '../router.js';
import { CreateSecret } from './CreateSecret.js';

function SecretsTable({ vaultId, secrets }: { vaultId: string; secrets: Secret[] }) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Allowed domains</th>
          <th scope="col">Inject in</th>
          <th scope="col" className="num">
            Version
          </th>
          <th scope="col">Labels</th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {secrets.map((s) => (
          <tr key={s.id} data-secret={s.env_key}>
            <td data-label="Name">
              <a className="strong-link mono" href={href.secret(vaultId, s.id)}>
                {s.env_key}
              </a>
              {s.revealable && (
                <>
                  {' '}
                  <Badge tone="info">revealable</Badge>
                </>
              )}
            </td>
            <td data-label="Allowed domains">
              <Domains domains={s.allowed_domains} />
            </td>
            <td data-label="Inject in">{s.inject_in.join(', ')}</td>
            <td data-label="Version" className="num">
              v{s.version}
            </td>
            <td data-label="Labels">
              <Labels labels={s.labels} />
            </td>
            <td data-label="Updated">
              <RelativeTime iso={s.updated_at} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function VaultPage({ vaultId }: { vaultId: string }) {
  const vault = useLoad((c) => c.vaults.get(vaultId), [vaultId]);
  const secrets = useLoad((c) => c.secrets.all(vaultId), [vaultId]);
  const reload = () => {
    vault.reload();
    secrets.reload();
  };
  return (
    <>
      <PageHeader title={vault.data?.name ?? 'Vault'} crumbs={[{ label: 'Vaults', href: href.vaults() }]} subtitle={vault.data?.description ?? undefined} />
      <ErrorNote message={vault.error} />
      {vault.data && (
        <>
          <section className="card" aria-labelledby="secrets-title">
            <h2 id="secrets-title">
              Secrets <span className="count">{vault.data.secret_count}</span>
            </h2>
            <ErrorNote message={secrets.error} />
            {secrets.data && secrets.data.length === 0 && <p className="empty">No secrets in this vault yet.</p>}
            {secrets.data && secrets.data.length > 0 && <SecretsTable vaultId={vaultId} secrets={secrets.data} />}
          </section>
          <CreateSecret vaultId={vaultId} onCreated={reload} />
        </>
      )}
    </>
  );
}
