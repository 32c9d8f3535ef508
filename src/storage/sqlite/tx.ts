// The unit of work of the SQLite store: a result plus the audit drafts committed with it.
import type { AuditDraft } from '../types.js';

export type Tx<T> = { result: T; audit: AuditDraft[] };
export type Write = <T>(fn: () => Tx<T>) => T;
