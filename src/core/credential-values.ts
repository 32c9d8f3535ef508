// What a secret of each credential type holds (SPEC §10), checked when written and read back when used.
// Messages name the field at fault and never contain any part of the value.
import type { CredentialType } from '../contract/schemas.js';

export interface AwsCredentials {
  access_key_id: string;
  secret_access_key: string;
  session_token?: string;
}

export interface OAuth2Credentials {
  token_url: string;
  client_id: string;
  client_secret?: string;
  refresh_token?: string;
  scopes?: string[];
}

export type OAuth2Grant = 'client_credentials' | 'refresh_token';

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

const oauth2Fields: Record<keyof OAuth2Credentials, FieldRule> = {
  token_url: { required: true, check: (v) => (typeof v === 'string' ? tokenUrlProblem(v) : 'must be an https:// URL') },
  client_id: { required: true, check: text('non-empty printable ASCII without spaces') },
  client_secret: { required: false, check: text('non-empty printable ASCII without spaces') },
  refresh_token: { required: false, check: text('non-empty printable ASCII without spaces') },
  scopes: {
    required: false,
    check: (v) => (Array.isArray(v) && v.length <= 64 && v.every((s) => typeof s === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/.test(s)) ? null : 'must be a list of at most 64 scope tokens'),
  },
};

function tokenUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an https:// URL';
  }
  if (url.protocol !== 'https:') return 'must be an https:// URL (plain http never carries a secret)';
  if (url.username || url.password) return 'must not carry credentials in the URL';
  if (url.hash) return 'must not have a fragment';
  return null;
}

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
  const checked = checkObject(input, type === 'aws_sigv4' ? awsFields : oauth2Fields);
  if (!checked.ok) return checked;
  const f = checked.fields;
  return {
    ok: true,
    text: JSON.stringify(f),
    sessionToken: type === 'aws_sigv4' && typeof f.session_token === 'string',
    tokenUrl: type === 'oauth2' ? new URL(f.token_url as string) : null,
  };
}

/** Reads back a sealed aws_sigv4 value (checked when written). */
export function readAwsCredentials(sealed: string): AwsCredentials {
  return JSON.parse(sealed) as AwsCredentials;
}

/** Reads back a sealed oauth2 value (checked when written). */
export function readOAuth2Credentials(sealed: string): OAuth2Credentials {
  return JSON.parse(sealed) as OAuth2Credentials;
}

/** With a refresh token the grant is `refresh_token`, else `client_credentials` (SPEC §10). */
export function grantOf(value: OAuth2Credentials): OAuth2Grant {
  return value.refresh_token ? 'refresh_token' : 'client_credentials';
}
