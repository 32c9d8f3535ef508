// What a response from a destination is scrubbed of: every value the agent may send there (and,
// for a day after a rotation, the values before it), in every echo form, compiled once per set of versions.
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
  placeholder: Buffer;
  /** The current value, already opened for the request. */
  current: Buffer;
}

export function createEchoScrubs(deps: { store: Pick<Store, 'getSecretVersion'>; keyring: Keyring; clock: Clock }) {
  const cache = new Map<string, EchoScrub>();
  const recent = (secret: SecretRow) => deps.clock.now().getTime() - Date.parse(secret.updated_at) < previousValueGraceMs;

  /** Values of the versions before the current one whose successor was written within the grace period. */
  async function previousValues(secret: SecretRow): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const since = deps.clock.now().getTime() - previousValueGraceMs;
    let successorAt = Date.parse(secret.updated_at);
    for (let version = secret.version - 1; version >= 1 && version >= secret.version - maxPrevious && successorAt >= since; version--) {
      const row = await deps.store.getSecretVersion(secret.org_id, secret.id, version);
      if (!row) break;
      out.push(Buffer.from(openValue(deps.keyring, bindingOf(secret, version), sealedOf(row)), 'utf8'));
      successorAt = Date.parse(row.created_at);
    }
    return out;
  }

  return {
    /** Null when no value may go to the destination: its responses pass through untouched. */
    async forDestination(secrets: readonly ScrubbedSecret[]): Promise<EchoScrub | null> {
      if (secrets.length === 0) return null;
      const key = secrets.map(({ secret }) => `${secret.id}:${secret.version}:${recent(secret) ? 'p' : ''}`).sort().join(',');
      const hit = cache.get(key);
      if (hit) {
        cache.delete(key);
        cache.set(key, hit);
        return hit;
      }
      const raw: ScrubValue[] = [];
      for (const { secret, placeholder, current } of secrets) {
        raw.push({ value: current, placeholder });
        if (recent(secret)) for (const value of await previousValues(secret)) if (!value.equals(current)) raw.push({ value, placeholder });
      }
      const scrub = compileScrub(scrubForms(raw));
      cache.set(key, scrub);
      if (cache.size > maxCached) cache.delete(cache.keys().next().value as string);
      return scrub;
    },
  };
}

export type EchoScrubs = ReturnType<typeof createEchoScrubs>;
