// Per-test PostgreSQL databases on the cluster the global setup started (or the one given).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export function pgAvailable(): boolean {
  return inject('pgUrl') !== null;
}

/** Creates a fresh database; returns its URL and a function that drops it. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = inject('pgUrl');
  if (!base) throw new Error('no PostgreSQL for tests');
  const name = `vg_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
