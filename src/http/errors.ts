// Turns any thrown error into the public error body; unknown errors become `internal`.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { VaultError, type ErrorBody, type ErrorCode } from '../contract/errors.js';
import { describeValidationError } from './validation.js';

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
};

export function toVaultError(err: unknown): VaultError {
  if (err instanceof VaultError) return err;
  const fe = err as FastifyError;
  if (fe && Array.isArray(fe.validation) && fe.validation[0]) {
    return new VaultError('invalid_request', describeValidationError(fe.validation[0] as never, fe.validationContext ?? 'body'));
  }
  const mapped = fe?.code ? fastifyCodes[fe.code] : undefined;
  if (mapped) return new VaultError(mapped);
  if (fe?.statusCode === 413) return new VaultError('body_too_large');
  // The client reset or closed the connection mid-body: its fault, and nobody is left to answer.
  if (fe?.code === 'ECONNRESET' || fe?.code === 'ECONNABORTED') return new VaultError('invalid_request', 'the request ended before its body was complete', { cause: err });
  return new VaultError('internal', undefined, { cause: err });
}

export function sendError(reply: FastifyReply, err: VaultError): FastifyReply {
  const body: ErrorBody = { error: err.message, code: err.code };
  if (err.code === 'internal') body.request_id = String(reply.request.id);
  return reply.code(err.status).type('application/json; charset=utf-8').send(body);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const vaultError = toVaultError(err);
    if (vaultError.code === 'internal') {
      // The detail goes to the log (redacted), never into the response body.
      request.log.error({ err: vaultError.cause ?? err }, 'internal error');
    }
    return sendError(reply, vaultError);
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, new VaultError('not_found')));
}
