// Cursor pagination over id-ordered lists: opaque cursors, limit 1..1000, default 100.
import { VaultError } from '../contract/errors.js';

export const defaultPageSize = 100;
export const maxPageSize = 1000;

export interface PageRequest {
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface PageResult<T> {
  items: T[];
  nextCursor: string | null;
}

export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$/.test(text)) throw new VaultError('invalid_request', 'cursor is invalid');
  return text;
}

/** Fetches one row more than asked, to know whether a next page exists without a count. */
export async function paginate<T extends { id: string }>(
  req: PageRequest,
  fetch: (page: { limit: number; after?: string }) => Promise<T[] | null>,
): Promise<PageResult<T> | null> {
  const limit = req.limit ?? defaultPageSize;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) {
    throw new VaultError('invalid_request', `limit must be an integer from 1 to ${maxPageSize}`);
  }
  const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor);
  const rows = await fetch(after === undefined ? { limit: limit + 1 } : { limit: limit + 1, after });
  if (rows === null) return null;
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}
