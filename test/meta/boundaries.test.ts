// The layer rules of shared/DESIGN.md are enforced by lint: prove a violation is reported.
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/server.js';

// The files linted here do not exist, so no TypeScript project holds them: the type-aware rules
// are switched off for them (the import rules under test need no types).
const eslint = new ESLint({ cwd: repoRoot, overrideConfig: tseslint.configs.disableTypeChecked });

async function ruleIds(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? 'parse');
}

describe('import boundaries', () => {
  it.each([
    ['src/core/x.ts', "import { openSqliteStore } from '../storage/sqlite/sqlite-store.js';\nexport const x = openSqliteStore;\n"],
    ['src/contract/x.ts', "import { isId } from '../core/ids.js';\nexport const x = isId;\n"],
    ['src/storage/x.ts', "import { sealValue } from '../crypto/envelope.js';\nexport const x = sealValue;\n"],
    ['src/services/x.ts', "import { buildApp } from '../http/app.js';\nexport const x = buildApp;\n"],
    ['src/http/x.ts', "import { openSqliteStore } from '../storage/sqlite/sqlite-store.js';\nexport const x = openSqliteStore;\n"],
    ['src/http/routes/x.ts', "import { sealValue } from '../../crypto/envelope.js';\nexport const x = sealValue;\n"],
    ['src/core/x.ts', "import { loadConfig } from '../config.js';\nexport const x = loadConfig;\n"],
    ['src/sdk/x.ts', "import { isId } from '../core/ids.js';\nexport const x = isId;\n"],
    ['src/cli/x.ts', "import { openSqliteStore } from '../storage/sqlite/sqlite-store.js';\nexport const x = openSqliteStore;\n"],
  ])('%s may not import that layer', async (file, code) => {
    expect(await ruleIds(file, code)).toContain('no-restricted-imports');
  });

  it.each([
    ['src/services/x.ts', "import { sealValue } from '../crypto/envelope.js';\nexport const x = sealValue;\n"],
    ['src/http/x.ts', "import type { Caller } from '../services/context.js';\nexport type X = Caller;\n"],
    ['src/core/x.ts', "import type { ErrorCode } from '../contract/errors.js';\nexport type X = ErrorCode;\n"],
    ['src/sdk/x.ts', "import { request } from './http.js';\nexport const x = request;\n"],
    ['src/cli/x.ts', "import { createClient } from '../sdk/index.js';\nexport const x = createClient;\n"],
  ])('%s may import its lower layers', async (file, code) => {
    expect(await ruleIds(file, code)).not.toContain('no-restricted-imports');
  });

  describe('the dashboard (web/) reaches Vaultgate through the SDK only', () => {
    it.each([
      ['web/src/x.tsx', "import { isId } from '../../src/core/ids.js';\nexport const x = isId;\n"],
      ['web/src/pages/x.tsx', "import { buildApp } from '../../../src/http/app.js';\nexport const x = buildApp;\n"],
      ['web/src/x.ts', "import { loadConfig } from '../../src/config.js';\nexport const x = loadConfig;\n"],
      ['web/src/x.ts', "import { injectSurfaces } from '../../src/contract/schemas.js';\nexport const x = injectSurfaces;\n"],
      ['web/src/x.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n"],
    ])('%s may not import %#', async (file, code) => {
      expect(await ruleIds(file, code)).toContain('@typescript-eslint/no-restricted-imports');
    });

    it.each([
      ['web/src/x.ts', "import { createClient } from '../../src/sdk/index.js';\nexport const x = createClient;\n"],
      ['web/src/pages/x.tsx', "import type { Secret } from '../../../src/contract/schemas.js';\nexport type X = Secret;\n"],
      ['web/src/pages/x.tsx', "import { useState } from 'react';\nexport const x = useState;\n"],
    ])('%s may import the SDK, contract types and React (%#)', async (file, code) => {
      expect(await ruleIds(file, code)).not.toContain('@typescript-eslint/no-restricted-imports');
    });
  });

  describe('the storage backends share only src/storage, never each other', () => {
    it.each([
      ['src/storage/postgres/x.ts', "import { liveServingNode } from '../sqlite/sqlite-nodes.js';\nexport const x = liveServingNode;\n"],
      ['src/storage/postgres/x.ts', "import { openSqliteStore } from '../../storage/sqlite/sqlite-store.js';\nexport const x = openSqliteStore;\n"],
      ['src/storage/sqlite/x.ts', "import { rowsOf } from '../postgres/pg-tx.js';\nexport const x = rowsOf;\n"],
      ['src/storage/postgres/x.ts', "import { sealValue } from '../../crypto/envelope.js';\nexport const x = sealValue;\n"],
      ['src/storage/sqlite/x.ts', "import { sealValue } from '../../crypto/envelope.js';\nexport const x = sealValue;\n"],
    ])('%s may not import %#', async (file, code) => {
      expect(await ruleIds(file, code)).toContain('no-restricted-imports');
    });

    it.each([
      ['src/storage/postgres/x.ts', "import { toSecret } from '../rows.js';\nexport const x = toSecret;\n"],
      ['src/storage/sqlite/x.ts', "import { toSecret } from '../rows.js';\nexport const x = toSecret;\n"],
      ['src/storage/sqlite/x.ts', "import { createReadCache } from './read-cache.js';\nexport const x = createReadCache;\n"],
      ['src/storage/x.ts', "import { openSqliteStore } from './sqlite/sqlite-store.js';\nexport const x = openSqliteStore;\n"],
    ])('%s may import src/storage and its own folder (%#)', async (file, code) => {
      expect(await ruleIds(file, code)).not.toContain('no-restricted-imports');
    });
  });

  it('only src/config.ts reads process.env', async () => {
    expect(await ruleIds('src/services/x.ts', 'export const x = process.env.HOME;\n')).toContain('no-restricted-properties');
    expect(await ruleIds('src/config.ts', 'export const x = process.env.HOME;\n')).not.toContain('no-restricted-properties');
  });
});

describe('lint is type-aware on src and test', () => {
  // Linted as the text of a file the TypeScript project holds, so the rules see its types.
  const typed = new ESLint({ cwd: repoRoot });
  const idsOf = async (code: string) => ((await typed.lintText(code, { filePath: 'src/core/ids.ts' }))[0]?.messages ?? []).map((m) => m.ruleId);

  it('a promise nobody awaits is reported', async () => {
    expect(await idsOf('export async function f(): Promise<void> {}\nexport function g(): void {\n  f();\n}\n')).toContain('@typescript-eslint/no-floating-promises');
  });

  it('a switch that misses a member of a union is reported', async () => {
    const code = "export function f(k: 'a' | 'b'): number {\n  switch (k) {\n    case 'a':\n      return 1;\n  }\n  return 0;\n}\n";
    expect(await idsOf(code)).toContain('@typescript-eslint/switch-exhaustiveness-check');
  });
});
