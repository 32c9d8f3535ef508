// The audit chain's verification: intact or where it breaks, how many events, and the head to anchor elsewhere.
import type { AuditVerifyResult } from '../../../../src/sdk/index.js';
import { Badge } from '../../components/Badge.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Fact } from '../../components/Facts.js';
import type { Loaded } from '../../hooks.js';

export function ChainStatus({ chain }: { chain: Loaded<AuditVerifyResult> }) {
  const c = chain.data;
  return (
    <section className="card chain" aria-labelledby="chain-title">
      <div className="card-title-row">
        <h2 id="chain-title">Chain status</h2>
        <button type="button" className="button secondary small" onClick={chain.reload} disabled={chain.loading}>
          {chain.loading ? 'Verifying…' : 'Verify again'}
        </button>
      </div>
      <ErrorNote message={chain.error} />
      {c && (
        <dl className="facts" aria-live="polite">
          <Fact term="Verified" testId="chain-verified">
            {c.ok ? <Badge tone="good">intact</Badge> : <Badge tone="bad">broken at seq {c.broken_at}</Badge>}
          </Fact>
          <Fact term="Events" testId="chain-count">
            {c.events}
          </Fact>
          <Fact term="Head">
            seq {c.head_seq}{' '}
            <code className="hash" title={c.head ?? ''}>
              {c.head ? `${c.head.slice(0, 8)}…` : ''}
            </code>
          </Fact>
          {!c.ok && c.reason && <Fact term="Reason">{c.reason}</Fact>}
        </dl>
      )}
    </section>
  );
}
