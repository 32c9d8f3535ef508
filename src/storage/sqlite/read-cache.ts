// A memo for the reads on every agent request (token, access facts, secret lookups, version rows).
//
// Every entry is dropped as soon as the database may have changed: this process's own writes call
// `invalidate()` inside `write()`, before any caller hears of the change, and a commit by another
// connection (an admin command, a second process) changes `PRAGMA data_version`, which is checked
// once per event-loop turn: a request served in that turn sees the database as it was when the turn
// began, as if it had been served a moment earlier. So a cached read answers what the query would
// have answered; it only skips running it again. Audit-only commits do not invalidate: no cached
// read includes the audit log.
//
// Each kind holds a bounded number of entries, oldest out first: the point is the agents that are
// busy right now, not a copy of the database (measured: memoizing the access facts of agents with
// 100 secrets each grew the scale benchmark's RSS by tens of MB).
import type Database from 'better-sqlite3';

export interface ReadCache {
  /** `load()`'s result for (kind, key), cached until the next change; null results are not kept. */
  memo<T>(kind: string, key: string, load: () => T | null): T | null;
  /** The cached value, if any (for callers that decide themselves what is worth keeping). */
  peek<T>(kind: string, key: string): T | undefined;
  put<T>(kind: string, key: string, value: T): void;
  invalidate(): void;
}

export function createReadCache(db: Database.Database, maxEntriesPerKind = 64): ReadCache {
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  let seenVersion = dataVersion.get();
  const kinds = new Map<string, Map<string, unknown>>();
  let checkedThisTurn = false;
  const nextTurn = () => {
    checkedThisTurn = false;
  };

  /** The kind's entries, after dropping everything if another connection committed since this turn began. */
  function entriesOf(kind: string): Map<string, unknown> {
    if (!checkedThisTurn) {
      checkedThisTurn = true;
      setImmediate(nextTurn);
      const version = dataVersion.get();
      if (version !== seenVersion) {
        seenVersion = version;
        kinds.clear();
      }
    }
    let entries = kinds.get(kind);
    if (!entries) kinds.set(kind, (entries = new Map<string, unknown>()));
    return entries;
  }

  function put<T>(kind: string, key: string, value: T): void {
    const entries = entriesOf(kind);
    if (entries.size >= maxEntriesPerKind) entries.delete(entries.keys().next().value as string);
    entries.set(key, value);
  }

  return {
    memo<T>(kind: string, key: string, load: () => T | null): T | null {
      const entries = entriesOf(kind);
      if (entries.has(key)) return entries.get(key) as T;
      const value = load();
      if (value !== null) put(kind, key, value);
      return value;
    },
    peek<T>(kind: string, key: string): T | undefined {
      return entriesOf(kind).get(key) as T | undefined;
    },
    put,
    invalidate() {
      kinds.clear();
    },
  };
}
