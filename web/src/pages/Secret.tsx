// One secret: its metadata, reveal (revealable only), rotation, domains, version history, delete.
import type { Secret, SecretVersion } from '../../../src/sdk/index.js';
import { Badge } from '../components/Badge.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { Fact } from '../components/Facts.js';
import { PageHeader } from '../components/PageHeader.js';
import { RelativeTime } from '../components/RelativeTime.js';
import { Chips, Domains, Labels, RateLimitText, Rules, typeLabels } from '../components/SecretMeta.js';
import { Table } from '../components/Table.js';
import { shortId } from '../format.js';
import { useAction, useLoad } from '../hooks.js';
import { href, navigate } from '../router.js';
import { RevealPanel } from './RevealPanel.js';
import { RotateForm, SettingsForm } from './SecretForms.js';

function Facts({ secret }: { secret: Secret }) {
  return (
    <dl className="facts">
      <Fact term="Version" testId="secret-version">
        v{secret.version}
      </Fact>
      <Fact term="Type" testId="secret-type">
        {typeLabels[secret.type]}
      </Fact>
      <Fact term="Allowed domains">
        <Domains domains={secret.allowed_domains} />
      </Fact>
      {secret.type === 'aws_sigv4' ? (
        <>
          <Fact term="Regions" testId="secret-regions">
            <Chips items={secret.regions ?? []} label="Regions" />
          </Fact>
          <Fact term="Services" testId="secret-services">
            <Chips items={secret.services ?? []} label="Services" />
          </Fact>
        </>
      ) : (
        <Fact term="Inject in">{secret.inject_in.join(', ')}</Fact>
      )}
      <Fact term="Request rules" testId="secret-rules">
        <Rules rules={secret.rules} />
      </Fact>
      <Fact term="Rate limit" testId="secret-rate-limit">
        <RateLimitText limit={secret.rate_limit} />
      </Fact>
      <Fact term="Labels">
        <Labels labels={secret.labels} />
      </Fact>
      <Fact term="Reveal">
        {secret.revealable ? <Badge tone="info">revealable</Badge> : <Badge title="The value never comes back to the dashboard">not revealable</Badge>}
      </Fact>
      <Fact term="Updated">
        <RelativeTime iso={secret.updated_at} />
      </Fact>
      <Fact term="Id" className="mono">
        {secret.id}
      </Fact>
    </dl>
  );
}

function Versions({ versions }: { versions: SecretVersion[] }) {
  return (
    <Table columns={['Version', 'Changed', 'Allowed domains', 'By', 'When']} className="table compact">
      {versions.map((v) => (
        <tr key={v.version}>
          <td data-label="Version">v{v.version}</td>
          <td data-label="Changed">{v.changed.length > 0 ? v.changed.join(', ') : 'created'}</td>
          <td data-label="Allowed domains">
            <Domains domains={v.allowed_domains} />
          </td>
          <td data-label="By" className="mono" title={v.actor}>
            {shortId(v.actor)}
          </td>
          <td data-label="When">
            <RelativeTime iso={v.created_at} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

export function SecretPage({ vaultId, secretId }: { vaultId: string; secretId: string }) {
  const vault = useLoad((c) => c.vaults.get(vaultId), [vaultId]);
  const secret = useLoad((c) => c.secrets.get(secretId), [secretId]);
  const versions = useLoad((c) => c.secrets.versions(secretId), [secretId]);
  const remove = useAction();
  const changed = () => {
    secret.reload();
    versions.reload();
  };
  const s = secret.data;
  return (
    <>
      <PageHeader
        title={<span className="mono">{s?.env_key ?? 'Secret'}</span>}
        crumbs={[
          { label: 'Vaults', href: href.vaults() },
          { label: vault.data?.name ?? 'Vault', href: href.vault(vaultId) },
        ]}
        subtitle={s?.description ?? undefined}
      >
        {s && (
          <ConfirmButton
            label={`Delete secret ${s.env_key}`}
            question={`Delete ${s.env_key}? Agents lose it on their next request. This cannot be undone.`}
            confirmText="Delete secret"
            pending={remove.pending}
            onConfirm={async () => {
              const ok = await remove.run((c) => c.secrets.delete(s.id, { ifVersion: s.version }));
              if (ok) navigate(href.vault(vaultId));
              return ok;
            }}
          >
            Delete secret
          </ConfirmButton>
        )}
      </PageHeader>
      <ErrorNote message={secret.error ?? remove.error} />
      {s && (
        <>
          <section className="card" aria-label="Details">
            <Facts secret={s} />
          </section>
          {s.revealable && <RevealPanel key={s.version} secret={s} />}
          <div className="grid-2">
            <RotateForm key={`rotate-${s.version}`} secret={s} onChanged={changed} />
            <SettingsForm key={`settings-${s.version}`} secret={s} onChanged={changed} />
          </div>
          <section className="card" aria-labelledby="versions-title">
            <h2 id="versions-title">Version history</h2>
            <ErrorNote message={versions.error} />
            {versions.data && <Versions versions={versions.data} />}
          </section>
        </>
      )}
    </>
  );
}
