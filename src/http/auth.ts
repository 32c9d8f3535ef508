// Operator authentication: `Authorization: Bearer <api key>`, checked before the body is read.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { VaultError } from '../contract/errors.js';
import type { Caller } from '../services/context.js';
import type { OrgsService } from '../services/orgs-service.js';
import { sendError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
}

const bearer = /^Bearer ([\x21-\x7e]{1,512})$/;

/** Adds an onRequest hook to every route of `scope`: unauthenticated requests end with 401 there. */
export function requireApiKey(scope: FastifyInstance, orgs: OrgsService): void {
  scope.decorateRequest('caller', null);
  scope.addHook('onRequest', async (request, reply) => {
    const match = bearer.exec(request.headers.authorization ?? '');
    const origin = { requestId: String(request.id), sourceIp: request.ip };
    const auth = match?.[1] ? await orgs.authenticate(match[1], origin) : null;
    if (!auth) {
      request.log.warn({ reason: match ? 'unknown or revoked api key' : 'missing bearer token' }, 'auth.failed');
      // The connection may still be sending a body we will not read; close it after replying.
      reply.header('connection', 'close');
      return sendError(reply, new VaultError('unauthorized'));
    }
    request.caller = { orgId: auth.orgId, actor: auth.keyId, requestId: origin.requestId, sourceIp: origin.sourceIp };
  });
}

export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new VaultError('unauthorized');
  return request.caller;
}
