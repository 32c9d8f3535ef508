// What every service call knows about its caller, and the clock/id dependencies services share.
import type { AuditEventType, AuditOutcome } from '../contract/audit-types.js';
import type { IdFactory } from '../core/ids.js';
import type { AuditDraft } from '../storage/types.js';

export interface Caller {
  orgId: string;
  /** The acting credential: an API key id, an agent id, or `system`/`admin` for the operator's CLI. */
  actor: string;
  requestId: string | null;
  sourceIp: string | null;
}

/** An agent on the agent API or the proxy: the token it presented, and whose it is. */
export interface AgentCaller extends Caller {
  agentId: string;
  tokenId: string;
}

export interface Clock {
  now(): Date;
}

export interface ServiceDeps {
  ids: IdFactory;
  clock: Clock;
  /** Cryptographic randomness, for minted credentials. */
  random: (bytes: number) => Buffer;
}

export const systemClock: Clock = { now: () => new Date() };

export interface EventFields {
  vault_id?: string | null;
  secret_id?: string | null;
  agent_id?: string | null;
  target_id?: string | null;
  outcome?: AuditOutcome;
  reason?: string | null;
  details?: Record<string, unknown>;
}

/** An agent refused something (`proxy.blocked`, `vault.denied`): the secret concerned, if any, and why. */
export function agentDenial(
  deps: ServiceDeps,
  caller: AgentCaller,
  type: 'proxy.blocked' | 'vault.denied',
  denial: { secret: { id: string; vault_id: string } | null; reason: string; details: Record<string, unknown> },
): AuditDraft {
  return draftEvent(deps, caller, type, {
    agent_id: caller.agentId,
    secret_id: denial.secret?.id ?? null,
    vault_id: denial.secret?.vault_id ?? null,
    outcome: 'denied',
    reason: denial.reason,
    details: denial.details,
  });
}

/** Builds an audit draft; the store gives it its seq and hash inside the same transaction. */
export function draftEvent(deps: ServiceDeps, caller: Caller, type: AuditEventType, fields: EventFields = {}): AuditDraft {
  return {
    id: deps.ids('event'),
    type,
    time: deps.clock.now().toISOString(),
    org_id: caller.orgId,
    actor: caller.actor,
    vault_id: fields.vault_id ?? null,
    secret_id: fields.secret_id ?? null,
    agent_id: fields.agent_id ?? null,
    target_id: fields.target_id ?? null,
    request_id: caller.requestId,
    source_ip: caller.sourceIp,
    outcome: fields.outcome ?? 'success',
    reason: fields.reason ?? null,
    details: fields.details ?? {},
  };
}
