// Configuration of the limits: defaults, every variable read, and a clear refusal naming the variable.
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultLimits, limitVariables, loadConfig } from './config.js';

describe('limits', () => {
  it('default to SPEC §9 values when unset', () => {
    expect(loadConfig({}).limits).toEqual(defaultLimits);
    expect(defaultLimits.maxBufferedBody).toBe(16 * 1024 * 1024);
    expect(defaultLimits.authFailuresPerMinute).toBe(20);
  });

  it('read each variable into its own field', () => {
    for (const [field, name] of Object.entries(limitVariables)) {
      expect(loadConfig({ [name]: '1234' }).limits).toEqual({ ...defaultLimits, [field]: 1234 });
    }
  });

  it.each(['0', '-1', '1.5', 'ten', ' 10', '1e3', '9999999999999'])('refuse %j naming the variable, without echoing it', (text) => {
    for (const name of Object.values(limitVariables)) {
      expect(() => loadConfig({ [name]: text })).toThrow(new ConfigError(`${name} must be a positive whole number`));
    }
  });

  it('are frozen', () => {
    expect(Object.isFrozen(loadConfig({}).limits)).toBe(true);
  });
});
