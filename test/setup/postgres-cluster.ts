// Vitest global setup: a throwaway PostgreSQL cluster from the installed binaries, unless
// VAULTGATE_TEST_DATABASE_URL names one. Where no binaries exist the PostgreSQL suites skip
// loudly, except with VAULTGATE_TEST_REQUIRE_PG=1 (set by .ci/run), which fails instead.
// The start/stop logic lives in test/helpers/pg-cluster.ts, shared with tests that need a
// private cluster of their own.
import type { TestProject } from 'vitest/node';
import { findPgBinDir, startPgCluster } from '../helpers/pg-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string | null;
  }
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const given = process.env.VAULTGATE_TEST_DATABASE_URL;
  if (given) {
    project.provide('pgUrl', given);
    return undefined;
  }
  if (!findPgBinDir()) {
    if (process.env.VAULTGATE_TEST_REQUIRE_PG === '1') throw new Error('VAULTGATE_TEST_REQUIRE_PG=1 but no PostgreSQL binaries were found under /usr/lib/postgresql');
    console.warn('\n!!! PostgreSQL binaries not found: the PostgreSQL suites are SKIPPED. Install postgresql or set VAULTGATE_TEST_DATABASE_URL. !!!\n');
    project.provide('pgUrl', null);
    return undefined;
  }
  const cluster = await startPgCluster({ maxConnections: 300 });
  project.provide('pgUrl', cluster.url);
  return () => cluster.destroy();
}
