import { defineConfig } from 'vitest/config';

// `npm run screenshots` only: renders docs/screenshots/ from a seeded server.
export default defineConfig({
  test: { include: ['test/web/screenshots.ts'], testTimeout: 60_000, hookTimeout: 60_000, pool: 'forks' },
});
