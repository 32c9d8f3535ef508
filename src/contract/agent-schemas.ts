// Wire schemas for agents, attachments, tokens, grants, the agent runtime API and the default-vault API (/v1/vault).
import { Type, type Static } from '@sinclair/typebox';
import { InjectSurface } from './schemas.js';

const Timestamp = Type.String({ format: 'date-time', examples: ['2026-04-25T11:45:19.000Z'] });

export const EnvVar = Type.Object({ name: Type.String(), from_secret_id: Type.String() }, { additionalProperties: false });
export type EnvVar = Static<typeof EnvVar>;

export const AgentStatus = Type.Unsafe<'stopped' | 'deployed'>({ type: 'string', enum: ['stopped', 'deployed'] });

export const Agent = Type.Object({
  id: Type.String({ examples: ['agt_01KQ27AQH800XQTQPJZ0DH14SJ'] }),
  name: Type.String(),
  status: AgentStatus,
  env: Type.Record(Type.String(), Type.String()),
  env_vars: Type.Array(EnvVar),
  vault_ids: Type.Array(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Agent = Static<typeof Agent>;

export const CreateAgentBody = Type.Object(
  {
    name: Type.String(),
    env: Type.Optional(Type.Record(Type.String(), Type.String())),
    env_vars: Type.Optional(Type.Array(EnvVar, { maxItems: 1000 })),
    vault_ids: Type.Optional(Type.Array(Type.String(), { maxItems: 1000 })),
  },
  { additionalProperties: false },
);
export type CreateAgentBody = Static<typeof CreateAgentBody>;

export const UpdateAgentBody = Type.Object(
  {
    name: Type.Optional(Type.String()),
    env: Type.Optional(Type.Record(Type.String(), Type.String())),
    env_vars: Type.Optional(Type.Array(EnvVar, { maxItems: 1000 })),
  },
  { additionalProperties: false },
);
export type UpdateAgentBody = Static<typeof UpdateAgentBody>;

export const AttachVaultBody = Type.Object({ vault_id: Type.String() }, { additionalProperties: false });

export const Resource = Type.Object({
  id: Type.String(),
  agent_id: Type.String(),
  entity_type: Type.Literal('vault'),
  entity_id: Type.String(),
  created_at: Timestamp,
});
export type Resource = Static<typeof Resource>;

export const CreateResourceBody = Type.Object(
  { entity_type: Type.Unsafe<'vault'>({ type: 'string', enum: ['vault'] }), entity_id: Type.String() },
  { additionalProperties: false },
);

export const AgentToken = Type.Object({ id: Type.String(), token: Type.String(), agent_id: Type.String(), created_at: Timestamp });
export type AgentToken = Static<typeof AgentToken>;

export const AgentTokenInfo = Type.Object({ id: Type.String(), agent_id: Type.String(), created_at: Timestamp, revoked_at: Type.Union([Timestamp, Type.Null()]) });
export type AgentTokenInfo = Static<typeof AgentTokenInfo>;

export const Grant = Type.Object({ grant_id: Type.String(), agent_id: Type.String(), secret_id: Type.String(), created_at: Timestamp });
export type Grant = Static<typeof Grant>;

export const CreateGrantBody = Type.Object({ agent_id: Type.String(), secret_id: Type.String() }, { additionalProperties: false });
export type CreateGrantBody = Static<typeof CreateGrantBody>;

export const AgentEnvironment = Type.Object({
  env: Type.Record(Type.String(), Type.String()),
  proxy_url: Type.String(),
  ca_certificate: Type.String(),
});
export type AgentEnvironment = Static<typeof AgentEnvironment>;

/** One variable of an agent's environment as the operator sees it: where it comes from and its form, never its value. */
export const EnvironmentEntry = Type.Object({
  name: Type.String(),
  /** `value`: the real value is in the environment; `placeholder`: only the proxy swaps it in. */
  form: Type.Unsafe<'value' | 'placeholder'>({ type: 'string', enum: ['value', 'placeholder'] }),
  source: Type.Unsafe<'env' | 'env_var' | 'grant' | 'attached_vault'>({ type: 'string', enum: ['env', 'env_var', 'grant', 'attached_vault'] }),
  secret_id: Type.Union([Type.String(), Type.Null()]),
  vault_id: Type.Union([Type.String(), Type.Null()]),
});
export type EnvironmentEntry = Static<typeof EnvironmentEntry>;

export const SecretValue = Type.Object({ value: Type.String() });

export const DefaultVaultSecret = Type.Object({ id: Type.String(), name: Type.String(), created_at: Timestamp });
export type DefaultVaultSecret = Static<typeof DefaultVaultSecret>;

export const DefaultVaultCreateSecretBody = Type.Object({ name: Type.String(), value: Type.Optional(Type.String()) }, { additionalProperties: false });

// SPEC §10 explain: what the proxy would do with one request, decided without any value.
export const ExplainBody = Type.Object(
  {
    method: Type.String(),
    url: Type.String({ description: 'Absolute http:// or https:// URL of the request.' }),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    body: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type ExplainBody = Static<typeof ExplainBody>;


export const ExplainPlaceholder = Type.Object({
  env_key: Type.Union([Type.String(), Type.Null()], { description: 'The variable the agent holds it in; null for a placeholder the agent does not hold.' }),
  secret_id: Type.Union([Type.String(), Type.Null()]),
  surface: InjectSurface,
  decision: Type.Unsafe<'inject' | 'block'>({ type: 'string', enum: ['inject', 'block'] }),
  reason: Type.String(),
});

export const ExplainResponse = Type.Object({
  destination: Type.Object({ host: Type.String(), port: Type.Integer() }),
  agent_status: AgentStatus,
  placeholders: Type.Array(ExplainPlaceholder),
  available: Type.Array(Type.Object({ env_key: Type.String(), secret_id: Type.String(), surfaces: Type.Array(InjectSurface) })),
});
export type ExplainResponse = Static<typeof ExplainResponse>;
