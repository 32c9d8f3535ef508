// Agent tokens: minted here, shown exactly once with a copy button, listed afterwards without the secret part.
import { useState } from 'react';
import type { Agent } from '../../../../src/sdk/index.js';
import { Badge } from '../../components/Badge.js';
import { CopyButton } from '../../components/CopyButton.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { ListItem } from '../../components/ItemList.js';
import { Listing } from '../../components/Listing.js';
import { RelativeTime } from '../../components/RelativeTime.js';
import { shortId } from '../../format.js';
import { useAction, useLoad } from '../../hooks.js';

export function AgentTokens({ agent }: { agent: Agent }) {
  const tokens = useLoad((c) => c.agents.tokens(agent.id), [agent.id]);
  const action = useAction();
  // The minted token lives only here until dismissed or the page is left.
  const [minted, setMinted] = useState<{ id: string; token: string } | null>(null);

  async function mint() {
    const ok = await action.run(async (c) => {
      const t = await c.agents.createToken(agent.id);
      setMinted({ id: t.id, token: t.token });
    });
    if (ok) tokens.reload();
  }

  return (
    <section className="card" aria-labelledby="tokens-title">
      <div className="card-title-row">
        <h2 id="tokens-title">Tokens</h2>
        <button type="button" className="button primary small" onClick={() => void mint()} disabled={action.pending}>
          Mint a token
        </button>
      </div>
      {minted && (
        <div className="once" role="group" aria-label="New agent token">
          <p>
            <strong>Copy this token now.</strong> It is shown once; Vaultgate keeps only its hash. Use it as <code>VAULTGATE_AGENT_TOKEN</code> for{' '}
            <code>vaultgate run</code>.
          </p>
          <code className="token-value" data-testid="minted-token">
            {minted.token}
          </code>
          <div className="reveal-actions">
            <CopyButton text={minted.token} label="Copy the new token" />
            <button type="button" className="button secondary small" onClick={() => setMinted(null)}>
              Done, hide it
            </button>
          </div>
        </div>
      )}
      <ErrorNote message={tokens.error ?? action.error} />
      <Listing items={tokens.data} empty="No token yet.">
        {(all) => (
          <ul className="item-list">
            {all.map((t) => (
              <ListItem
                key={t.id}
                action="Revoke"
                actionLabel={`Revoke token ${t.id}`}
                pending={action.pending}
                onAction={t.revoked_at ? undefined : () => void action.run((c) => c.agents.revokeToken(agent.id, t.id)).then((ok) => ok && tokens.reload())}
              >
                <span className="mono" title={t.id}>
                  {shortId(t.id)}
                </span>{' '}
                · minted <RelativeTime iso={t.created_at} />{' '}
                {t.revoked_at ? <Badge tone="bad">revoked</Badge> : <Badge tone="good">active</Badge>}
              </ListItem>
            ))}
          </ul>
        )}
      </Listing>
    </section>
  );
}
