// One vault: its secrets' metadata (never a value) and the form to add one.
import type { Secret } from '../../../src/sdk/index.js';
import { Badge } from '../components/Badge.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { Listing } from '../components/Listing.js';
import { PageHeader } from '../components/PageHeader.js';
import { RelativeTime } from '../components/RelativeTime.js';
import { Domains, Labels } from '../components/SecretMeta.js';
import { Table } from '../components/Table.js';
import { useLoad } from '../hooks.js';
import { href } from '../router.js';
import { CreateSecret } from './CreateSecret.js';

function SecretsTable({ vaultId, secrets }: { vaultId: string; secrets: readonly Secret[] }) {
  return (
    <Table columns={['Name', 'Allowed domains', 'Inject in', { label: 'Version', num: true }, 'Labels', 'Updated']}>
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
    </Table>
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
            <Listing items={secrets.data} empty="No secrets in this vault yet.">
              {(all) => <SecretsTable vaultId={vaultId} secrets={all} />}
            </Listing>
          </section>
          <CreateSecret vaultId={vaultId} onCreated={reload} />
        </>
      )}
    </>
  );
}
