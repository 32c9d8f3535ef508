// Failed authentication, bounded: a per-address throttle (429 after N failures a minute) and
// auth.failed audit events coalesced per org, source address and minute (SPEC §9).
import type { AuditDraft } from '../storage/types.js';
import type { Clock } from './context.js';

export const authWindowMs = 60_000;
/** Addresses remembered at once; past it the oldest window is forgotten (memory stays bounded). */
const maxTracked = 100_000;

/** Where a credential was refused: the operator API, the agent API, or the egress proxy. */
export type AuthSurface = 'api' | 'agent' | 'proxy';

export interface AuthThrottle {
  /** Whole seconds until `address` may try again, or null when it is not throttled. */
  retryAfter(address: string): number | null;
  /** Counts one failed authentication (a 401 or 407) from `address`. */
  failed(address: string, surface: AuthSurface): void;
}

/**
 * Fixed windows per address: the first failure opens a one-minute window; once it holds `limit`
 * failures, the address is refused until the window ends, without its credentials being checked.
 */
export function createAuthThrottle(deps: { clock: Clock; limit: number; counted?: (surface: AuthSurface) => void }): AuthThrottle {
  const windows = new Map<string, { start: number; count: number }>();
  const now = () => deps.clock.now().getTime();
  const current = (address: string, at: number) => {
    const w = windows.get(address);
    if (w && at - w.start < authWindowMs) return w;
    if (w) windows.delete(address);
    return null;
  };
  return {
    retryAfter(address) {
      const at = now();
      const w = current(address, at);
      if (!w || w.count < deps.limit) return null;
      return Math.max(1, Math.ceil((w.start + authWindowMs - at) / 1000));
    },
    failed(address, surface) {
      deps.counted?.(surface);
      const at = now();
      const w = current(address, at);
      if (w) {
        w.count++;
        return;
      }
      windows.set(address, { start: at, count: 1 });
      if (windows.size > maxTracked) windows.delete(windows.keys().next().value as string);
    },
  };
}

export interface AuthFailureAudit {
  /**
   * Records one failure. The first of a window is appended at once (resolves after the commit);
   * later ones only count, and reach the chain as `details.count` of the next event.
   */
  record(draft: AuditDraft): Promise<void>;
  /** Appends the counts still pending (on shutdown, and once a minute by the sweep). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface Pending {
  lastAt: number;
  count: number;
  /** The newest failure of the window: its ids, actor and reason head the coalesced event. */
  latest: AuditDraft | null;
}

export function createAuthFailureAudit(deps: { clock: Clock; append: (drafts: AuditDraft[]) => Promise<void>; onError: (err: unknown) => void }): AuthFailureAudit {
  const pending = new Map<string, Pending>();
  const now = () => deps.clock.now().getTime();
  const withCount = (draft: AuditDraft, count: number): AuditDraft => ({ ...draft, details: { ...draft.details, count } });

  async function flushDue(force: boolean): Promise<void> {
    const at = now();
    const due: AuditDraft[] = [];
    for (const [key, p] of pending) {
      if (p.count > 0 && p.latest && (force || at - p.lastAt >= authWindowMs)) {
        due.push(withCount(p.latest, p.count));
        p.lastAt = at;
        p.count = 0;
        p.latest = null;
      } else if (p.count === 0 && at - p.lastAt >= authWindowMs) {
        pending.delete(key);
      }
    }
    if (due.length > 0) await deps.append(due);
  }

  const sweep = setInterval(() => void flushDue(false).catch(deps.onError), 10_000);
  sweep.unref();

  return {
    async record(draft) {
      const key = `${draft.org_id}\0${draft.source_ip ?? ''}`;
      const at = now();
      const p = pending.get(key);
      if (p && at - p.lastAt < authWindowMs) {
        p.count++;
        p.latest = draft;
        return;
      }
      const count = (p?.count ?? 0) + 1;
      pending.set(key, { lastAt: at, count: 0, latest: null });
      if (pending.size > maxTracked) pending.delete(pending.keys().next().value as string);
      await deps.append([withCount(draft, count)]);
    },
    flush: () => flushDue(true),
    async close() {
      clearInterval(sweep);
      await flushDue(true);
    },
  };
}
