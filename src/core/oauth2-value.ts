// The value of an `oauth2` secret: its JSON shape, its grant, and the strings that must never reach an agent.
import { VaultError } from '../contract/errors.js';
import { findDuplicateKey } from './json-duplicates.js';

export interface OAuth2Value {
  token_url: string;
  client_id: string;
  client_secret?: string;
  refresh_token?: string;
  scopes?: string[];
}

export type OAuth2Grant = 'client_credentials' | 'refresh_token';

const knownFields = new Set(['token_url', 'client_id', 'client_secret', 'refresh_token', 'scopes']);
const maxUrlLength = 2048;
const maxCredentialLength = 8192;
const maxScopes = 64;
/** RFC 6749 §3.3 scope-token: printable ASCII but space, `"` and `\`. */
const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/;
/** Credentials travel in a form body or a Basic header: printable, no control characters. */
const controlCharacter = /[\x00-\x1F\x7F]/;

const invalid = (message: string) => new VaultError('invalid_request', message);

function credential(input: Record<string, unknown>, field: string, required: boolean): string | undefined {
  const v = input[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw invalid(`value.${field} must be a non-empty string`);
  if (v.length > maxCredentialLength) throw invalid(`value.${field} must be at most ${maxCredentialLength} characters`);
  if (controlCharacter.test(v)) throw invalid(`value.${field} must not contain control characters`);
  return v;
}

function tokenUrl(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > maxUrlLength) throw invalid(`value.token_url must be a URL of at most ${maxUrlLength} characters`);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw invalid('value.token_url must be an absolute URL');
  }
  if (url.protocol !== 'https:') throw invalid('value.token_url must be an https URL');
  if (url.username !== '' || url.password !== '') throw invalid('value.token_url must not contain credentials');
  if (url.hash !== '') throw invalid('value.token_url must not have a fragment');
  return v;
}

function scopes(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > maxScopes) throw invalid(`value.scopes must be an array of at most ${maxScopes} scopes`);
  v.forEach((s, i) => {
    if (typeof s !== 'string' || !scopeToken.test(s)) throw invalid(`value.scopes[${i}] must be a scope token (printable ASCII without space, " or \\)`);
  });
  return v as string[];
}

/** Parses and checks an `oauth2` secret's value. Errors name the field, never its content. */
export function parseOAuth2Value(json: string): OAuth2Value {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw invalid('value must be a JSON object for an oauth2 secret');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('value must be a JSON object for an oauth2 secret');
  if (findDuplicateKey(json) !== null) throw invalid('value must not repeat a field');
  const input = parsed as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!knownFields.has(key)) throw invalid(`value has an unknown field; allowed: ${[...knownFields].join(', ')}`);
  }
  const value: OAuth2Value = { token_url: tokenUrl(input.token_url), client_id: credential(input, 'client_id', true)! };
  const clientSecret = credential(input, 'client_secret', false);
  const refreshToken = credential(input, 'refresh_token', false);
  const scopeList = scopes(input.scopes);
  if (clientSecret !== undefined) value.client_secret = clientSecret;
  if (refreshToken !== undefined) value.refresh_token = refreshToken;
  if (scopeList !== undefined) value.scopes = scopeList;
  return value;
}

/** With a refresh token the secret is refreshed; without, the client authenticates as itself. */
export function grantOf(value: OAuth2Value): OAuth2Grant {
  return value.refresh_token === undefined ? 'client_credentials' : 'refresh_token';
}

/** The value as stored: the canonical field order, absent fields left out. */
export function serializeOAuth2Value(value: OAuth2Value): string {
  const { token_url, client_id, client_secret, refresh_token, scopes: scopeList } = value;
  return JSON.stringify({ token_url, client_id, client_secret, refresh_token, scopes: scopeList });
}

/**
 * Every string of an oauth2 secret that must never reach the agent, for the proxy's echo scrubbing:
 * the current access token, the refresh token and the client secret (the client id is not secret).
 */
export function echoValues(value: OAuth2Value, accessToken: string | null): string[] {
  const out = [accessToken, value.refresh_token, value.client_secret].filter((s): s is string => typeof s === 'string' && s.length > 0);
  return [...new Set(out)];
}
