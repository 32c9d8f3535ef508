// The cluster the global setup provides answers queries (or the suites say loudly they skip).
import pg from 'pg';
import { expect, inject, it } from 'vitest';
import { createTestDatabase } from '../helpers/postgres.js';

const url = inject('pgUrl');

// Skipped only where no PostgreSQL can be had (the global setup then warns loudly); CI sets VAULTGATE_TEST_REQUIRE_PG=1, which fails instead of skipping.
it.skipIf(url === null)('the test PostgreSQL cluster accepts connections and per-test databases', async () => {
  const db = await createTestDatabase();
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const { rows } = await c.query('SELECT current_database() AS name, version() AS v');
  expect(rows[0].name).toMatch(/^vg_[0-9a-f]{12}$/);
  expect(rows[0].v).toMatch(/^PostgreSQL \d+/);
  await c.end();
  await db.drop();
});
