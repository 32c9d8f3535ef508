// One call to an OAuth2 token endpoint: the request a secret's value makes, and the answer read back.
import { VaultError } from '../contract/errors.js';
import { echoForms } from '../core/echo-forms.js';
import { scrubAll } from '../core/scrub.js';
import { grantOf, type OAuth2Value } from '../core/oauth2-value.js';

/**
 * Sends one POST of `form` (application/x-www-form-urlencoded) with `headers` to `tokenUrl`. Wired by
 * main to the proxy's upstream dialer, so the endpoint is dialled under the same rules as any upstream.
 */
export type TokenFetcher = (tokenUrl: URL, form: URLSearchParams, headers: Record<string, string>) => Promise<{ status: number; body: Buffer }>;

/**
 * The token endpoint refused or could not be reached. The message names the HTTP status and the
 * OAuth `error` code, with `error_description` only after every form of the secret's credentials
 * was scrubbed from it; the body itself is never kept.
 */
export class TokenEndpointError extends VaultError {
  readonly endpointStatus: number | null;
  readonly oauthError: string | null;

  constructor(endpointStatus: number | null, oauthError: string | null, message: string) {
    super('upstream_failed', message);
    this.name = 'TokenEndpointError';
    this.endpointStatus = endpointStatus;
    this.oauthError = oauthError;
  }
}

export interface TokenRequest {
  url: URL;
  form: URLSearchParams;
  headers: Record<string, string>;
}

export interface TokenAnswer {
  accessToken: string;
  /** Seconds, as the endpoint said; null when it did not say. */
  expiresIn: number | null;
  /** A refresh token the endpoint handed out, if any. */
  refreshToken: string | null;
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined as HTTP Basic credentials. */
const formEncoded = (s: string) => new URLSearchParams([['', s]]).toString().slice(1);

/** client_secret_basic when there is a client secret; a public client names itself in the form. */
export function tokenRequestOf(value: OAuth2Value): TokenRequest {
  const form = new URLSearchParams({ grant_type: grantOf(value) });
  if (value.refresh_token !== undefined) form.set('refresh_token', value.refresh_token);
  if (value.scopes !== undefined && value.scopes.length > 0) form.set('scope', value.scopes.join(' '));
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (value.client_secret !== undefined) {
    const basic = Buffer.from(`${formEncoded(value.client_id)}:${formEncoded(value.client_secret)}`, 'utf8').toString('base64');
    headers.authorization = `Basic ${basic}`;
  } else {
    form.set('client_id', value.client_id);
  }
  return { url: new URL(value.token_url), form, headers };
}

/** RFC 6749 §5.2: `error` and `error_description` are printable ASCII without `"` and `\`. */
const errorText = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;
const maxErrorCode = 64;
const maxDescription = 200;
/** An access token goes into a header: printable, no control characters. */
const headerSafe = /^[\x21-\x7E][\x20-\x7E]*$/;
/** Longer than any real token lifetime; keeps every computed date representable. */
const maxExpiresIn = 366 * 24 * 3600;

function parseJsonObject(body: Buffer): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** `text` without any form of any of `secrets`. */
function scrubbed(text: string, secrets: readonly string[]): string {
  const redacted = Buffer.from('[redacted]');
  const values = secrets.flatMap((s) => echoForms(Buffer.from(s, 'utf8'), redacted));
  return values.length === 0 ? text : scrubAll(Buffer.from(text, 'utf8'), values).toString('utf8');
}

function refusal(status: number, body: Record<string, unknown> | null, secrets: readonly string[]): TokenEndpointError {
  const rawCode = body?.error;
  const code = typeof rawCode === 'string' && rawCode.length <= maxErrorCode && errorText.test(rawCode) ? scrubbed(rawCode, secrets) : null;
  const rawDescription = body?.error_description;
  const description = typeof rawDescription === 'string' && errorText.test(rawDescription) ? scrubbed(rawDescription, secrets).slice(0, maxDescription) : null;
  const detail = code === null ? '' : ` (${code}${description ? `: ${description}` : ''})`;
  return new TokenEndpointError(status, code, `token endpoint answered ${status}${detail}`);
}

function expiresInOf(v: unknown, status: number): number | null {
  if (v === undefined || v === null) return null;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0) throw new TokenEndpointError(status, null, `token endpoint answered ${status} with an invalid expires_in`);
  return Math.min(n, maxExpiresIn);
}

/** Reads the endpoint's answer; `secrets` are the credentials sent, scrubbed from any error text kept. */
export function readTokenAnswer(status: number, body: Buffer, secrets: readonly string[]): TokenAnswer {
  const json = parseJsonObject(body);
  if (status < 200 || status > 299) throw refusal(status, json, secrets);
  if (!json) throw new TokenEndpointError(status, null, `token endpoint answered ${status} without a JSON object`);
  const accessToken = json.access_token;
  if (typeof accessToken !== 'string' || !headerSafe.test(accessToken)) {
    throw new TokenEndpointError(status, null, `token endpoint answered ${status} without a usable access_token`);
  }
  const tokenType = json.token_type;
  if (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) {
    throw new TokenEndpointError(status, null, `token endpoint answered ${status} with a token_type other than bearer`);
  }
  const refreshToken = json.refresh_token;
  if (refreshToken !== undefined && (typeof refreshToken !== 'string' || !headerSafe.test(refreshToken))) {
    throw new TokenEndpointError(status, null, `token endpoint answered ${status} with an invalid refresh_token`);
  }
  return { accessToken, expiresIn: expiresInOf(json.expires_in, status), refreshToken: refreshToken ?? null };
}
