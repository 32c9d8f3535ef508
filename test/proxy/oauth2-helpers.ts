// The OAuth2 end-to-end world: oauth2-mock-server over HTTPS as the token endpoint (its answers
// shaped and recorded), and an API route on the recording upstream that admits only access tokens
// the endpoint handed out, while they live and until revoked.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import { OAuth2Server } from 'oauth2-mock-server';
import type { TestServer } from '../helpers/server.js';
import { connectTo, type Pki, type Recorded, type Upstream } from './helpers.js';

/** Where the agent's API calls go (a name on the test certificate, dialled to the recording upstream). */
export const apiHost = 'api.openai.com';
/** The token endpoint's host (also on the test certificate), dialled to the mock. */
export const authHost = 'api.x.com';

/** One call the endpoint answered. */
export interface Served {
  grant: string;
  /** The client id of the Basic credentials (or the form's client_id for a public client). */
  clientId: string;
  /** The client secret of the Basic credentials, if any. */
  clientSecret: string | null;
  form: Record<string, string>;
  status: number;
  answered: Record<string, unknown>;
}

export interface TokenEndpoint {
  port: number;
  /** `https://api.x.com/token` */
  url: string;
  served: Served[];
  /** Every access and refresh token handed out (the canary sweep looks for each). */
  handedOut: Set<string>;
  /** Lifetime (s) of the tokens handed to a client id; 3600 if unset. */
  ttl: Map<string, number>;
  /** Clients whose refresh grant hands out a new refresh token (rotation); others get none. */
  rotating: Set<string>;
  /** Clients the endpoint refuses, with the answer they get. */
  refusals: Map<string, { status: number; body: Record<string, unknown> }>;
  /** The /userinfo answer's body, set by a test (the token host's own responses, for scrubbing). */
  userinfo: Record<string, unknown>;
  /** Whether the API admits this bearer token now. */
  isValid(token: string): boolean;
  revoke(token: string): void;
  /** Calls made for a client id. */
  callsFor(clientId: string): Served[];
  /** The access token last handed to a client id. */
  latestToken(clientId: string): string;
  close(): Promise<void>;
}

const fromBasic = (header: string | undefined): { id: string; secret: string } | null => {
  const m = /^Basic (.+)$/i.exec(header ?? '');
  if (!m?.[1]) return null;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const at = text.indexOf(':');
  return at < 0 ? null : { id: decodeURIComponent(text.slice(0, at).replace(/\+/g, ' ')), secret: decodeURIComponent(text.slice(at + 1).replace(/\+/g, ' ')) };
};

/** A distinctive token: `+`, `/` and `=` make its encoded forms differ from the raw one. */
export const tokenLike = (tag: string) => `${tag}-${randomBytes(18).toString('base64')}`;

