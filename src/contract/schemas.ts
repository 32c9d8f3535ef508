// Wire schemas of the operator API: one TypeBox source for validation, OpenAPI and SDK types.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Timestamp = Type.String({ format: 'date-time', examples: ['2026-04-25T11:45:19.000Z'] });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

// `websocket`: unfragmented text frames of a WebSocket relayed through the proxy (docs/proxy.md).
export const injectSurfaces = ['header', 'path', 'query', 'body', 'websocket'] as const;
export type InjectSurface = (typeof injectSurfaces)[number];
// A plain `enum` (not anyOf of literals) so that a bad entry gets one clear validation error.
export const InjectSurface = Type.Unsafe<InjectSurface>({ type: 'string', enum: [...injectSurfaces] });

// SPEC §10: how the proxy uses a secret. `static` values are injected; the others sign or refresh.
export const credentialTypes = ['static', 'aws_sigv4', 'oauth2'] as const;
export type CredentialType = (typeof credentialTypes)[number];
export const CredentialType = Type.Unsafe<CredentialType>({ type: 'string', enum: [...credentialTypes] });

export const ratePeriods = ['second', 'minute', 'hour'] as const;
export type RatePeriod = (typeof ratePeriods)[number];

export const RequestRule = Type.Object(
  {
    methods: Type.Optional(Type.Array(Type.String(), { description: 'Compared case-insensitively; absent: any method.' })),
    paths: Type.Optional(Type.Array(Type.String(), { description: 'Path globs: `*` one segment, `**` zero or more; absent: any path.' })),
  },
  { additionalProperties: false },
);
export type RequestRule = Static<typeof RequestRule>;

export const RateLimit = Type.Object(
  {
    requests: Type.Integer({ minimum: 1 }),
    per: Type.Unsafe<RatePeriod>({ type: 'string', enum: [...ratePeriods] }),
  },
  { additionalProperties: false },
);
export type RateLimit = Static<typeof RateLimit>;

export const Labels = Type.Record(Type.String(), Type.String(), {
  description: 'Immutable key/value labels set at creation.',
});

export const ErrorResponse = Type.Object(
  {
    error: Type.String(),
    code: Type.String(),
    request_id: Type.Optional(Type.String()),
  },

);

