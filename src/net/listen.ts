// Listening addresses as people read them: an IPv6 host in brackets before its port, and a bind
// failure as one line naming the address and the setting that chose it, not a stack trace.

/** An IPv6 host as it goes before `:port`. */
export const bracketed = (host: string): string => (host.includes(':') ? `[${host}]` : host);

const listenProblems: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this host',
};

export class ListenError extends Error {
  override name = 'ListenError';
}

/** A failed `listen` becomes a ListenError naming `setting`; any other error passes through unchanged. */
export function listenError(err: unknown, setting: string, addr: { host: string; port: number }): unknown {
  const e = err as NodeJS.ErrnoException | null;
  if (e?.syscall !== 'listen' || typeof e.code !== 'string') return err;
  return new ListenError(`cannot listen on ${bracketed(addr.host)}:${addr.port} (${setting}): ${listenProblems[e.code] ?? e.code}`, { cause: err });
}
