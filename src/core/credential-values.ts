// What a secret of each credential type holds (SPEC §10), checked when written and read back when used.
// Messages name the field at fault and never contain any part of the value.
import { VaultError } from '../contract/errors.js';
import type { CredentialType } from '../contract/schemas.js';
import { parseOAuth2Value, serializeOAuth2Value } from './oauth2-value.js';

export interface AwsCredentials {
  access_key_id: string;
  secret_access_key: string;
  session_token?: string;
}

/** A checked value: the text that is sealed, and what it may say in the clear about itself. */
export type CheckedValue =
  | { ok: true; text: string; sessionToken: boolean; tokenUrl: URL | null }
  | { ok: false; message: string };

const maxFieldLength = 8192;
const printable = /^[\x21-\x7e]+$/;

type Fields = Record<string, unknown>;
type FieldRule = { required: boolean; check: (v: unknown) => string | null };

const text = (what: string, pattern: RegExp = printable) => (v: unknown) =>
  typeof v === 'string' && v.length > 0 && v.length <= maxFieldLength && pattern.test(v) ? null : `must be ${what}`;

const awsFields: Record<keyof AwsCredentials, FieldRule> = {
  access_key_id: { required: true, check: text('16 to 128 uppercase letters or digits', /^[A-Z0-9]{16,128}$/) },
  secret_access_key: { required: true, check: text('non-empty printable ASCII without spaces') },
  session_token: { required: false, check: text('non-empty printable ASCII without spaces') },
};

function checkObject(input: unknown, rules: Record<string, FieldRule>): { ok: true; fields: Fields } | { ok: false; message: string } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, message: 'value must be a JSON object for this credential type' };
  const fields = input as Fields;
  for (const key of Object.keys(fields)) {
    if (!Object.prototype.hasOwnProperty.call(rules, key)) return { ok: false, message: `value has an unknown field: ${printableName(key)}` };
  }
  // Checked, and written back, in the rules' order: the sealed text is canonical.
  const out: Fields = {};
  for (const [key, rule] of Object.entries(rules)) {
    const v = fields[key];
    if (v === undefined || v === null) {
      if (rule.required) return { ok: false, message: `value.${key} is required` };
      continue;
    }
    const problem = rule.check(v);
    if (problem) return { ok: false, message: `value.${key} ${problem}` };
    out[key] = v;
  }
  return { ok: true, fields: out };
}

/** A field name is the caller's text too: shown only when short and plain. */
function printableName(key: string): string {
  return /^[A-Za-z0-9_]{1,64}$/.test(key) ? key : '(a field name that is not shown)';
}

/** Checks a value written for `type`. Static values are checked by the caller (as text); here only the structured types. */
export function checkCredentialValue(type: Exclude<CredentialType, 'static'>, input: unknown): CheckedValue {
  if (type === 'oauth2') {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, message: 'value must be a JSON object for this credential type' };
    try {
      const value = parseOAuth2Value(JSON.stringify(input));
      return { ok: true, text: serializeOAuth2Value(value), sessionToken: false, tokenUrl: new URL(value.token_url) };
    } catch (err) {
      return { ok: false, message: err instanceof VaultError ? err.message : 'value is not a valid oauth2 credential' };
    }
  }
  const checked = checkObject(input, awsFields);
  if (!checked.ok) return checked;
  return { ok: true, text: JSON.stringify(checked.fields), sessionToken: typeof checked.fields.session_token === 'string', tokenUrl: null };
}

/** Reads back a sealed aws_sigv4 value (checked when written). */
export function readAwsCredentials(sealed: string): AwsCredentials {
  return JSON.parse(sealed) as AwsCredentials;
}
