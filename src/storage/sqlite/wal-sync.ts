// fsync of the SQLite write-ahead log on libuv's thread pool, off the event loop.
//
// Audit-only batches commit with `synchronous = NORMAL` (the commit writes its WAL frames without
// waiting for the disk) and are acknowledged only after one of these syncs started after their
// commit has finished. An fsync of the WAL file is what `synchronous = FULL` does inside each
// commit, so an acknowledged record is exactly as durable; only the wait moves off the main thread.
import { closeSync, fstatSync, fsync, openSync, statSync } from 'node:fs';

export interface WalSync {
  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void>;
  /** Closes the descriptor; call after the last sync() settled. */
  close(): void;
}

export function createWalSync(dbPath: string): WalSync {
  const walPath = `${dbPath}-wal`;
  let fd: number | null = null;

  /** The WAL's descriptor, reopened if SQLite replaced the file (it removes it only when the last connection closes). */
  function walFd(): number {
    if (fd !== null && fstatSync(fd).ino === statSync(walPath).ino) return fd;
    if (fd !== null) closeSync(fd);
    fd = openSync(walPath, 'r+');
    return fd;
  }

  return {
    sync() {
      return new Promise<void>((resolve, reject) => {
        fsync(walFd(), (err) => (err ? reject(err) : resolve()));
      });
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
