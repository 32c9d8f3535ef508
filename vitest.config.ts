import { existsSync, readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// The API suite (and the proxy's rate limits, counted by the store) runs a second time on PostgreSQL when a server can be had (a throwaway cluster
// from the installed binaries, or VAULTGATE_TEST_DATABASE_URL); otherwise it is skipped loudly
// by the global setup, or fails with VAULTGATE_TEST_REQUIRE_PG=1.
const pgRoot = '/usr/lib/postgresql';
const havePostgres =
  Boolean(process.env.VAULTGATE_TEST_DATABASE_URL) ||
  process.env.VAULTGATE_TEST_REQUIRE_PG === '1' ||
  (existsSync(pgRoot) && readdirSync(pgRoot).some((v) => existsSync(`${pgRoot}/${v}/bin/initdb`)));

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/setup/postgres-cluster.ts'],
    projects: [
      { extends: true as const, test: { name: 'sqlite', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] } },
      ...(havePostgres
        ? [{ extends: true as const, test: { name: 'postgres', include: ['test/api/**/*.test.ts', 'test/proxy/rate-limits.test.ts'], env: { VAULTGATE_TEST_BACKEND: 'postgres' } } }]
        : []),
    ],
  },
});
