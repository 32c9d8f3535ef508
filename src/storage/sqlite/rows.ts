// Row decoding shared by the SQL backends: JSON columns and booleans back into Store rows.
import type { AuditEvent } from '../../contract/schemas.js';
import type { ApiKeyRow, OrgRow, SecretRow, SecretVersionMeta, SecretVersionRow } from '../store.js';

export type Row = Record<string, unknown>;

const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

export function toOrg(r: Row): OrgRow {
  return { id: r.id as string, name: r.name as string, is_default: Boolean(r.is_default), created_at: r.created_at as string };
}

export function toApiKey(r: Row): ApiKeyRow {
  return {
    id: r.id as string,
    org_id: r.org_id as string,
    name: (r.name as string | null) ?? null,
    hash: r.hash as string,
    created_at: r.created_at as string,
    revoked_at: (r.revoked_at as string | null) ?? null,
  };
}

export function toSecret(r: Row): SecretRow {
  return {
    id: r.id as string,
    org_id: r.org_id as string,
    vault_id: r.vault_id as string,
    env_key: r.env_key as string,
    allowed_domains: json(r.allowed_domains),
    inject_in: json(r.inject_in),
    description: (r.description as string | null) ?? null,
    labels: json(r.labels),
    revealable: Boolean(r.revealable),
    version: Number(r.version),
    created_at: r.created_at as string,
    updated_at: r.updated_at as string,
  };
}

export function toVersionMeta(r: Row): SecretVersionMeta {
  return {
    version: Number(r.version),
    created_at: r.created_at as string,
    actor: r.actor as string,
    changed: json(r.changed),
    allowed_domains: json(r.allowed_domains),
    inject_in: json(r.inject_in),
    description: (r.description as string | null) ?? null,
  };
}

export function toVersion(r: Row): SecretVersionRow {
  return {
    ...toVersionMeta(r),
    secret_id: r.secret_id as string,
    kek_id: r.kek_id as string,
    wrapped_key: r.wrapped_key as Buffer,
    ciphertext: r.ciphertext as Buffer,
    fingerprint: r.fingerprint as string,
  };
}

export function toAuditEvent(r: Row): AuditEvent {
  return {
    id: r.id as string,
    seq: Number(r.seq),
    type: r.type as string,
    time: r.time as string,
    org_id: r.org_id as string,
    actor: r.actor as string,
    vault_id: (r.vault_id as string | null) ?? null,
    secret_id: (r.secret_id as string | null) ?? null,
    agent_id: (r.agent_id as string | null) ?? null,
    target_id: (r.target_id as string | null) ?? null,
    request_id: (r.request_id as string | null) ?? null,
    source_ip: (r.source_ip as string | null) ?? null,
    outcome: r.outcome as AuditEvent['outcome'],
    reason: (r.reason as string | null) ?? null,
    details: json(r.details),
    prev_hash: r.prev_hash as string,
    hash: r.hash as string,
  };
}
