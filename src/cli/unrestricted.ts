// The CLI's rule for unrestricted secrets (no allowed domain: the real value goes into agents' environments): only when said, and said out loud.
import { UsageError } from './errors.js';

/** `null`: the secret stays restricted; `meant`: `--unrestricted` was given; `unsaid`: unrestricted without it (the Namespace-style `vault add` alias). */
export type Unrestricted = null | 'meant' | 'unsaid';

export const unrestrictedRefusal =
  "refusing to create an unrestricted secret: without --allowed-domain its real value goes into every agent's environment; add --allowed-domain HOST (repeatable) or, if that is really meant, --unrestricted";

export const clearRefusal =
  "refusing to make the secret unrestricted: without allowed domains its real value goes into every agent's environment; if that is really meant, add --unrestricted";

/** `--allowed-domain ,` parses to no host at all, which the API would take as "unrestricted". */
function checkDomainsGiven(domains: readonly string[] | undefined): void {
  if (domains !== undefined && domains.length === 0) throw new UsageError('--allowed-domain needs a host name');
}

/**
 * For a new secret, before its value is read: `secrets add` refuses an unrestricted secret unless
 * `--unrestricted` says so; the Namespace-style `vault add` (Namespace has no domains) creates it with a warning.
 */
export function newSecretRestriction(opts: { allowedDomain?: readonly string[]; unrestricted?: boolean }, whenUnsaid: 'refuse' | 'warn'): Unrestricted {
  checkDomainsGiven(opts.allowedDomain);
  if (opts.allowedDomain && opts.unrestricted) throw new UsageError('give --allowed-domain or --unrestricted, not both');
  if (opts.allowedDomain) return null;
  if (opts.unrestricted) return 'meant';
  if (whenUnsaid === 'refuse') throw new UsageError(unrestrictedRefusal);
  return 'unsaid';
}

/** For `set`: `--clear-allowed-domains` makes a secret unrestricted, so it needs `--unrestricted` too. */
export function changeRestriction(opts: { allowedDomain?: readonly string[]; clearAllowedDomains?: boolean; unrestricted?: boolean }): Unrestricted {
  checkDomainsGiven(opts.allowedDomain);
  if (opts.unrestricted && !opts.clearAllowedDomains) throw new UsageError('--unrestricted only goes with --clear-allowed-domains');
  if (!opts.clearAllowedDomains) return null;
  if (!opts.unrestricted) throw new UsageError(clearRefusal);
  return 'meant';
}

/** The one-line stderr warning once an unrestricted secret exists (no value in it, only the name). */
export function unrestrictedWarning(envKey: string, kind: 'meant' | 'unsaid'): string {
  const base = `vaultgate: warning: ${envKey} is unrestricted: agents get its real value in plain in their environment, not a placeholder`;
  return kind === 'meant' ? `${base}\n` : `${base} (restrict it with --allowed-domain HOST, or add --unrestricted to say it is meant)\n`;
}
