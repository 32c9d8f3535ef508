// Row decoding shared by the SQL backends: typed column readers, and every Store row built from them.
import { credentialTypes, type AuditEvent } from '../contract/schemas.js';
import type {
  AgentRow,
  AgentStatus,
  AgentTokenRow,
  AgentView,
  ApiKeyRow,
  AttachmentRow,
  EnvVarRef,
  GrantRow,
  OrgRow,
  SecretRow,
  SecretVersionMeta,
  SecretVersionRow,
  ServingNodeRow,
  VaultWithCount,
  WrappedKeyRef,
} from './types.js';
import type { OAuthTokenRow } from './token-store.js';

/** A row as a driver hands it over, before decoding. */
export type Row = Record<string, unknown>;

/** Reads one column's value as a T, or throws naming the column: no row reaches a caller mistyped. */
export type Column<T> = (value: unknown, name?: string) => T;

const mismatch = (name: string | undefined, expected: string) => new Error(`store column ${name ?? '(value)'}: expected ${expected}`);

export const text: Column<string> = (v, name) => {
  if (typeof v === 'string') return v;
  throw mismatch(name, 'text');
};

/** A missing column reads as null too (as `?? null` did). */
export const nullableText: Column<string | null> = (v, name) => (v === null || v === undefined ? null : text(v, name));

/** SQLite and PostgreSQL INTEGER arrive as numbers; PostgreSQL BIGINT as decimal text. */
export const int: Column<number> = (v, name) => {
  const n = typeof v === 'number' ? v : typeof v === 'string' || typeof v === 'bigint' ? Number(v) : NaN;
  if (Number.isSafeInteger(n)) return n;
  throw mismatch(name, 'an integer');
};

/** SQLite stores booleans as 0/1, PostgreSQL as BOOLEAN. */
export const bool: Column<boolean> = (v, name) => {
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  throw mismatch(name, 'a boolean');
};

export const bytes: Column<Buffer> = (v, name) => {
  if (Buffer.isBuffer(v)) return v;
  throw mismatch(name, 'bytes');
};

/**
 * JSON the store itself wrote: TEXT holding JSON.stringify output, or already parsed when
 * PostgreSQL built it (json_agg). Its shape is trusted, as the write path typed it.
 */
const jsonValue = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

export function json<T>(): Column<T> {
  return (v) => jsonValue<T>(v);
}

export function oneOf<T extends string>(values: readonly T[]): Column<T> {
  const allowed = new Set<unknown>(values);
  return (v, name) => {
    if (allowed.has(v)) return v as T;
    throw mismatch(name, values.join(' | '));
  };
}

/** A column decoder for every field of T, and none for anything else. */
export type Columns<T> = { [K in keyof T]-?: Column<T[K]> };

/** An object row; anything else is a store fault. */
function objectRow(row: unknown): Row {
  if (typeof row !== 'object' || row === null) throw new Error('store row: expected an object');
  return row as Row;
}

/** Builds T from a row, field by field, in the order the columns are listed (the hot rows are written out below). */
export function rowDecoder<T>(columns: Columns<T>): (row: unknown) => T {
  const fields = Object.entries<Column<unknown>>(columns);
  return (row) => {
    const r = objectRow(row);
    const out: Row = {};
    for (const [name, read] of fields) out[name] = read(r[name], name);
    return out as T;
  };
}

/** A row that may be absent: better-sqlite3 gives undefined, the pg helpers null. */
export function maybe<T>(decode: (row: unknown) => T, row: unknown): T | null {
  return row === undefined || row === null ? null : decode(row);
}

export const toOrg = rowDecoder<OrgRow>({ id: text, name: text, is_default: bool, created_at: text });

export const toApiKey = rowDecoder<ApiKeyRow>({ id: text, org_id: text, name: nullableText, hash: text, created_at: text, revoked_at: nullableText });

export const toVault = rowDecoder<VaultWithCount>({
  id: text,
  org_id: text,
  name: text,
  description: nullableText,
  created_at: text,
  updated_at: text,
  secret_count: int,
});

const credentialType = oneOf(credentialTypes);
const nullableJson = <T>(v: unknown): T | null => (v === null || v === undefined ? null : jsonValue<T>(v));

