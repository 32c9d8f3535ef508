// Sign-in with an operator API key; the key is checked against the API before it is kept.
import { useState, type FormEvent } from 'react';
import { messageOf, signIn, type VaultgateClient } from '../api.js';
import { ErrorNote } from '../components/ErrorNote.js';

export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn(client: VaultgateClient): void }) {
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const key = String(new FormData(form).get('api_key') ?? '').trim();
    if (!key) return setError('Enter an API key.');
    setPending(true);
    setError(null);
    try {
      onSignedIn(await signIn(key));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      // The key never stays in the field, whatever happened.
      form.reset();
      setPending(false);
    }
  }

  return (
    <main className="signin" id="main">
      <div className="signin-card">
        <div className="signin-brand">
          <img src="/favicon.svg" alt="" width="40" height="40" />
          <h1>Vaultgate</h1>
        </div>
        <p className="muted">Sign in with an operator API key to manage vaults, secrets and agents.</p>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <form onSubmit={submit} className="stack">
          <div className="field">
            <label htmlFor="api-key">API key</label>
            <input id="api-key" name="api_key" type="password" autoComplete="off" spellCheck={false} required autoFocus aria-describedby="api-key-help" />
            <p className="help" id="api-key-help">
              Printed once by <code>vaultgate serve</code> on first start, or made with <code>vaultgate admin key create</code>. Kept in this tab only, until you sign
              out or close it.
            </p>
          </div>
          <ErrorNote message={error} />
          <button type="submit" className="button primary wide" disabled={pending}>
            {pending ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
