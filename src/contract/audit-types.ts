// The audit event types Vaultgate emits; later subsystems add theirs here.

export const auditEventTypes = [
  'org.created',
  'api_key.created',
  'api_key.revoked',
  'vault.created',
  'vault.updated',
  'vault.deleted',
  'secret.created',
  'secret.updated',
  'secret.deleted',
  'secret.revealed',
  'agent.created',
  'agent.updated',
  'agent.deleted',
  'agent.deployed',
  'agent.stopped',
  'agent.vault_attached',
  'agent.vault_detached',
  'agent.token_created',
  'agent.token_revoked',
  'grant.created',
  'grant.deleted',
  'vault.accessed',
  'vault.denied',
  'proxy.injected',
  'proxy.blocked',
  'auth.failed',
  'keyring.rotated',
] as const;

export type AuditEventType = (typeof auditEventTypes)[number];
export type AuditOutcome = 'success' | 'denied' | 'failure';
