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

describe('metrics', () => {
  it('are served on the API listener by default', () => {
    expect(loadConfig({})).toMatchObject({ metrics: true, metricsAddr: null });
  });

  it('move to a listener of their own with VAULTGATE_METRICS_ADDR', () => {
    expect(loadConfig({ VAULTGATE_METRICS_ADDR: '0.0.0.0:9464' })).toMatchObject({ metrics: true, metricsAddr: { host: '0.0.0.0', port: 9464 } });
    expect(loadConfig({ VAULTGATE_METRICS_ADDR: '[::1]:9464' }).metricsAddr).toEqual({ host: '::1', port: 9464 });
  });

  it('are switched off with VAULTGATE_METRICS=off', () => {
    expect(loadConfig({ VAULTGATE_METRICS: 'off' })).toMatchObject({ metrics: false, metricsAddr: null });
  });

  it.each([
    [{ VAULTGATE_METRICS: 'yes' }, 'VAULTGATE_METRICS must be on or off'],
    [{ VAULTGATE_METRICS_ADDR: '9464' }, 'VAULTGATE_METRICS_ADDR must look like host:port (e.g. 127.0.0.1:7400)'],
    [{ VAULTGATE_METRICS: 'off', VAULTGATE_METRICS_ADDR: '127.0.0.1:9464' }, 'VAULTGATE_METRICS_ADDR is set but VAULTGATE_METRICS is off'],
  ])('refuse %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message));
  });
});
