// "Test a request": what the proxy would do with one request of this agent, per placeholder in it (explain, SPEC §10).
import { useState, type FormEvent } from 'react';
import type { Agent, ExplainResponse } from '../../../../src/sdk/index.js';
import { Badge } from '../../components/Badge.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Fact } from '../../components/Facts.js';
import { SubmitButton } from '../../components/SubmitButton.js';
import { Table } from '../../components/Table.js';
import { useAction } from '../../hooks.js';

const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** `Name: value` lines → `{name: value}`; a name given twice keeps both values, comma-joined. The error names the line, not its text. */
export function parseHeaderLines(text: string): Record<string, string> | string {
  const headers: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    if (raw.trim() === '') continue;
    const colon = raw.indexOf(':');
    const name = colon > 0 ? raw.slice(0, colon).trim() : '';
    if (name === '') return `header line ${i + 1} must look like Name: value`;
    const value = raw.slice(colon + 1).trim();
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  return headers;
}

function Result({ result }: { result: ExplainResponse }) {
  return (
    <div className="explain-result" data-testid="explain-result" aria-live="polite">
      <dl className="facts">
        <Fact term="Destination" className="mono" testId="explain-destination">
          {result.destination.host}:{result.destination.port}
        </Fact>
        <Fact term="Agent status">
          <Badge tone={result.agent_status === 'deployed' ? 'good' : 'warn'}>{result.agent_status}</Badge>
        </Fact>
      </dl>
      <h3>Placeholders in the request</h3>
      {result.placeholders.length === 0 ? (
        <p className="muted">None: this request carries no placeholder.</p>
      ) : (
        <Table columns={['Variable', 'Surface', 'Decision', 'Reason']} className="table compact" testId="explain-placeholders">
          {result.placeholders.map((p, i) => (
            <tr key={i}>
              <td data-label="Variable" className="mono">
                {p.env_key ?? <span className="muted">not this agent’s</span>}
              </td>
              <td data-label="Surface">{p.surface}</td>
              <td data-label="Decision">
                <Badge tone={p.decision === 'inject' ? 'good' : 'bad'}>{p.decision}</Badge>
              </td>
              <td data-label="Reason">{p.reason}</td>
            </tr>
          ))}
        </Table>
      )}
      <h3>Available at this destination</h3>
      {result.available.length === 0 ? (
        <p className="muted">None of this agent’s placeholders may be used here.</p>
      ) : (
        <Table columns={['Variable', 'Surfaces']} className="table compact" testId="explain-available">
          {result.available.map((a) => (
            <tr key={`${a.env_key}-${a.secret_id}`}>
              <td data-label="Variable" className="mono">
                {a.env_key}
              </td>
              <td data-label="Surfaces">{a.surfaces.join(', ')}</td>
            </tr>
          ))}
        </Table>
      )}
    </div>
  );
}

export function AgentExplain({ agent }: { agent: Agent }) {
  const action = useAction();
  const [invalid, setInvalid] = useState<string | null>(null);
  const [result, setResult] = useState<ExplainResponse | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const headers = parseHeaderLines(String(data.get('headers') ?? ''));
    setInvalid(typeof headers === 'string' ? headers : null);
    if (typeof headers === 'string') return;
    const body = String(data.get('body') ?? '');
    setResult(null);
    await action.run(async (c) =>
      setResult(
        await c.agents.explain(agent.id, {
          method: String(data.get('method') ?? 'GET'),
          url: String(data.get('url') ?? '').trim(),
          headers,
          ...(body !== '' ? { body } : {}),
        }),
      ),
    );
  }

  return (
    <form className="card form-card" onSubmit={submit} aria-labelledby="explain-title" autoComplete="off">
      <h2 id="explain-title">Test a request</h2>
      <p className="muted">
        What the proxy would do with this request from {agent.name}: inject or block each placeholder in it, and why. Nothing is sent and no value is read. Write
        the agent’s variables as <code>$STRIPE_KEY</code> or <code>{'${STRIPE_KEY}'}</code>, where the agent would send them.
      </p>
      <div className="form-row">
        <div className="field">
          <label htmlFor="explain-method">Method</label>
          <select id="explain-method" name="method" defaultValue="GET">
            {methods.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </div>
        <div className="field grow">
          <label htmlFor="explain-url">URL</label>
          <input id="explain-url" name="url" type="url" required placeholder="https://api.stripe.com/v1/charges" spellCheck={false} autoComplete="off" />
        </div>
      </div>
      <div className="form-row">
        <div className="field grow">
          <label htmlFor="explain-headers">Headers (optional)</label>
          <textarea id="explain-headers" name="headers" rows={3} placeholder="Authorization: Bearer $STRIPE_KEY" spellCheck={false} aria-describedby="explain-headers-help" />
          <p className="help" id="explain-headers-help">
            One <code>Name: value</code> per line.
          </p>
        </div>
        <div className="field grow">
          <label htmlFor="explain-body">Body (optional)</label>
          <textarea id="explain-body" name="body" rows={3} spellCheck={false} />
        </div>
      </div>
      <div className="form-row end">
        <span />
        <SubmitButton pending={action.pending}>Explain</SubmitButton>
      </div>
      <ErrorNote message={invalid ?? action.error} />
      {result && <Result result={result} />}
    </form>
  );
}
