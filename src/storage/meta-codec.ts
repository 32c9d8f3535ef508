// The `meta` rows every backend keeps (keyring, proxy CA), encoded the same bytes everywhere.
import { rowDecoder, text } from './rows.js';
import type { KeyringRow, ProxyCaRow } from './types.js';

export const keyringMetaKey = 'keyring';
export const caMetaKey = 'proxy_ca';

const keyringJson = rowDecoder<{ kek_id: string; wrapped_root: string }>({ kek_id: text, wrapped_root: text });
const caJson = rowDecoder<{ cert_pem: string; sealed_key: string; created_at: string }>({ cert_pem: text, sealed_key: text, created_at: text });

export function encodeKeyring(k: KeyringRow): Buffer {
  return Buffer.from(JSON.stringify({ kek_id: k.kek_id, wrapped_root: k.wrapped_root.toString('base64') }));
}

export function decodeKeyring(value: Buffer): KeyringRow {
  const parsed = keyringJson(JSON.parse(value.toString('utf8')));
  return { kek_id: parsed.kek_id, wrapped_root: Buffer.from(parsed.wrapped_root, 'base64') };
}

export function encodeCa(row: ProxyCaRow): Buffer {
  return Buffer.from(JSON.stringify({ cert_pem: row.cert_pem, sealed_key: row.sealed_key.toString('base64'), created_at: row.created_at }));
}

export function decodeCa(value: Buffer): ProxyCaRow {
  const parsed = caJson(JSON.parse(value.toString('utf8')));
  return { cert_pem: parsed.cert_pem, sealed_key: Buffer.from(parsed.sealed_key, 'base64'), created_at: parsed.created_at };
}
