// SPEC §10 explain: what the proxy would do with one request, per placeholder, and why. It applies
// the proxy's own rules (core/access) to the agent's facts; it decrypts nothing, sends nothing and
// takes no rate-limit slot.
import { VaultError } from '../contract/errors.js';
import type { ExplainBody, ExplainResponse } from '../contract/agent-schemas.js';
import type { InjectSurface, RateLimit } from '../contract/schemas.js';
import {
  decidePlaceholder,
  decideSignature,
  deliveredSecrets,
  destinationMayReceive,
  placeholderSubject,
  receivesValues,
  type BlockCause,
  type CredentialPart,
  type PlaceholderVerdict,
  type RequestLine,
} from '../core/access.js';
import { parseAuthority, type Destination } from '../core/host-match.js';
import { placeholderFor, placeholderPattern } from '../core/placeholders.js';
import { methodName } from '../core/request-rules.js';
import { parseSigV4Authorization } from '../core/sigv4.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../storage/store.js';
import type { SecretRow } from '../storage/types.js';
import type { Caller } from './context.js';

export type ExplainStore = Pick<Store, 'agentAccessFacts'>;

/** Whether a request would be over a secret's rate limit, without taking a slot (services/rate-limits.ts). */
export interface RatePeek {
  peek(orgId: string, secretId: string, agentId: string, limit: RateLimit | null, now: Date): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }>;
}

/** The words SPEC §10 names the causes by, in front of the proxy's own sentence. */
const causeWords: Record<BlockCause | 'rate_limited' | 'stopped', string> = {
  unknown_placeholder: 'unknown placeholder',
  plain_http: 'plain http',
  host: 'host',
  surface: 'surface',
  credential_type: 'credential type',
  rule_denied: 'rule',
  scope: 'credential type',
  unavailable: 'unavailable',
  rate_limited: 'rate limit',
  stopped: 'stopped agent',
};

const invalid = (message: string) => new VaultError('invalid_request', message);
/** `$NAME` or `${NAME}`: a variable of the agent's environment, as a shell would write it. */
const envReference = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const maxExplainBody = 1024 * 1024;

interface Held {
  name: string;
  secret: SecretRow;
  part: CredentialPart;
}

/** Where in the request each placeholder is: path, query, each header, body (in that order, each once per surface). */
function findPlaceholders(target: string, headers: Record<string, string>, body: string | undefined): { placeholder: string; surface: InjectSurface; header?: string }[] {
  const found: { placeholder: string; surface: InjectSurface; header?: string }[] = [];
  const seen = new Set<string>();
  const scan = (text: string, surface: InjectSurface, header?: string) => {
    for (const m of text.matchAll(placeholderPattern)) {
      const key = `${m[0]}\0${surface}`;
      if (seen.has(key)) continue;
      seen.add(key);
      found.push({ placeholder: m[0], surface, ...(header ? { header } : {}) });
    }
  };
  const q = target.indexOf('?');
  scan(q < 0 ? target : target.slice(0, q), 'path');
  if (q >= 0) scan(target.slice(q + 1), 'query');
  for (const [name, value] of Object.entries(headers)) scan(value, 'header', name.toLowerCase());
  if (body !== undefined) scan(body, 'body');
  return found;
}

