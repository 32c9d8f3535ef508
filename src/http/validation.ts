// Request validation: strict JSON bodies (no coercion, unknown fields refused) and messages
// that name the field but never echo a value.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

// The schemas are constants of this codebase (every route is exercised by the tests), so they are
// not checked against the JSON Schema meta-schema at each boot.
const common = { allErrors: false, removeAdditional: false, strict: false, validateSchema: false } as const;
const bodyAjv = new Ajv({ ...common, coerceTypes: false, useDefaults: false });
const paramAjv = new Ajv({ ...common, coerceTypes: 'array', useDefaults: true });

/**
 * Compiles a route's validator on its first request rather than at boot: compiling every route's
 * schemas was the largest share of start-up after loading modules. Fastify reads `.errors` from
 * the function it was given, so the wrapper mirrors the compiled function's.
 */
function compileOnFirstUse(ajv: Ajv, schema: object) {
  let compiled: ValidateFunction | undefined;
  const validate = (data: unknown): boolean => {
    compiled ??= ajv.compile(schema);
    const ok = compiled(data);
    validate.errors = compiled.errors ?? null;
    return ok;
  };
  validate.errors = null as ValidateFunction['errors'];
  return validate;
}

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  compileOnFirstUse(httpPart === 'body' ? bodyAjv : paramAjv, schema as object);

const safeFieldName = /^[A-Za-z0-9_]{1,64}$/;

/** `/allowed_domains/0` → `allowed_domains[0]`. */
function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : `${i === 0 ? '' : '.'}${part.replace(/~1/g, '/').replace(/~0/g, '~')}`))
    .join('');
}

export function describeValidationError(error: ErrorObject, dataVar: string): string {
  const field = fieldPath(error.instancePath);
  const where = field === '' ? dataVar : field;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const prefix = field === '' ? '' : `${field}.`;
      return safeFieldName.test(name) ? `unknown field: ${prefix}${name}` : `unknown field in ${where}`;
    }
    case 'required':
      return `${field === '' ? '' : `${field}.`}${String(params.missingProperty)} is required`;
    case 'type':
      return `${where} must be ${params.type === 'object' && field === '' ? 'a JSON object' : `of type ${String(params.type)}`}`;
    case 'enum':
      return `${where} must be one of ${(params.allowedValues as unknown[]).join(', ')}`;
    case 'anyOf':
      return `${where} has the wrong type`;
    case 'minimum':
    case 'maximum':
      return `${where} must be ${error.keyword === 'minimum' ? '>=' : '<='} ${String(params.limit)}`;
    default:
      return `${where} is invalid`;
  }
}