export const Vault = Type.Object(
  {
    id: Type.String({ examples: ['vlt_01KQ27AQH800XQTQPJZ0DH14SJ'] }),
    name: Type.String(),
    description: Nullable(Type.String()),
    secret_count: Type.Integer(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },

);
export type Vault = Static<typeof Vault>;

export const CreateVaultBody = Type.Object(
  {
    name: Type.String(),
    description: Type.Optional(Nullable(Type.String())),
  },
  { additionalProperties: false },
);
export type CreateVaultBody = Static<typeof CreateVaultBody>;

export const UpdateVaultBody = Type.Object(
  {
    name: Type.Optional(Type.String()),
    description: Type.Optional(Nullable(Type.String())),
  },
  { additionalProperties: false },
);
export type UpdateVaultBody = Static<typeof UpdateVaultBody>;

export const Secret = Type.Object(
  {
    id: Type.String({ examples: ['sec_01KQ27AQH800XQTQPJZ0DH14SJ'] }),
    env_key: Type.String(),
    allowed_domains: Type.Array(Type.String()),
    created_at: Timestamp,
    updated_at: Timestamp,
    vault_id: Type.String(),
    version: Type.Integer(),
    revealable: Type.Boolean(),
    labels: Labels,
    description: Nullable(Type.String()),
    inject_in: Type.Array(InjectSurface),
    type: CredentialType,
    rules: Nullable(Type.Array(RequestRule)),
    rate_limit: Nullable(RateLimit),
    regions: Type.Optional(Type.Array(Type.String(), { description: 'aws_sigv4 only: the regions it may sign for.' })),
    services: Type.Optional(Type.Array(Type.String(), { description: 'aws_sigv4 only: the services it may sign for.' })),
  },

);
export type Secret = Static<typeof Secret>;

/** A static value is text; the other credential types hold a JSON object (SPEC §10). */
const SecretValue = Type.Union([Type.String(), Type.Record(Type.String(), Type.Unknown())]);

// `value` is deliberately loose here: the service answers "value cannot be empty" for a
// missing or empty value, exactly as the seeds document, instead of a generic schema error.
export const CreateSecretBody = Type.Object(
  {
    env_key: Type.String(),
    value: Type.Optional(SecretValue),
    allowed_domains: Type.Optional(Type.Array(Type.String())),
    inject_in: Type.Optional(Type.Array(InjectSurface)),
    description: Type.Optional(Nullable(Type.String())),
    labels: Type.Optional(Labels),
    revealable: Type.Optional(Type.Boolean()),
    type: Type.Optional(CredentialType),
    // Checked by the service, which names the exact field at fault.
    rules: Type.Optional(Nullable(Type.Unknown())),
    rate_limit: Type.Optional(Nullable(Type.Unknown())),
    regions: Type.Optional(Type.Array(Type.String())),
    services: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);
export type CreateSecretBody = Static<typeof CreateSecretBody>;

// `labels` and `revealable` are accepted by the schema only so that the service can answer
// the specific "immutable" error instead of "unknown field".
export const UpdateSecretBody = Type.Object(
  {
    value: Type.Optional(SecretValue),
    allowed_domains: Type.Optional(Type.Array(Type.String())),
    inject_in: Type.Optional(Type.Array(InjectSurface)),
    description: Type.Optional(Nullable(Type.String())),
    expected_version: Type.Optional(Type.Integer({ minimum: 1 })),
    rules: Type.Optional(Nullable(Type.Unknown())),
    rate_limit: Type.Optional(Nullable(Type.Unknown())),
    regions: Type.Optional(Type.Array(Type.String())),
    services: Type.Optional(Type.Array(Type.String())),
    labels: Type.Optional(Type.Unknown()),
    revealable: Type.Optional(Type.Unknown()),
    type: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
export type UpdateSecretBody = Static<typeof UpdateSecretBody>;

export const SecretVersion = Type.Object(
  {
    version: Type.Integer(),
    created_at: Timestamp,
    actor: Type.String(),
    changed: Type.Array(Type.String()),
    allowed_domains: Type.Array(Type.String()),
    inject_in: Type.Array(InjectSurface),
    description: Nullable(Type.String()),
  },

);
export type SecretVersion = Static<typeof SecretVersion>;

export const RevealResponse = Type.Object({ value: SecretValue, version: Type.Integer() });
export type RevealResponse = Static<typeof RevealResponse>;

export const AuditEvent = Type.Object(
  {
    id: Type.String(),
    seq: Type.Integer(),
    type: Type.String(),
    time: Timestamp,
    org_id: Type.String(),
    actor: Type.String(),
    vault_id: Nullable(Type.String()),
    secret_id: Nullable(Type.String()),
    agent_id: Nullable(Type.String()),
    target_id: Nullable(Type.String()),
    request_id: Nullable(Type.String()),
    source_ip: Nullable(Type.String()),
    outcome: Type.Unsafe<'success' | 'denied' | 'failure'>({ type: 'string', enum: ['success', 'denied', 'failure'] }),
    reason: Nullable(Type.String()),
    details: Type.Record(Type.String(), Type.Unknown()),
    prev_hash: Type.String(),
    hash: Type.String(),
  },

);
export type AuditEvent = Static<typeof AuditEvent>;

export const AuditVerifyResult = Type.Object(
  {
    ok: Type.Boolean(),
    events: Type.Integer({ description: 'Events checked and found intact.' }),
    head: Nullable(Type.String()),
    head_seq: Type.Integer(),
    broken_at: Type.Optional(Type.Integer()),
    reason: Type.Optional(Type.String()),
  },

);
export type AuditVerifyResult = Static<typeof AuditVerifyResult>;

export const Health = Type.Object({ status: Type.String() });
