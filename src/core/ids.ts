// Object ids: a type prefix plus a ULID (26 Crockford base32 characters).
import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

export const idPrefixes = {
  org: 'org_',
  apiKey: 'key_',
  vault: 'vlt_',
  secret: 'sec_',
  agent: 'agt_',
  agentToken: 'atk_',
  grant: 'grt_',
  event: 'evt_',
  resource: 'res_',
  request: 'req_',
  node: 'nod_',
} as const;

export type IdKind = keyof typeof idPrefixes;

const ulidPattern = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export type IdFactory = (kind: IdKind) => string;

/**
 * Cryptographic randomness for ULIDs from a pooled buffer: the library asks for one random
 * number per character, and a syscall each time cost ~64 µs per id (bench/notes/api.md).
 */
function pooledRandom(): () => number {
  const pool = Buffer.alloc(4096);
  let at = pool.length;
  return () => {
    if (at >= pool.length) {
      randomFillSync(pool);
      at = 0;
    }
    // 0 ≤ x < 1, uniform over 256 steps, which is all a 32-symbol alphabet needs.
    return pool[at++]! / 256;
  };
}

/** Ids minted by one factory sort in creation order, even within the same millisecond. */
export function createIdFactory(now: () => number = Date.now): IdFactory {
  const next = monotonicFactory(pooledRandom());
  return (kind) => idPrefixes[kind] + next(now());
}

export function isId(kind: IdKind, value: string): boolean {
  const prefix = idPrefixes[kind];
  return value.length === prefix.length + 26 && value.startsWith(prefix) && ulidPattern.test(value.slice(prefix.length));
}

/** JSON-schema pattern for an id of one kind (used in route params). */
export function idPattern(kind: IdKind): string {
  return `^${idPrefixes[kind]}[0-9A-HJKMNP-TV-Z]{26}$`;
}
