// docs/errors.md and the error table in src/contract/errors.ts must agree, row for row.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { errorTable } from '../../src/contract/errors.js';
import { repoRoot } from '../helpers/server.js';

it('docs/errors.md lists exactly the codes, statuses and messages of the error table', () => {
  const doc = readFileSync(join(repoRoot, 'docs/errors.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| (.+?) \|$/gm)].map((m) => [m[1], Number(m[2]), m[3]]);
  const table = Object.entries(errorTable).map(([code, e]) => [code, e.status, e.message]);
  expect(rows).toEqual(table);
});
