// The `meta` rows every backend keeps (keyring, proxy CA), encoded the same bytes everywhere.
import type { ProxyCaRow } from './agent-store.js';
import type { KeyringRow } from './store.js';

export const keyringMetaKey = 'keyring';
export const caMetaKey = 'proxy_ca';

export function encodeKeyring(k: KeyringRow): Buffer {
  return Buffer.from(JSON.stringify({ kek_id: k.kek_id, wrapped_root: k.wrapped_root.toString('base64') }));
}

export function decodeKeyring(value: Buffer): KeyringRow {
  const parsed = JSON.parse(value.toString('utf8')) as { kek_id: string; wrapped_root: string };
  return { kek_id: parsed.kek_id, wrapped_root: Buffer.from(parsed.wrapped_root, 'base64') };
}

export function encodeCa(row: ProxyCaRow): Buffer {
  return Buffer.from(JSON.stringify({ cert_pem: row.cert_pem, sealed_key: row.sealed_key.toString('base64'), created_at: row.created_at }));
}

export function decodeCa(value: Buffer): ProxyCaRow {
  const parsed = JSON.parse(value.toString('utf8')) as { cert_pem: string; sealed_key: string; created_at: string };
  return { cert_pem: parsed.cert_pem, sealed_key: Buffer.from(parsed.sealed_key, 'base64'), created_at: parsed.created_at };
}
