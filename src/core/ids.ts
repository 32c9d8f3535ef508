// Object ids: a type prefix plus a ULID (26 Crockford base32 characters).
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
} as const;

export type IdKind = keyof typeof idPrefixes;

const ulidPattern = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export type IdFactory = (kind: IdKind) => string;

/** Ids minted by one factory sort in creation order, even within the same millisecond. */
export function createIdFactory(now: () => number = Date.now): IdFactory {
  const next = monotonicFactory();
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
