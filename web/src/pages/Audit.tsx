// The audit log, live: the SSE stream (via the SDK's fetch-based follower), filters, and the chain status.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import type { AuditEvent, AuditFilter } from '../../../src/sdk/index.js';
import { isUnauthorized, messageOf } from '../api.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { PageHeader } from '../components/PageHeader.js';
import { useLoad } from '../hooks.js';
import { useOrgSecrets } from '../org-secrets.js';
import { useSession } from '../session.js';
import { ChainStatus } from './audit/ChainStatus.js';
import { EventsTable } from './audit/EventsTable.js';

/** The page opens on the chain's newest events (this many), then follows new ones. */
const backlog = 500;
/** Rows kept in the table; older ones drop off the bottom. */
const maxRows = 1000;

const typeSuggestions = ['secret.*', 'vault.*', 'agent.*', 'grant.*', 'proxy.*', 'vault.accessed', 'vault.denied', 'secret.revealed', 'proxy.blocked', 'auth.failed'];

type Connection = 'connecting' | 'live' | 'reconnecting' | 'failed';
const connectionText: Record<Connection, string> = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Connection lost, reconnecting…', failed: 'Stopped' };

function Filters({ names, onApply }: { names: { agents: { id: string; name: string }[]; secrets: { id: string; env_key: string; vault_name: string }[] }; onApply(f: AuditFilter): void }) {
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const pick = (k: string) => String(data.get(k) ?? '').trim() || undefined;
    onApply({ type: pick('type'), actor: pick('actor'), secret_id: pick('secret_id') });
  }
  return (
    <form className="card filters" onSubmit={submit} onReset={() => onApply({})} aria-label="Filter events">
      <div className="form-row">
        <div className="field">
          <label htmlFor="filter-type">Type</label>
          <input id="filter-type" name="type" list="audit-types" placeholder="secret.*" spellCheck={false} autoComplete="off" />
          <datalist id="audit-types">
            {typeSuggestions.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="filter-agent">Agent (as actor)</label>
          <select id="filter-agent" name="actor">
            <option value="">Any</option>
            {names.agents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-secret">Secret</label>
          <select id="filter-secret" name="secret_id">
            <option value="">Any</option>
            {names.secrets.map((s) => (
              <option key={s.id} value={s.id}>
                {s.env_key} — {s.vault_name}
              </option>
            ))}
          </select>
        </div>
        <div className="field-action">
          <button type="submit" className="button primary">
            Apply
          </button>
          <button type="reset" className="button secondary">
            Clear
          </button>
        </div>
      </div>
    </form>
  );
}

export function AuditPage() {
  const { client, signOut } = useSession();
  const chain = useLoad((c) => c.audit.verify(), []);
  const agents = useLoad((c) => c.agents.all(), []);
  const org = useOrgSecrets();
  const [filter, setFilter] = useState<AuditFilter>({});
  const [start, setStart] = useState<number | null>(null);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [connection, setConnection] = useState<Connection>('connecting');
  const [error, setError] = useState<string | null>(null);

  // The first verification tells where the chain's head is; the feed starts a backlog before it.
  const headSeq = chain.data?.head_seq;
  useEffect(() => {
    if (start === null && headSeq !== undefined) setStart(Math.max(0, headSeq - backlog));
  }, [start, headSeq]);

  useEffect(() => {
    if (start === null) return;
    const abort = new AbortController();
    setEvents([]);
    setConnection('connecting');
    setError(null);
    (async () => {
      // The SDK reconnects by itself with Last-Event-ID, so a dropped connection loses nothing.
      const feed = client.audit.follow({
        ...filter,
        after: start,
        signal: abort.signal,
        onConnect: () => setConnection('live'),
        onDisconnect: () => setConnection('reconnecting'),
      });
      for await (const event of feed) setEvents((rows) => [event, ...rows].slice(0, maxRows));
    })().catch((err: unknown) => {
      if (abort.signal.aborted) return;
      if (isUnauthorized(err)) return signOut('Your API key was refused. Sign in again.');
      setConnection('failed');
      setError(messageOf(err));
    });
    return () => abort.abort();
  }, [client, signOut, start, filter]);

  const names = useMemo(() => ({ agents: new Map((agents.data ?? []).map((a) => [a.id, a])), org: org.data }), [agents.data, org.data]);

  return (
    <>
      <PageHeader title="Audit log" subtitle="Every change, reveal, access and proxy decision, as it happens. Values are never recorded." />
      <div className="audit-top">
        <Filters names={{ agents: agents.data ?? [], secrets: org.data?.secrets ?? [] }} onApply={setFilter} />
        <ChainStatus chain={chain} />
      </div>
      <section className="card" aria-labelledby="events-title">
        <div className="card-title-row">
          <h2 id="events-title">Events</h2>
          <span className={`stream-state ${connection}`} role="status" data-testid="stream-status">
            {connectionText[connection]}
          </span>
        </div>
        <ErrorNote message={error} />
        <p className="muted small">Newest first: the chain's last {backlog} events that match, then every new one.</p>
        {events.length === 0 && connection === 'live' && <p className="empty">No matching event yet. New ones appear here as they happen.</p>}
        {events.length > 0 && <EventsTable events={events} names={names} />}
      </section>
    </>
  );
}
