// Routes: /audit (query), /audit/stream (SSE, resumable by Last-Event-ID), /audit/verify.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { VaultError } from '../../contract/errors.js';
import { AuditEvent, AuditVerifyResult } from '../../contract/schemas.js';
import type { AuditService } from '../../services/audit-service.js';
import { callerOf } from '../auth.js';
import { setNextLink } from '../request-helpers.js';
import { streamAudit } from '../sse.js';
import { errorResponses } from './shared-schemas.js';

const AuditFilter = Type.Object({
  type: Type.Optional(Type.String({ maxLength: 100 })),
  actor: Type.Optional(Type.String({ maxLength: 100 })),
  secret_id: Type.Optional(Type.String({ maxLength: 100 })),
  after: Type.Optional(Type.Integer({ minimum: 0 })),
});

const AuditQuery = Type.Composite([AuditFilter, Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) })]);

export interface AuditRouteOptions {
  heartbeatMs: number;
  stallMs: number;
  /** Open streams register a closer here so shutdown can end them. */
  openStreams: Set<() => void>;
}

export function registerAuditRoutes(scope: FastifyInstance, audit: AuditService, options: AuditRouteOptions): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['audit'];

  app.get('/audit', { schema: { tags, querystring: AuditQuery, response: { 200: Type.Array(AuditEvent), ...errorResponses } } }, async (request, reply) => {
    const q = request.query;
    const page = await audit.page(callerOf(request).orgId, { type: q.type, actor: q.actor, secretId: q.secret_id, afterSeq: q.after, limit: q.limit ?? 100 });
    setNextLink(request, reply, 'after', page.nextAfter === null ? null : String(page.nextAfter));
    return page.items;
  });

  app.get(
    '/audit/verify',
    { schema: { tags, querystring: Type.Object({ expected_head: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })) }), response: { 200: AuditVerifyResult, ...errorResponses } } },
    async (request) => audit.verify(callerOf(request).orgId, request.query.expected_head),
  );

  app.get('/audit/stream', { schema: { tags, querystring: AuditFilter, response: errorResponses } }, async (request, reply) => {
    const caller = callerOf(request);
    const raw = request.headers['last-event-id'];
    const header = Array.isArray(raw) ? raw[0] : raw;
    let afterSeq = request.query.after ?? 0;
    if (header !== undefined) {
      if (!/^\d{1,15}$/.test(header)) throw new VaultError('invalid_request', 'Last-Event-ID must be an event seq');
      afterSeq = Number(header);
    }
    const q = request.query;
    streamAudit(request, reply, audit, {
      orgId: caller.orgId,
      afterSeq,
      filter: { type: q.type, actor: q.actor, secretId: q.secret_id },
      heartbeatMs: options.heartbeatMs,
      stallMs: options.stallMs,
      openStreams: options.openStreams,
    });
  });
}
