// The one table of public errors: stable code → HTTP status → exact public message.

export const errorTable = {
  unauthorized: { status: 401, message: 'unauthorized' },
  auth_throttled: { status: 429, message: 'too many failed authentication attempts' },
  invalid_request: { status: 400, message: 'invalid request' },
  malformed_json: { status: 400, message: 'malformed JSON body' },
  unsupported_media_type: { status: 415, message: 'content-type must be application/json' },
  body_too_large: { status: 413, message: 'request body too large (limit 1 MiB)' },
  not_found: { status: 404, message: 'not found' },
  vault_not_found: { status: 404, message: 'vault not found' },
  secret_not_found: { status: 404, message: 'secret not found' },
  agent_not_found: { status: 404, message: 'agent not found' },
  agent_name_exists: { status: 409, message: 'an agent with this name already exists' },
  token_not_found: { status: 404, message: 'token not found' },
  grant_not_found: { status: 404, message: 'grant not found' },
  resource_not_found: { status: 404, message: 'resource not found' },
  access_denied: { status: 403, message: 'access denied' },
  agent_stopped: { status: 403, message: 'agent is stopped' },
  vault_name_exists: { status: 409, message: 'a vault with this name already exists' },
  vault_in_use: { status: 400, message: 'cannot delete vault: still attached to deployed agent(s)' },
  env_key_exists: { status: 400, message: 'env_key already exists in this vault' },
  value_empty: { status: 400, message: 'value cannot be empty' },
  value_too_large: { status: 400, message: 'value is too large (limit 65536 bytes)' },
  immutable_field: { status: 400, message: 'field is immutable' },
  version_mismatch: { status: 412, message: 'version mismatch' },
  not_revealable: { status: 403, message: 'secret is not revealable' },
  proxy_auth_required: { status: 407, message: 'proxy authentication required' },
  proxy_blocked: { status: 403, message: 'request blocked by vaultgate' },
  rate_limited: { status: 429, message: 'rate limit of this secret reached' },
  proxy_bad_request: { status: 400, message: 'bad proxy request' },
  destination_forbidden: { status: 403, message: 'destination address not allowed' },
  upstream_failed: { status: 502, message: 'upstream request failed' },
  upstream_tls_failed: { status: 502, message: 'upstream certificate verification failed' },
  internal: { status: 500, message: 'internal error' },
  unavailable: { status: 503, message: 'service unavailable' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorTable;

/** The wire shape of every error body. */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
  request_id?: string;
}

/**
 * The one error type. `message` defaults to the table's public message; a more specific
 * message (naming a field, never echoing a value) may replace it.
 */
export class VaultError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? errorTable[code].message, options);
    this.name = 'VaultError';
    this.code = code;
    this.status = errorTable[code].status;
  }
}

/**
 * The store was re-keyed (`admin rotate-master-key`) while this node ran: its data keys are now
 * wrapped under a master key it does not hold, and a restart with the new key fixes that.
 */
export function masterKeyRotated(cause?: unknown): VaultError {
  return new VaultError('unavailable', 'the master key was rotated: restart this node with the new key', cause === undefined ? undefined : { cause });
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(errorTable, value);
}
