// Reveal of a revealable secret: an explicit click, audited by the API, gone from the page after 30 s.
import { useEffect, useState } from 'react';
import type { Secret } from '../../../src/sdk/index.js';
import { CopyButton } from '../components/CopyButton.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { useAction } from '../hooks.js';

export const revealSeconds = 30;

interface Shown {
  value: string;
  version: number;
  until: number;
}

/** Mount it with `key={secret.version}`: a rotation then hides a value that is no longer current. */
export function RevealPanel({ secret }: { secret: Secret }) {
  const action = useAction();
  const [shown, setShown] = useState<Shown | null>(null);
  const [left, setLeft] = useState(revealSeconds);

  // The value lives only in this state: the timer, hiding, or leaving the page drops it.
  useEffect(() => {
    if (!shown) return;
    const hide = setTimeout(() => setShown(null), shown.until - Date.now());
    const tick = setInterval(() => setLeft(Math.max(0, Math.ceil((shown.until - Date.now()) / 1000))), 1000);
    return () => {
      clearTimeout(hide);
      clearInterval(tick);
    };
  }, [shown]);

  async function reveal() {
    await action.run(async (c) => {
      const r = await c.secrets.reveal(secret.id);
      setLeft(revealSeconds);
      // A non-static value is a JSON object (SPEC §10): shown, and copied, as its JSON.
      setShown({ value: typeof r.value === 'string' ? r.value : JSON.stringify(r.value, null, 2), version: r.version, until: Date.now() + revealSeconds * 1000 });
    });
  }

  return (
    <section className="card" aria-labelledby="reveal-title">
      <h2 id="reveal-title">Reveal value</h2>
      <p className="muted">Each reveal is recorded in the audit log as secret.revealed. The value hides itself after {revealSeconds} seconds.</p>
      {shown ? (
        <div className="reveal" role="group" aria-label="Revealed value">
          <code className="revealed-value" data-testid="revealed-value">
            {shown.value}
          </code>
          <div className="reveal-actions">
            <span className="countdown" aria-live="polite">
              Version {shown.version} · hides in {left} s
            </span>
            <CopyButton text={shown.value} label={`Copy the value of ${secret.env_key}`} />
            <button type="button" className="button secondary small" onClick={() => setShown(null)}>
              Hide now
            </button>
          </div>
        </div>
      ) : (
        <button type="button" className="button secondary" onClick={() => void reveal()} disabled={action.pending}>
          Reveal {secret.env_key}
        </button>
      )}
      <ErrorNote message={action.error} />
    </section>
  );
}