export async function startTokenEndpoint(pki: Pki): Promise<TokenEndpoint> {
  writeFileSync(join(pki.dir, 'token-key.pem'), pki.good.keyPem);
  writeFileSync(join(pki.dir, 'token-cert.pem'), pki.good.certPem);
  const server = new OAuth2Server(join(pki.dir, 'token-key.pem'), join(pki.dir, 'token-cert.pem'));
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  const valid = new Map<string, number>();
  const latest = new Map<string, string>();
  const ep: TokenEndpoint = {
    port: server.address().port,
    url: `https://${authHost}/token`,
    served: [],
    handedOut: new Set(),
    ttl: new Map(),
    rotating: new Set(),
    refusals: new Map(),
    userinfo: { sub: 'johndoe' },
    isValid: (token) => (valid.get(token) ?? 0) > Date.now(),
    revoke: (token) => void valid.delete(token),
    callsFor: (clientId) => ep.served.filter((s) => s.clientId === clientId),
    latestToken: (clientId) => {
      const t = latest.get(clientId);
      if (t === undefined) throw new Error(`no token was handed to ${clientId}`);
      return t;
    },
    close: () => server.stop(),
  };
  // Opaque tokens of our own, each distinct: the sweep then knows every string handed out.
  server.service.on('beforeResponse', (response: { body: Record<string, unknown>; statusCode: number }, req: { body: Record<string, string>; headers: Record<string, string | undefined> }) => {
    const basic = fromBasic(req.headers.authorization);
    const clientId = basic?.id ?? req.body.client_id ?? '';
    const refusal = ep.refusals.get(clientId);
    if (refusal) {
      response.statusCode = refusal.status;
      response.body = refusal.body;
      ep.served.push({ grant: req.body.grant_type ?? '', clientId, clientSecret: basic?.secret ?? null, form: { ...req.body }, status: refusal.status, answered: refusal.body });
      return;
    }
    const ttl = ep.ttl.get(clientId) ?? 3600;
    const access = tokenLike('oat');
    const body: Record<string, unknown> = { access_token: access, token_type: 'Bearer', expires_in: ttl };
    if (req.body.grant_type === 'refresh_token' && ep.rotating.has(clientId)) body.refresh_token = tokenLike('ort');
    response.body = body;
    valid.set(access, Date.now() + ttl * 1000);
    latest.set(clientId, access);
    for (const k of ['access_token', 'refresh_token']) if (typeof body[k] === 'string') ep.handedOut.add(body[k]);
    ep.served.push({ grant: req.body.grant_type ?? '', clientId, clientSecret: basic?.secret ?? null, form: { ...req.body }, status: response.statusCode, answered: body });
  });
  server.service.on('beforeUserinfo', (response: { body: unknown; statusCode: number }) => {
    response.body = ep.userinfo;
  });
  return ep;
}

/** VAULTGATE_PROXY_CONNECT_TO: the upstream's names as usual, the auth host to the mock (a later entry wins). */
export const oauthConnectTo = (up: Upstream, ep: TokenEndpoint) => `${connectTo(up)},${authHost}:443=127.0.0.1:${ep.port}`;

/** The bearer token of a recorded request. */
export const bearerOf = (r: Recorded) => /^Bearer (.+)$/.exec(r.headers.authorization ?? '')?.[1] ?? '';

/**
 * The API on the recording upstream: `/api/…` answers 200 with what it was asked for when the bearer
 * token is valid, else 401; `/api/echo` also echoes the token (header, JSON, base64); `/api/deny`
 * always answers 401.
 */
export function routeApi(up: Upstream, ep: TokenEndpoint): void {
  const unauthorized = (res: http.ServerResponse) => {
    res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' });
    res.end('{"error":"invalid_token"}');
  };
  up.routes.set('/api/', (req, res) => {
    if (!ep.isValid(bearerOf(req))) return unauthorized(res);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, method: req.method, url: req.url }));
  });
  up.routes.set('/api/echo', (req, res) => {
    const token = bearerOf(req);
    if (!ep.isValid(token)) return unauthorized(res);
    res.writeHead(200, { 'content-type': 'application/json', 'x-token': token });
    res.end(JSON.stringify({ you_sent: req.headers.authorization, token, b64: Buffer.from(token).toString('base64'), hex: Buffer.from(token).toString('hex') }));
  });
  up.routes.set('/api/deny', (_req, res) => unauthorized(res));
}

/** An `oauth2` secret's body for POST /vaults/{id}/secrets. */
export function oauthSecret(envKey: string, value: Record<string, unknown>, domains = [apiHost, authHost]): Record<string, unknown> {
  return { env_key: envKey, type: 'oauth2', value, allowed_domains: domains };
}

/** Creates the secret (201 expected) and returns its JSON. */
export async function createOAuthSecret(s: TestServer, vaultId: string, body: Record<string, unknown>): Promise<any> {
  const r = await s.call('POST', `/vaults/${vaultId}/secrets`, { body });
  if (r.status !== 201) throw new Error(`creating ${String(body.env_key)}: ${r.status} ${r.text}`);
  return r.json;
}
