// Transactions on pooled PostgreSQL clients, and driver errors turned into the ones callers expect.
import type pg from 'pg';
import { VaultError } from '../../contract/errors.js';
import type { Row } from '../rows.js';
import type { AuditDraft } from '../types.js';

/** The unit of work of a write: a result plus the audit drafts committed with it. */
export type TxWork<T> = { result: T; audit: AuditDraft[] };

/**
 * Runs `fn` and its audit drafts in one transaction. `conflicts` maps a unique constraint to
 * the result a violation of it means: the backstop for a race the pre-checks under lock lost.
 */
export type Write = <T>(fn: (c: pg.PoolClient) => Promise<TxWork<T>>, conflicts?: Record<string, T>) => Promise<T>;

/** The rows as the driver returns them: decode them with storage/rows.ts. */
export async function rowsOf(c: pg.PoolClient | pg.Pool, sql: string, params: unknown[] = []): Promise<Row[]> {
  try {
    return (await c.query<Row>(sql, params)).rows;
  } catch (err) {
    throw storeError(err);
  }
}

export async function firstOf(c: pg.PoolClient | pg.Pool, sql: string, params: unknown[] = []): Promise<Row | null> {
  return (await rowsOf(c, sql, params))[0] ?? null;
}

const ignore = () => undefined;

/** BEGIN … COMMIT on one pooled client; ROLLBACK on any error, and a broken client is discarded. */
export async function transaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw storeError(err);
  }
  // The pool stops listening for errors on a checked-out client; an unheard one would crash.
  client.on('error', ignore);
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query('COMMIT');
    client.off('error', ignore);
    client.release();
    return result;
  } catch (err) {
    const rolledBack = await client.query('ROLLBACK').then(() => true, () => false);
    client.off('error', ignore);
    client.release(rolledBack ? undefined : true);
    throw storeError(err);
  }
}

export function isUniqueViolation(err: unknown): err is { code: '23505'; constraint: string } {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

const socketErrors = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** The driver's and pool's own connection failures, which carry no code at all. */
const driverMessages = /Connection terminated|timeout exceeded when trying to connect|not queryable/;

function isConnectionLoss(err: Error, code: unknown): boolean {
  if (typeof code !== 'string') return driverMessages.test(err.message);
  if (/^E[A-Z_]+$/.test(code)) return socketErrors.has(code);
  // SQLSTATE: connection exceptions, operator intervention (shutdown, restart), too many connections.
  return code.startsWith('08') || code.startsWith('57P') || code === '53300';
}

/**
 * A lost or refused database connection becomes `unavailable` (503) rather than an internal
 * error, so a database restart reads as what it is. For a write that failed at COMMIT the outcome
 * is unknown; the message does not claim either way. A NUL character, which PostgreSQL text
 * cannot hold, is the caller's input: `invalid_request`. Everything else passes through as is.
 */
export function storeError(err: unknown): unknown {
  if (err instanceof VaultError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (code === '22021' && err.message.includes('0x00')) {
    return new VaultError('invalid_request', 'text must not contain NUL characters', { cause: err });
  }
  if (isConnectionLoss(err, code)) return new VaultError('unavailable', 'the database is unavailable', { cause: err });
  return err;
}
