// Operator authentication: `Authorization: Bearer <api key>`, checked before the body is read.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { VaultError } from '../contract/errors.js';
import type { AuthSurface, AuthThrottle } from '../services/auth-failures.js';
import type { AgentCaller, Caller } from '../services/context.js';
import type { Credentials } from '../services/credentials.js';
import { sendError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
}

const bearer = /^Bearer ([\x21-\x7e]{1,512})$/i;

type Origin = { requestId: string; sourceIp: string };

export function bearerToken(request: FastifyRequest): string | null {
  return bearer.exec(request.headers.authorization ?? '')?.[1] ?? null;
}

/**
 * Adds an onRequest hook to every route of `scope`: unauthenticated requests end with 401 there,
 * and an address with too many recent failures gets 429 before its credentials are looked at.
 */
function requireBearer(scope: FastifyInstance, kind: string, surface: AuthSurface, throttle: AuthThrottle, authenticate: (token: string, origin: Origin) => Promise<Caller | null>): void {
  scope.decorateRequest('caller', null);
  scope.addHook('onRequest', async (request, reply) => {
    const retryAfter = throttle.retryAfter(request.ip);
    if (retryAfter !== null) {
      reply.header('retry-after', String(retryAfter));
      reply.header('connection', 'close');
      return sendError(reply, new VaultError('auth_throttled'));
    }
    const token = bearerToken(request);
    const origin = { requestId: String(request.id), sourceIp: request.ip };
    const caller = token ? await authenticate(token, origin) : null;
    if (!caller) {
      throttle.failed(request.ip, surface);
      request.log.warn({ reason: token ? `unknown or revoked ${kind}` : 'missing bearer token' }, 'auth.failed');
      // The connection may still be sending a body we will not read; close it after replying.
      reply.header('connection', 'close');
      return sendError(reply, new VaultError('unauthorized'));
    }
    request.caller = caller;
  });
}

/** Operator API: API keys only (agent tokens are not accepted here). */
export function requireApiKey(scope: FastifyInstance, credentials: Credentials, throttle: AuthThrottle): void {
  requireBearer(scope, 'api key', 'api', throttle, (token, origin) => credentials.authenticateBearer('api_key', token, origin));
}

/** Agent runtime API: agent tokens only (operator keys are not accepted here). */
export function requireAgentToken(scope: FastifyInstance, credentials: Credentials, throttle: AuthThrottle): void {
  requireBearer(scope, 'agent token', 'agent', throttle, (token, origin) => credentials.authenticateBearer('agent_token', token, origin));
}

export function agentCallerOf(request: FastifyRequest): AgentCaller {
  const caller = callerOf(request);
  if (!('agentId' in caller)) throw new VaultError('unauthorized');
  return caller as AgentCaller;
}

export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new VaultError('unauthorized');
  return request.caller;
}
