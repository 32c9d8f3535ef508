// The words the proxy's metrics use for refusals and outcomes.
import { describe, expect, it } from 'vitest';
import { blockReasonOf, outcomeOf } from './proxy-metrics.js';

describe('blockReasonOf', () => {
  it.each([
    [{ reason: 'secret may not be sent to this host', cause: 'host' as const }, 'host'],
    [{ reason: 'rate limit of this secret reached', cause: 'rate_limited' as const }, 'rate_limited'],
    [{ reason: 'no request rule of this secret allows it: x', cause: 'rule_denied' as const }, 'rule_denied'],
    [{ reason: 'agent is stopped' }, 'agent_stopped'],
    [{ reason: 'destination address not allowed' }, 'destination'],
    [{ reason: 'placeholder in the destination' }, 'destination'],
    [{ reason: 'Host does not match the CONNECT destination' }, 'other'],
    [{ reason: 'vgph_anything the agent wrote' }, 'other'],
  ])('%j → %s', (blocked, word) => {
    expect(blockReasonOf(blocked)).toBe(word);
  });
});

describe('outcomeOf', () => {
  it.each([
    [undefined, true, 'injected'],
    [undefined, false, 'passed'],
    ['proxy_blocked', true, 'blocked'],
    ['rate_limited', false, 'blocked'],
    ['agent_stopped', false, 'blocked'],
    ['destination_forbidden', false, 'blocked'],
    ['upstream_failed', true, 'failed'],
    ['upstream_tls_failed', false, 'failed'],
    ['internal', false, 'failed'],
    ['proxy_auth_required', false, 'rejected'],
    ['proxy_bad_request', false, 'rejected'],
  ] as const)('%s (injected %s) → %s', (code, injected, outcome) => {
    expect(outcomeOf(code, injected)).toBe(outcome);
  });
});