/**
 * Written out field by field, not through `rowDecoder`: the proxy decodes every secret an agent may
 * use on each request, and a literal of fixed shape decodes in about half the time of the generic loop.
 */
export function toSecret(row: unknown): SecretRow {
  const r = objectRow(row);
  return {
    id: text(r.id, 'id'),
    org_id: text(r.org_id, 'org_id'),
    vault_id: text(r.vault_id, 'vault_id'),
    env_key: text(r.env_key, 'env_key'),
    allowed_domains: jsonValue(r.allowed_domains),
    inject_in: jsonValue(r.inject_in),
    description: nullableText(r.description, 'description'),
    labels: jsonValue(r.labels),
    revealable: bool(r.revealable, 'revealable'),
    version: int(r.version, 'version'),
    created_at: text(r.created_at, 'created_at'),
    updated_at: text(r.updated_at, 'updated_at'),
    type: credentialType(r.type, 'type'),
    rules: nullableJson(r.rules),
    rate_limit: nullableJson(r.rate_limit),
    signing: nullableJson(r.signing),
  };
}

const versionMetaColumns: Columns<SecretVersionMeta> = {
  version: int,
  created_at: text,
  actor: text,
  changed: json(),
  allowed_domains: json(),
  inject_in: json(),
  description: nullableText,
};

export const toVersionMeta = rowDecoder<SecretVersionMeta>(versionMetaColumns);

export const toVersion = rowDecoder<SecretVersionRow>({
  ...versionMetaColumns,
  secret_id: text,
  kek_id: text,
  wrapped_key: bytes,
  ciphertext: bytes,
  fingerprint: text,
});

export const toWrappedKeyRef = rowDecoder<WrappedKeyRef>({ org_id: text, vault_id: text, secret_id: text, version: int, kek_id: text, wrapped_key: bytes });

export const toAuditEvent = rowDecoder<AuditEvent>({
  id: text,
  seq: int,
  type: text,
  time: text,
  org_id: text,
  actor: text,
  vault_id: nullableText,
  secret_id: nullableText,
  agent_id: nullableText,
  target_id: nullableText,
  request_id: nullableText,
  source_ip: nullableText,
  outcome: oneOf<AuditEvent['outcome']>(['success', 'denied', 'failure']),
  reason: nullableText,
  details: json(),
  prev_hash: text,
  hash: text,
});

const agentStatus = oneOf<AgentStatus>(['stopped', 'deployed']);

/** Field by field like `toSecret`: the agent row is read with its secrets on every proxied request. */
export function toAgent(row: unknown): AgentRow {
  const r = objectRow(row);
  return {
    id: text(r.id, 'id'),
    org_id: text(r.org_id, 'org_id'),
    name: text(r.name, 'name'),
    env: jsonValue(r.env),
    status: agentStatus(r.status, 'status'),
    created_at: text(r.created_at, 'created_at'),
    updated_at: text(r.updated_at, 'updated_at'),
  };
}

/** An agent row carrying its env_vars and vault_ids as JSON arrays (PostgreSQL aggregates them). */
export function toAgentView(row: unknown): AgentView {
  const r = objectRow(row);
  return { ...toAgent(r), env_vars: jsonValue(r.env_vars), vault_ids: jsonValue(r.vault_ids) };
}

export const toEnvVarRef = rowDecoder<EnvVarRef>({ name: text, from_secret_id: text });

export const toAttachment = rowDecoder<AttachmentRow>({ id: text, org_id: text, agent_id: text, vault_id: text, created_at: text });

export const toAgentToken = rowDecoder<AgentTokenRow>({ id: text, org_id: text, agent_id: text, hash: text, created_at: text, revoked_at: nullableText });

export const toGrant = rowDecoder<GrantRow>({ id: text, org_id: text, agent_id: text, secret_id: text, created_at: text });

export const toServingNode = rowDecoder<ServingNodeRow>({ id: text, pid: int, hostname: text, started_at: text, heartbeat_at: text });

export const toOAuthToken = rowDecoder<OAuthTokenRow>({
  org_id: text,
  secret_id: text,
  secret_version: int,
  kek_id: text,
  wrapped_key: bytes,
  ciphertext: bytes,
  expires_at: nullableText,
  obtained_at: text,
});
