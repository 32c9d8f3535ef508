// Tests of the oauth2 value, the token request it makes and the answer read back: pure, table-driven.
import { describe, expect, it } from 'vitest';
import { VaultError } from '../contract/errors.js';
import { echoValues, grantOf, parseOAuth2Value, serializeOAuth2Value } from '../core/oauth2-value.js';
import { readTokenAnswer, TokenEndpointError, tokenRequestOf } from './token-endpoint.js';

const url = 'https://auth.example.com/oauth/token';
const canary = 'S3CR3T-canary-value';

describe('parseOAuth2Value', () => {
  it('reads every field, and the grant follows the refresh token', () => {
    const full = { token_url: url, client_id: 'id', client_secret: 'cs', refresh_token: 'rt', scopes: ['a', 'b:c'] };
    expect(parseOAuth2Value(JSON.stringify(full))).toEqual(full);
    expect(grantOf(parseOAuth2Value(JSON.stringify(full)))).toBe('refresh_token');
    expect(grantOf(parseOAuth2Value(JSON.stringify({ token_url: url, client_id: 'id' })))).toBe('client_credentials');
  });

  it.each([
    ['not JSON', canary, 'value must be a JSON object for an oauth2 secret'],
    ['an array', `["${canary}"]`, 'value must be a JSON object for an oauth2 secret'],
    ['no token_url', JSON.stringify({ client_id: canary }), 'value.token_url must be a URL of at most 2048 characters'],
    ['plain http', JSON.stringify({ token_url: 'http://auth.example.com/t', client_id: 'id' }), 'value.token_url must be an https URL'],
    ['a relative URL', JSON.stringify({ token_url: canary, client_id: 'id' }), 'value.token_url must be an absolute URL'],
    ['credentials in the URL', JSON.stringify({ token_url: `https://u:${canary}@a.example/t`, client_id: 'id' }), 'value.token_url must not contain credentials'],
    ['a fragment', JSON.stringify({ token_url: `${url}#x`, client_id: 'id' }), 'value.token_url must not have a fragment'],
    ['no client_id', JSON.stringify({ token_url: url, client_secret: canary }), 'value.client_id must be a non-empty string'],
    ['an empty client_secret', JSON.stringify({ token_url: url, client_id: 'id', client_secret: '' }), 'value.client_secret must be a non-empty string'],
    ['a refresh token with a newline', JSON.stringify({ token_url: url, client_id: 'id', refresh_token: `${canary}\n` }), 'value.refresh_token must not contain control characters'],
    ['a scope with a space', JSON.stringify({ token_url: url, client_id: 'id', scopes: ['ok', `a ${canary}`] }), 'value.scopes[1] must be a scope token (printable ASCII without space, " or \\)'],
    ['scopes not an array', JSON.stringify({ token_url: url, client_id: 'id', scopes: canary }), 'value.scopes must be an array of at most 64 scopes'],
    ['an unknown field', JSON.stringify({ token_url: url, client_id: 'id', [canary]: 1 }), 'value has an unknown field; allowed: token_url, client_id, client_secret, refresh_token, scopes'],
    ['a repeated field', `{"token_url":"${url}","client_id":"id","client_secret":"a","client_secret":"${canary}"}`, 'value must not repeat a field'],
  ])('refuses %s, naming the field and never the value', (_name, json, message) => {
    let thrown: unknown;
    try {
      parseOAuth2Value(json);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(VaultError);
    expect([(thrown as VaultError).code, (thrown as VaultError).message]).toEqual(['invalid_request', message]);
  });

  it('serializes in the canonical field order, leaving absent fields out', () => {
    expect(serializeOAuth2Value({ scopes: ['s'], client_id: 'id', token_url: url })).toBe(`{"token_url":"${url}","client_id":"id","scopes":["s"]}`);
  });
});

describe('echoValues', () => {
  it('lists the access token, refresh token and client secret, never the client id', () => {
    expect(echoValues({ token_url: url, client_id: 'id', client_secret: 'cs', refresh_token: 'rt' }, 'at')).toEqual(['at', 'rt', 'cs']);
    expect(echoValues({ token_url: url, client_id: 'id' }, null)).toEqual([]);
  });
});

describe('tokenRequestOf', () => {
  it('authenticates a confidential client with HTTP Basic over form-encoded id and secret', () => {
    const r = tokenRequestOf({ token_url: url, client_id: 'my id', client_secret: 'p:ss+/', scopes: ['a', 'b'] });
    expect(r.form.toString()).toBe('grant_type=client_credentials&scope=a+b');
    expect(r.headers).toEqual({
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      authorization: `Basic ${Buffer.from('my+id:p%3Ass%2B%2F').toString('base64')}`,
    });
  });

  it('names a public client in the form, with its refresh token', () => {
    const r = tokenRequestOf({ token_url: url, client_id: 'pub', refresh_token: 'rt 1' });
    expect(r.form.toString()).toBe('grant_type=refresh_token&refresh_token=rt+1&client_id=pub');
    expect(r.headers.authorization).toBeUndefined();
  });
});

describe('readTokenAnswer', () => {
  const answer = (status: number, body: unknown) => readTokenAnswer(status, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), [canary]);
  const refusal = (status: number, body: unknown) => {
    try {
      answer(status, body);
    } catch (err) {
      expect(err).toBeInstanceOf(TokenEndpointError);
      const e = err as TokenEndpointError;
      return { message: e.message, status: e.endpointStatus, error: e.oauthError };
    }
    throw new Error('no refusal');
  };

  it('reads the token, its lifetime and a refresh token', () => {
    expect(answer(200, { access_token: 'at', token_type: 'Bearer', expires_in: 60, refresh_token: 'rt' })).toEqual({ accessToken: 'at', expiresIn: 60, refreshToken: 'rt' });
    expect(answer(200, { access_token: 'at', expires_in: '30' })).toEqual({ accessToken: 'at', expiresIn: 30, refreshToken: null });
    expect(answer(201, { access_token: 'at', token_type: 'bearer' })).toEqual({ accessToken: 'at', expiresIn: null, refreshToken: null });
  });

  it.each([
    ['an OAuth error', 400, { error: 'invalid_grant', error_description: 'expired' }, 'token endpoint answered 400 (invalid_grant: expired)', 'invalid_grant'],
    ['a credential echoed in the description', 401, { error: 'invalid_client', error_description: `bad secret ${canary} / ${Buffer.from(canary).toString('base64')}` }, 'token endpoint answered 401 (invalid_client: bad secret [redacted] / [redacted])', 'invalid_client'],
    ['an error code out of the RFC charset', 400, { error: 'bad\ncode', error_description: 'x' }, 'token endpoint answered 400', null],
    ['a non-JSON error body', 502, `<html>${canary}</html>`, 'token endpoint answered 502', null],
    ['a 200 without JSON', 200, canary, 'token endpoint answered 200 without a JSON object', null],
    ['a 200 without access_token', 200, { token_type: 'bearer' }, 'token endpoint answered 200 without a usable access_token', null],
    ['an access token with CR LF', 200, { access_token: 'a\r\nX-Injected: 1' }, 'token endpoint answered 200 without a usable access_token', null],
    ['a token type other than bearer', 200, { access_token: 'at', token_type: 'mac' }, 'token endpoint answered 200 with a token_type other than bearer', null],
    ['a negative expires_in', 200, { access_token: 'at', expires_in: -1 }, 'token endpoint answered 200 with an invalid expires_in', null],
  ])('refuses %s without echoing the body', (_name, status, body, message, error) => {
    const r = refusal(status, body);
    expect(r).toEqual({ message, status, error });
    expect(r.message).not.toContain(canary);
  });
});
