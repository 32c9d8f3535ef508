// A memo for the reads on every agent request (token, access facts, secret lookups, version rows).
//
// Every entry is dropped as soon as the database may have changed: this process's own writes call
// `invalidate()` inside `write()`, before any caller hears of the change, and a commit by another
// connection (an admin command, a second process) changes `PRAGMA data_version`, which is checked
// once per event-loop turn: a request served in that turn sees the database as it was when the turn
// began, as if it had been served a moment earlier. So a cached read answers what the query would
// have answered; it only skips running it again. Audit-only commits do not invalidate: no cached read includes the audit log.
import type Database from 'better-sqlite3';

export interface ReadCache {
  /** `load()`'s result for (kind, key), cached until the next change; null results are not kept. */
  memo<T>(kind: string, key: string, load: () => T | null): T | null;
  invalidate(): void;
}

export function createReadCache(db: Database.Database, maxEntries = 10_000): ReadCache {
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  let seenVersion = dataVersion.get();
  let entries = new Map<string, unknown>();
  let checkedThisTurn = false;
  const nextTurn = () => {
    checkedThisTurn = false;
  };

  return {
    memo<T>(kind: string, key: string, load: () => T | null): T | null {
      if (!checkedThisTurn) {
        checkedThisTurn = true;
        setImmediate(nextTurn);
        const version = dataVersion.get();
        if (version !== seenVersion) {
          seenVersion = version;
          entries = new Map();
        }
      }
      const id = `${kind}\u0000${key}`;
      if (entries.has(id)) return entries.get(id) as T;
      const value = load();
      if (value === null) return null;
      // Bounded by dropping everything: the working set of agent requests is small and refills at once.
      if (entries.size >= maxEntries) entries = new Map();
      entries.set(id, value);
      return value;
    },
    invalidate() {
      entries = new Map();
    },
  };
}
