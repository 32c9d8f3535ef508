// What the proxy counts (SPEC §11): each request's outcome, injections by surface, refusals by a
// fixed reason word. Labels come from fixed sets: never a host, a path or a value.
import type { ErrorCode } from '../contract/errors.js';
import { errorTable } from '../contract/errors.js';
import type { BlockReason, ProxyMetrics, ProxyOutcome } from '../metrics.js';
import type { Blocked, ProxyAudits } from '../services/proxy-service.js';
import { placeholderInDestination } from './destination-guard.js';

/** Refusals audited without a rule's cause, by the sentence their refusal site writes. */
const reasonWords: Record<string, BlockReason> = {
  'agent is stopped': 'agent_stopped',
  'destination address not allowed': 'destination',
  [placeholderInDestination]: 'destination',
};

export function blockReasonOf(blocked: Pick<Blocked, 'cause' | 'reason'>): BlockReason {
  return blocked.cause ?? reasonWords[blocked.reason] ?? 'other';
}

/** Answers that refuse a request by a rule (and are audited as `proxy.blocked`). */
const blockCodes = new Set<ErrorCode>(['proxy_blocked', 'agent_stopped', 'destination_forbidden', 'rate_limited', 'body_too_large']);

/**
 * How a request ended: the proxy's own answer (`answered`) says refused or failed; a request it did
 * not answer itself went upstream, with or without a value injected.
 */
export function outcomeOf(answered: ErrorCode | undefined, injected: boolean): ProxyOutcome {
  if (answered === undefined) return injected ? 'injected' : 'passed';
  if (blockCodes.has(answered)) return 'blocked';
  return errorTable[answered].status >= 500 ? 'failed' : 'rejected';
}

/** The service's audit calls, counted as they are put on record. */
export function countedAudits<T extends ProxyAudits>(service: T, metrics: ProxyMetrics): T {
  return {
    ...service,
    async auditBlocked(...args: Parameters<ProxyAudits['auditBlocked']>) {
      metrics.blocked(blockReasonOf(args[2]));
      return service.auditBlocked(...args);
    },
    async auditInjected(...args: Parameters<ProxyAudits['auditInjected']>) {
      for (const surfaces of args[1].values()) for (const surface of surfaces) metrics.injected(surface);
      return service.auditInjected(...args);
    },
  };
}
