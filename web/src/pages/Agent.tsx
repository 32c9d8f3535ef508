// One agent: status, deploy/stop (the kill switch), vaults, configuration, grants, tokens, its effective environment, and a test request.
import { useState } from 'react';
import { Badge } from '../components/Badge.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { PageHeader } from '../components/PageHeader.js';
import { useAction, useLoad } from '../hooks.js';
import { useOrgSecrets } from '../org-secrets.js';
import { href, navigate } from '../router.js';
import { AgentEnv } from './agent/AgentEnv.js';
import { AgentEnvironment } from './agent/AgentEnvironment.js';
import { AgentExplain } from './agent/AgentExplain.js';
import { AgentGrants } from './agent/AgentGrants.js';
import { AgentTokens } from './agent/AgentTokens.js';
import { AgentVaults } from './agent/AgentVaults.js';

export function AgentPage({ agentId }: { agentId: string }) {
  // Bumped by every change, so the effective environment is always re-read after one.
  const [revision, setRevision] = useState(0);
  const agent = useLoad((c) => c.agents.get(agentId), [agentId, revision]);
  const environment = useLoad((c) => c.agents.environment(agentId), [agentId, revision]);
  const org = useOrgSecrets();
  const status = useAction();
  const changed = () => setRevision((r) => r + 1);
  const a = agent.data;
  const deployed = a?.status === 'deployed';

  return (
    <>
      <PageHeader
        title={a?.name ?? 'Agent'}
        crumbs={[{ label: 'Agents', href: href.agents() }]}
        subtitle={a && <span className="mono">{a.id}</span>}
      >
        {a && (
          <>
            <span aria-live="polite">
              <Badge tone={deployed ? 'good' : 'warn'}>{a.status}</Badge>
            </span>
            <button
              type="button"
              className={deployed ? 'button secondary' : 'button primary'}
              disabled={status.pending}
              aria-describedby="agent-status-help"
              onClick={() => void status.run((c) => (deployed ? c.agents.stop(a.id) : c.agents.deploy(a.id))).then((ok) => ok && changed())}
            >
              {deployed ? 'Stop' : 'Deploy'}
            </button>
            <ConfirmButton
              label={`Delete agent ${a.name}`}
              question={`Delete ${a.name}? Its tokens stop working at once.`}
              confirmText="Delete agent"
              pending={status.pending}
              onConfirm={async () => {
                const ok = await status.run((c) => c.agents.delete(a.id));
                if (ok) navigate(href.agents());
                return ok;
              }}
            >
              Delete
            </ConfirmButton>
          </>
        )}
      </PageHeader>
      {a && (
        <p className={deployed ? 'help' : 'notice'} id="agent-status-help" data-testid="agent-status-help">
          {deployed
            ? 'Deployed: this agent receives values. Stop refuses its environment, secret reads and proxy requests from its next request on, on every node.'
            : 'Stopped: this agent’s environment, secret reads and proxy requests are refused (403 agent_stopped, audited) from its next request on, on every node. Deploy lets it receive values again.'}
        </p>
      )}
      <ErrorNote message={agent.error ?? status.error} />
      {a && (
        <div className="grid-2">
          <div className="column">
            <AgentVaults agent={a} org={org.data} onChanged={changed} />
            <AgentGrants agent={a} org={org.data} onChanged={changed} />
            <AgentEnv key={a.updated_at} agent={a} org={org.data} onChanged={changed} />
          </div>
          <div className="column">
            <AgentEnvironment environment={environment} org={org.data} />
            <AgentTokens agent={a} />
          </div>
        </div>
      )}
      {a && <AgentExplain agent={a} />}
    </>
  );
}
