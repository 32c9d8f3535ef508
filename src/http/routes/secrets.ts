// Routes: secrets, nested under a vault and flat by id (the flat forms behave identically).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CreateSecretBody, RevealResponse, Secret, SecretVersion, UpdateSecretBody } from '../../contract/schemas.js';
import type { SecretScope, SecretsService } from '../../services/secrets-service.js';
import { callerOf } from '../auth.js';
import { noContent, parseIfMatch, requireId, setNextLink } from '../request-helpers.js';
import { errorResponses, PageQuery, SecretParams, VaultParams, VaultSecretParams } from './shared-schemas.js';

const SecretListQuery = Type.Composite([
  PageQuery,
  Type.Object({ label: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 20 })])) }),
]);

type Params = { vault_id?: string; secret_id: string };

function scopeOf(params: Params): SecretScope {
  return params.vault_id === undefined ? null : { vaultId: requireId('vault', params.vault_id, 'vault_not_found') };
}

function secretIdOf(params: Params): string {
  return requireId('secret', params.secret_id, 'secret_not_found');
}

export function registerSecretRoutes(scope: FastifyInstance, secrets: SecretsService): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['secrets'];

  app.post(
    '/vaults/:vault_id/secrets',
    { schema: { tags, params: VaultParams, body: CreateSecretBody, response: { 201: Secret, ...errorResponses } } },
    async (request, reply) => {
      const vaultId = requireId('vault', request.params.vault_id, 'vault_not_found');
      return reply.code(201).send(await secrets.create(callerOf(request), vaultId, request.body));
    },
  );

  app.get(
    '/vaults/:vault_id/secrets',
    { schema: { tags, params: VaultParams, querystring: SecretListQuery, response: { 200: Type.Array(Secret), ...errorResponses } } },
    async (request, reply) => {
      const vaultId = requireId('vault', request.params.vault_id, 'vault_not_found');
      const page = await secrets.list(callerOf(request), vaultId, request.query);
      setNextLink(request, reply, 'cursor', page.nextCursor);
      return page.items;
    },
  );

  // Each per-secret route exists twice: /vaults/{vault_id}/secrets/{secret_id}… and /secrets/{secret_id}….
  for (const [prefix, params] of [
    ['/vaults/:vault_id/secrets/:secret_id', VaultSecretParams],
    ['/secrets/:secret_id', SecretParams],
  ] as const) {
    const p = (request: FastifyRequest) => request.params as Params;

    app.get(prefix, { schema: { tags, params, response: { 200: Secret, ...errorResponses } } }, async (request) =>
      secrets.get(callerOf(request), scopeOf(p(request)), secretIdOf(p(request))),
    );

    app.patch(prefix, { schema: { tags, params, body: UpdateSecretBody, response: { 200: Secret, ...errorResponses } } }, async (request) =>
      secrets.update(callerOf(request), scopeOf(p(request)), secretIdOf(p(request)), request.body, parseIfMatch(request)),
    );

    app.delete(prefix, { schema: { tags, params, response: errorResponses } }, async (request, reply) => {
      await secrets.remove(callerOf(request), scopeOf(p(request)), secretIdOf(p(request)), parseIfMatch(request));
      return noContent(reply);
    });

    app.get(`${prefix}/versions`, { schema: { tags, params, response: { 200: Type.Array(SecretVersion), ...errorResponses } } }, async (request) =>
      secrets.versions(callerOf(request), scopeOf(p(request)), secretIdOf(p(request))),
    );

    app.post(`${prefix}/reveal`, { schema: { tags, params, response: { 200: RevealResponse, ...errorResponses } } }, async (request) =>
      secrets.reveal(callerOf(request), scopeOf(p(request)), secretIdOf(p(request))),
    );
  }
}
