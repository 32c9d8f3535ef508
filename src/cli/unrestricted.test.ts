// The unrestricted-secret rule of the CLI, table-driven: which flag sets refuse, which warn, which pass quietly.
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { changeRestriction, clearRefusal, newSecretRestriction, unrestrictedRefusal, unrestrictedWarning } from './unrestricted.js';

describe('newSecretRestriction', () => {
  it.each([
    [{ allowedDomain: ['api.stripe.com'] }, 'refuse', null],
    [{ allowedDomain: ['api.stripe.com'] }, 'warn', null],
    [{ unrestricted: true }, 'refuse', 'meant'],
    [{ unrestricted: true }, 'warn', 'meant'],
    [{}, 'warn', 'unsaid'],
  ] as const)('%j (%s) → %s', (opts, when, kind) => {
    expect(newSecretRestriction(opts, when)).toBe(kind);
  });

  it.each([
    [{}, 'refuse', unrestrictedRefusal],
    [{ allowedDomain: ['api.stripe.com'], unrestricted: true }, 'refuse', 'give --allowed-domain or --unrestricted, not both'],
    [{ allowedDomain: ['api.stripe.com'], unrestricted: true }, 'warn', 'give --allowed-domain or --unrestricted, not both'],
    [{ allowedDomain: [] }, 'refuse', '--allowed-domain needs a host name'],
    [{ allowedDomain: [] }, 'warn', '--allowed-domain needs a host name'],
  ] as const)('%j (%s) is a usage error', (opts, when, message) => {
    expect(() => newSecretRestriction(opts, when)).toThrow(new UsageError(message));
  });
});

describe('changeRestriction', () => {
  it.each([
    [{}, null],
    [{ allowedDomain: ['api.stripe.com'] }, null],
    [{ clearAllowedDomains: true, unrestricted: true }, 'meant'],
  ] as const)('%j → %s', (opts, kind) => expect(changeRestriction(opts)).toBe(kind));

  it.each([
    [{ clearAllowedDomains: true }, clearRefusal],
    [{ unrestricted: true }, '--unrestricted only goes with --clear-allowed-domains'],
    [{ allowedDomain: [] }, '--allowed-domain needs a host name'],
  ] as const)('%j is a usage error', (opts, message) => {
    expect(() => changeRestriction(opts)).toThrow(new UsageError(message));
  });
});

it('the warning is one line and names the variable only', () => {
  expect(unrestrictedWarning('DB_URL', 'meant')).toBe('vaultgate: warning: DB_URL is unrestricted: agents get its real value in plain in their environment, not a placeholder\n');
  expect(unrestrictedWarning('DB_URL', 'unsaid')).toMatch(/^vaultgate: warning: DB_URL is unrestricted: .*\(restrict it with --allowed-domain HOST, or add --unrestricted to say it is meant\)\n$/);
});