export function createExplainService(deps: { store: ExplainStore; keyring: Keyring; rates: RatePeek; clock: { now(): Date } }) {
  const { store, keyring, rates } = deps;

  return {
    async explain(caller: Caller, agentId: string, input: ExplainBody): Promise<ExplainResponse> {
      const { destination, tls, line } = checkRequest(input);
      const facts = await store.agentAccessFacts(caller.orgId, agentId);
      if (!facts) throw new VaultError('agent_not_found');
      const stopped = !receivesValues(facts.agent);

      const held = new Map<string, Held>();
      for (const e of deliveredSecrets(facts, facts.agent.env)) {
        if (e.form !== 'placeholder') continue;
        held.set(placeholderFor(keyring.placeholderKey, agentId, placeholderSubject(e.secret.id, e.part)), { name: e.name, secret: e.secret, part: e.part });
      }
      // An operator writes `$STRIPE_KEY` (or `${STRIPE_KEY}`) where the agent would send its placeholder.
      const byName = new Map([...held].map(([placeholder, h]) => [h.name, placeholder]));
      const resolve = (text: string) => text.replace(envReference, (whole, braced: string | undefined, bare: string | undefined) => byName.get(braced ?? bare ?? '') ?? whole);
      const headers = Object.fromEntries(Object.entries(input.headers ?? {}).map(([name, value]) => [name, resolve(value)]));
      const body = input.body === undefined ? undefined : resolve(input.body);
      line.target = resolve(line.target);
      const signature = signatureIn(headers, held);
      const now = deps.clock.now();

      const verdictFor = async (h: Held | undefined, found: { placeholder: string; surface: InjectSurface; header?: string }): Promise<PlaceholderVerdict | { inject: false; reason: string; cause: 'rate_limited' | 'stopped' }> => {
        if (h && stopped) return { inject: false, reason: 'agent is stopped', cause: 'stopped' };
        const signs = signature && found.header === 'authorization' && found.placeholder === signature.placeholder;
        const verdict = signs
          ? decideSignature(h!.secret, { destination, tls, request: line }, signature.auth)
          : decidePlaceholder(h?.secret ?? null, { destination, surface: found.surface, tls, request: line, part: h?.part });
        if (!verdict.inject || !h) return verdict;
        const rate = await rates.peek(caller.orgId, h.secret.id, agentId, h.secret.rate_limit, now);
        return rate.ok ? verdict : { inject: false, reason: `retry in ${rate.retryAfterSeconds} s`, cause: 'rate_limited' };
      };

      const placeholders = await Promise.all(
        findPlaceholders(line.target, headers, body).map(async (found) => {
          const h = held.get(found.placeholder);
          const verdict = await verdictFor(h, found);
          return {
            env_key: h?.name ?? null,
            secret_id: h?.secret.id ?? null,
            surface: found.surface,
            decision: verdict.inject ? ('inject' as const) : ('block' as const),
            reason: verdict.inject ? (signature && h?.part === 'access_key_id' ? 'signed with the real key' : 'allowed') : `${causeWords[verdict.cause]}: ${verdict.reason}`,
          };
        }),
      );

      const available = stopped
        ? []
        : [...held.values()]
            .filter((h) => h.part === 'value' || h.part === 'access_key_id')
            .filter((h) => destinationMayReceive(h.secret, destination, tls))
            .map((h) => ({ env_key: h.name, secret_id: h.secret.id, surfaces: h.secret.type === 'aws_sigv4' ? (['header'] as InjectSurface[]) : h.secret.inject_in }));

      return { destination: { host: destination.host, port: destination.port }, agent_status: facts.agent.status, placeholders, available };
    },
  };
}

export type ExplainService = ReturnType<typeof createExplainService>;

function checkRequest(input: ExplainBody): { destination: Destination; tls: boolean; line: RequestLine } {
  if (!methodName.test(input.method)) throw invalid('method must be an HTTP method name');
  let url: URL;
  try {
    if (/\s/.test(input.url)) throw new TypeError('whitespace');
    url = new URL(input.url);
  } catch {
    throw invalid('url must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('url must be an absolute http:// or https:// URL');
  const tls = url.protocol === 'https:';
  const parsed = parseAuthority(url.host, tls ? 443 : 80);
  if (!parsed.ok) throw invalid('url has a host the proxy would refuse');
  if (input.body !== undefined && Buffer.byteLength(input.body) > maxExplainBody) throw invalid('body must be at most 1 MiB');
  for (const name of Object.keys(input.headers ?? {})) if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw invalid('headers must have valid header names');
  const destination = { host: parsed.host, port: parsed.port, isIp: parsed.isIp };
  // The target as written, not as the URL parser normalises it: the proxy sees (and refuses) dot segments.
  const target = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([^#]*)/.exec(input.url)?.[1] || '/';
  return { destination, tls, line: { method: input.method.toUpperCase(), target } };
}

/** A SigV4 Authorization header signed with an access key placeholder the agent holds. */
function signatureIn(headers: Record<string, string>, held: ReadonlyMap<string, Held>) {
  const value = Object.entries(headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
  const auth = value === undefined ? null : parseSigV4Authorization(value);
  if (!auth || held.get(auth.accessKeyId)?.part !== 'access_key_id') return null;
  return { placeholder: auth.accessKeyId, auth };
}
