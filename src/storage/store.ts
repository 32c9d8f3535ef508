// The Store interface: every method is one atomic operation, audit appends included.
import type { AgentStore } from './agent-store.js';
import type { AuditStore } from './audit-store.js';
import type { MetaStore } from './meta-store.js';
import type { NodeStore } from './node-store.js';
import type { RateStore } from './rate-store.js';
import type { SecretStore } from './secret-store.js';
import type { TokenStore } from './token-store.js';

export interface Store extends SecretStore, AuditStore, MetaStore, AgentStore, NodeStore, RateStore, TokenStore {
  readonly backend: 'sqlite' | 'postgres';
  close(): Promise<void>;
  ping(): Promise<void>;
}
