// Naming the variables that carry real values: placeholders, plain env and run's own overrides left out.
import { describe, expect, it } from 'vitest';
import type { EnvironmentEntry } from '../sdk/index.js';
import { plainEnvNames, realValueNames, realValuesNotice } from './real-values.js';

const ph = (c: string) => `vgph_${c.repeat(40)}`;
const agentEnv = { STRIPE_KEY: ph('A'), OPENAI_API_KEY: 'sk-real', DATABASE_URL: 'postgres://u:p@db/x', MODE: 'dev', HTTPS_PROXY: 'http://agent-set', ALMOST: `${ph('B')}x` };
const childEnv = { ...agentEnv, HTTPS_PROXY: 'http://proxy' };
const entry = (name: string, source: EnvironmentEntry['source'], form: EnvironmentEntry['form']): EnvironmentEntry => ({ name, source, form, secret_id: null, vault_id: null });

describe('realValueNames', () => {
  it.each([
    ['without the plain env: every non-placeholder the child keeps', null, ['ALMOST', 'DATABASE_URL', 'MODE', 'OPENAI_API_KEY']],
    ['with it: unrestricted secrets only', new Set(['MODE']), ['ALMOST', 'DATABASE_URL', 'OPENAI_API_KEY']],
  ])('%s', (_what, plain, names) => {
    expect(realValueNames(agentEnv, childEnv, plain)).toEqual(names);
  });

  it('names nothing when every secret is a placeholder', () => {
    expect(realValueNames({ STRIPE_KEY: ph('z') }, { STRIPE_KEY: ph('z') }, null)).toEqual([]);
  });
});

it('plainEnvNames takes the operator view’s `env` entries only', () => {
  const entries = [entry('MODE', 'env', 'value'), entry('DATABASE_URL', 'attached_vault', 'value'), entry('STRIPE_KEY', 'grant', 'placeholder')];
  expect([...plainEnvNames(entries)]).toEqual(['MODE']);
});

describe('realValuesNotice', () => {
  it.each([
    [['DATABASE_URL', 'OPENAI_API_KEY'], true, 'vaultgate run: these variables hold real values (unrestricted secrets): DATABASE_URL, OPENAI_API_KEY'],
    [['MODE', 'U'], false, "vaultgate run: these variables hold real values (unrestricted secrets or the agent's plain env): MODE, U"],
    [[], true, null],
    [[], false, null],
  ])('%j (plain env known: %s)', (names, known, line) => expect(realValuesNotice(names, known)).toBe(line));
});
