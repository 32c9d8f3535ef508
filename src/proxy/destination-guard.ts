// A placeholder in a destination (CONNECT authority, Host, absolute-form target) is refused before
// any DNS lookup or dial, and is never recorded: the audited host keeps only what follows it.
import type { IncomingMessage } from 'node:http';
import type { Destination } from '../core/host-match.js';

export const placeholderInDestination = 'placeholder in the destination';

/** `vgph_` in any case, anywhere: host names are case-insensitive, so a lowercased placeholder still counts. */
export function namesPlaceholder(authority: string): boolean {
  return /vgph_/i.test(authority);
}

/**
 * What the audit may record of such an authority: every label up to the last one holding `vgph_`
 * becomes `vgph_…` (the labels in front are the agent's payload too), and so does any later label
 * that looks like a placeholder's tail; the rest and the port are kept.
 */
export function redactedDestination(authority: string, defaultPort: number): Destination {
  const port = /:(\d{1,5})$/.exec(authority);
  const host = (port ? authority.slice(0, port.index) : authority).toLowerCase();
  // A label of 16+ base62 characters after it may be the placeholder's tail written as its own label.
  const rest = host
    .slice(host.lastIndexOf('vgph_'))
    .replace(/^[^.]*/, '')
    .replace(/[^\x21-\x7e]/g, '?')
    .split('.')
    .map((label) => (/^[0-9a-z]{16,}$/.test(label) ? '…' : label))
    .join('.');
  return { host: `vgph_…${rest}`.slice(0, 260), port: port ? Number(port[1]) : defaultPort, isIp: false };
}

/**
 * Whether a request inside a tunnel names a placeholder as its destination: in a Host header, or in
 * the authority of an absolute-form target (the whole target when it has no `scheme://` to split on).
 */
export function requestNamesPlaceholder(req: IncomingMessage): boolean {
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === 'host' && namesPlaceholder(req.rawHeaders[i + 1]!)) return true;
  }
  const target = req.url ?? '/';
  if (target.startsWith('/')) return false;
  return namesPlaceholder(/^[^:/?#]*:\/\/([^/?#\\]*)/.exec(target)?.[1] ?? target);
}
