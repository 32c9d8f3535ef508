// Which variables of the command `vaultgate run` starts hold real values, not placeholders: named on stderr, never shown.
import type { EnvironmentEntry } from '../sdk/index.js';

/** A placeholder as the runtime mints it; any other value in the agent's environment is the thing itself. */
/** The shape of a placeholder (runtime may not import core, where placeholders are made). */
export const placeholderShape = /^vgph_[0-9A-Za-z]{40}$/;

/** The agent's plaintext configuration, from the operator's view of its environment (names and sources, no value). */
export function plainEnvNames(entries: readonly EnvironmentEntry[]): Set<string> {
  return new Set(entries.filter((e) => e.source === 'env').map((e) => e.name));
}

/**
 * The sorted names of the agent's variables that reach the child as real values. `plain` (the
 * agent's plaintext `env`, known only with an operator key) is left out; without it every variable
 * that is not a placeholder counts, plain configuration included. A variable `run` itself
 * overrides (proxy, CA) is not the agent's any more and is left out too.
 */
export function realValueNames(agentEnv: Readonly<Record<string, string>>, childEnv: NodeJS.ProcessEnv, plain: ReadonlySet<string> | null): string[] {
  return Object.entries(agentEnv)
    .filter(([name, value]) => !placeholderShape.test(value) && childEnv[name] === value && !plain?.has(name))
    .map(([name]) => name)
    .sort();
}

/** The one line printed before the command starts; `null` when every secret is a placeholder. */
export function realValuesNotice(names: readonly string[], plainKnown: boolean): string | null {
  if (names.length === 0) return null;
  const what = plainKnown ? 'unrestricted secrets' : "unrestricted secrets or the agent's plain env";
  return `vaultgate run: these variables hold real values (${what}): ${names.join(', ')}`;
}
