// Schemas shared by several routes: path params, paging, error responses.
import { Type } from '@sinclair/typebox';
import { ErrorResponse } from '../../contract/schemas.js';

export const VaultParams = Type.Object({ vault_id: Type.String() });
export const SecretParams = Type.Object({ secret_id: Type.String() });
export const VaultSecretParams = Type.Object({ vault_id: Type.String(), secret_id: Type.String() });

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

export const errorResponses = {
  '4xx': ErrorResponse,
  '5xx': ErrorResponse,
};
