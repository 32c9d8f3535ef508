// What the API adds for operators watching it (SPEC §11): kept request ids and trace context on
// every log line, request metrics, `GET /metrics` and its optional listener of its own.
import http from 'node:http';
import { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { VaultError } from '../contract/errors.js';
import { keptRequestId, traceContextOf } from '../core/request-id.js';
import type { IdFactory } from '../core/ids.js';
import type { Metrics } from '../metrics.js';

/** A kept incoming `X-Request-Id`, else a new `req_…` id. */
export function requestIdOptions(ids: IdFactory): Pick<FastifyServerOptions, 'genReqId' | 'logController' | 'childLoggerFactory'> {
  return {
    genReqId: (req) => keptRequestId(req.headers['x-request-id']) ?? ids('request'),
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    // Every line logged for the request carries the caller's trace, when it sent a valid one.
    childLoggerFactory: (logger: FastifyBaseLogger, bindings, options, raw) => {
      const trace = traceContextOf(raw.headers.traceparent);
      return logger.child(trace ? { ...bindings, ...trace } : bindings, options);
    },
  };
}

/** Counts and times every answered request under its route pattern (never its URL). */
export function countRequests(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.http.answered(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
}

export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => reply.type(metrics.contentType).send(await metrics.registry.metrics()));
}

const errorBody = (code: 'not_found' | 'internal') => {
  const err = new VaultError(code);
  return JSON.stringify({ error: err.message, code: err.code });
};

/** `VAULTGATE_METRICS_ADDR`: `GET /metrics` alone on a listener of its own; anything else is a 404. */
export function createMetricsServer(metrics: Metrics, logger: FastifyBaseLogger): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(errorBody('not_found'));
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        logger.error({ err }, 'collecting metrics failed');
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(errorBody('internal'));
      },
    );
  });
}
