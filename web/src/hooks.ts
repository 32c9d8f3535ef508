// Loading and mutating through the SDK with one error convention: the API's message, 401 signs out.
import { useCallback, useEffect, useRef, useState } from 'react';
import { isUnauthorized, messageOf, type VaultgateClient } from './api.js';
import { useSession } from './session.js';

export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload(): void;
}

/** Runs `load` on mount and whenever `deps` change; an answer for stale deps is dropped. */
export function useLoad<T>(load: (client: VaultgateClient) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const { client, signOut } = useSession();
  const [state, setState] = useState<{ data: T | undefined; error: string | null; loading: boolean }>({ data: undefined, error: null, loading: true });
  const [generation, setGeneration] = useState(0);
  const loader = useRef(load);
  loader.current = load;

  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    loader.current(client).then(
      (data) => current && setState({ data, error: null, loading: false }),
      (err: unknown) => {
        if (!current) return;
        if (isUnauthorized(err)) return signOut('Your API key was refused. Sign in again.');
        setState({ data: undefined, error: messageOf(err), loading: false });
      },
    );
    return () => {
      current = false;
    };
    // `load` itself is read through a ref: the caller lists what it depends on in `deps`.
  }, [client, signOut, generation, ...deps]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}

export interface Action {
  pending: boolean;
  error: string | null;
  /** Runs `fn`; resolves true on success. Failures land in `error`, never thrown. */
  run(fn: (client: VaultgateClient) => Promise<unknown>): Promise<boolean>;
  clearError(): void;
}

export function useAction(): Action {
  const { client, signOut } = useSession();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async (fn: (c: VaultgateClient) => Promise<unknown>) => {
      setPending(true);
      setError(null);
      try {
        await fn(client);
        return true;
      } catch (err) {
        if (isUnauthorized(err)) signOut('Your API key was refused. Sign in again.');
        else setError(messageOf(err));
        return false;
      } finally {
        setPending(false);
      }
    },
    [client, signOut],
  );
  const clearError = useCallback(() => setError(null), []);
  return { pending, error, run, clearError };
}

/** Re-renders every `ms` so relative times stay true. */
export function useNow(ms = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
