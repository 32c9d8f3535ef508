// What a response from a destination is scrubbed of: every value the agent may send there (and,
// for a day after a rotation, the values before it), in every echo form, compiled once per set of versions.
import { createHash } from 'node:crypto';
import type { CredentialPart } from '../core/access.js';
import { readAwsCredentials } from '../core/credential-values.js';
import { echoValues, parseOAuth2Value } from '../core/oauth2-value.js';
import { scrubForms } from '../core/echo-forms.js';
import { compileScrub, type CompiledScrub, type ScrubValue } from '../core/scrub.js';
import { openValue } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../storage/store.js';
import type { SecretRow } from '../storage/types.js';
import type { Clock } from './context.js';
import { bindingOf, sealedOf } from './secret-values.js';

/** After a rotation the previous values are still scrubbed for this long (an upstream may hold them). */
export const previousValueGraceMs = 24 * 60 * 60 * 1000;
/** Versions before the current one looked at within the grace period. */
const maxPrevious = 3;
/**
 * Compiled sets kept (oldest out). An automaton for a few values with their previous versions takes
 * about 1 MB, and every rotation makes a new set: the soak benchmark, rotating ten times a second,
 * grew the RSS by 200 MB with 256 of them.
 */
const maxCached = 32;

export type EchoScrub = CompiledScrub;

export interface ScrubbedSecret {
  secret: SecretRow;
  /** The placeholder of each part the agent holds (`value` for static and oauth2 secrets). */
  placeholders: ReadonlyMap<CredentialPart, Buffer>;
  /** The current sealed text, already opened for the request. */
  current: string;
  /** An oauth2 secret's current access token, which is not in its sealed text. */
  accessToken?: Buffer;
  /** Its earlier access tokens that may still be live (renewed ahead of expiry, dropped after a 401). */
  supersededTokens?: readonly Buffer[];
}

/**
 * What of one sealed text must never come back, each mapped to the placeholder the agent knows it
 * by: a static value; an AWS key id, secret key and session token; an OAuth client secret and
 * refresh token (its access token is added by the caller: it is not in the text).
 */
export function echoValuesOf(secret: SecretRow, text: string, placeholders: ReadonlyMap<CredentialPart, Buffer>): ScrubValue[] {
  const out: ScrubValue[] = [];
  const add = (value: string | undefined, part: CredentialPart) => {
    // A part whose own placeholder the agent does not hold (plain env shadows it) is still scrubbed,
    // shown as another placeholder of the same secret.
    const placeholder = placeholders.get(part) ?? placeholders.get('value') ?? placeholders.values().next().value;
    if (value && placeholder) out.push({ value: Buffer.from(value, 'utf8'), placeholder });
  };
  switch (secret.type) {
    case 'static':
      add(text, 'value');
      break;
    case 'aws_sigv4': {
      const aws = readAwsCredentials(text);
      add(aws.access_key_id, 'access_key_id');
      add(aws.secret_access_key, 'secret_access_key');
      add(aws.session_token, 'session_token');
      break;
    }
    case 'oauth2':
      for (const value of echoValues(parseOAuth2Value(text), null)) add(value, 'value');
      break;
  }
  return out;
}

/** Part of a cache key standing for a token without holding it. */
const tokenTag = (token: Buffer | undefined) => (token ? createHash('sha256').update(token).digest('base64url').slice(0, 16) : '');

export function createEchoScrubs(deps: { store: Pick<Store, 'getSecretVersion'>; keyring: Keyring; clock: Clock }) {
  const cache = new Map<string, EchoScrub>();
  const recent = (secret: SecretRow) => deps.clock.now().getTime() - Date.parse(secret.updated_at) < previousValueGraceMs;

  /** Values of the versions before the current one whose successor was written within the grace period. */
  async function previousValues(secret: SecretRow): Promise<string[]> {
    const out: string[] = [];
    const since = deps.clock.now().getTime() - previousValueGraceMs;
    let successorAt = Date.parse(secret.updated_at);
    for (let version = secret.version - 1; version >= 1 && version >= secret.version - maxPrevious && successorAt >= since; version--) {
      const row = await deps.store.getSecretVersion(secret.org_id, secret.id, version);
      if (!row) break;
      out.push(openValue(deps.keyring, bindingOf(secret, version), sealedOf(row)));
      successorAt = Date.parse(row.created_at);
    }
    return out;
  }

  return {
    /** Null when no value may go to the destination: its responses pass through untouched. */
    async forDestination(secrets: readonly ScrubbedSecret[]): Promise<EchoScrub | null> {
      if (secrets.length === 0) return null;
      const key = secrets
        .map(({ secret, accessToken, supersededTokens }) => `${secret.id}:${secret.version}:${recent(secret) ? 'p' : ''}:${[accessToken, ...(supersededTokens ?? [])].map(tokenTag).join('+')}`)
        .sort()
        .join(',');
      const hit = cache.get(key);
      if (hit) {
        cache.delete(key);
        cache.set(key, hit);
        return hit;
      }
      const raw: ScrubValue[] = [];
      for (const { secret, placeholders, current, accessToken, supersededTokens } of secrets) {
        raw.push(...echoValuesOf(secret, current, placeholders));
        const tokenPlaceholder = placeholders.get('value');
        if (tokenPlaceholder) for (const token of [accessToken, ...(supersededTokens ?? [])]) if (token) raw.push({ value: token, placeholder: tokenPlaceholder });
        if (recent(secret)) for (const text of await previousValues(secret)) if (text !== current) raw.push(...echoValuesOf(secret, text, placeholders));
      }
      const scrub = compileScrub(scrubForms(raw));
      cache.set(key, scrub);
      if (cache.size > maxCached) cache.delete(cache.keys().next().value as string);
      return scrub;
    },
  };
}

export type EchoScrubs = ReturnType<typeof createEchoScrubs>;
