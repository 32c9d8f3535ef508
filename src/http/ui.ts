// Serves the dashboard's built assets at `/` with the headers a UI needs and the API does not.
import type { FastifyInstance } from 'fastify';

/**
 * No inline script or style, nothing from another origin, no framing, no referrer. The dashboard
 * is a single page that only talks to its own origin, so everything else is denied.
 */
export const uiContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const uiSecurityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy': uiContentSecurityPolicy,
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'cross-origin-opener-policy': 'same-origin',
};

/** Files under /assets/ carry a content hash in their name, so they never change. */
const immutableAssets = /^\/assets\//;

/**
 * Only files present at start get a route (`wildcard: false`): every other path, and every API
 * path, still reaches the API's own 404. The SPA routes by URL hash, so no fallback is needed.
 */
export async function registerUi(app: FastifyInstance, dir: string): Promise<void> {
  // Loaded only when there is a dashboard to serve: a server without one boots without it.
  const { default: fastifyStatic } = await import('@fastify/static');
  await app.register(async (scope) => {
    // Runs after the app-wide hook (which sets `no-store` on everything), so it may relax caching.
    scope.addHook('onSend', async (request, reply) => {
      reply.headers(uiSecurityHeaders);
      if (immutableAssets.test(request.url) && reply.statusCode === 200) reply.header('cache-control', 'public, max-age=31536000, immutable');
    });
    await scope.register(fastifyStatic, { root: dir, wildcard: false, index: ['index.html'], cacheControl: false, dotfiles: 'deny' });
  });
}
