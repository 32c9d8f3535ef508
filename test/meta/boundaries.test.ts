// The layer rules of shared/DESIGN.md are enforced by lint: prove a violation is reported.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/server.js';

const eslint = new ESLint({ cwd: repoRoot });

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

  it('only src/config.ts reads process.env', async () => {
    expect(await ruleIds('src/services/x.ts', 'export const x = process.env.HOME;\n')).toContain('no-restricted-properties');
    expect(await ruleIds('src/config.ts', 'export const x = process.env.HOME;\n')).not.toContain('no-restricted-properties');
  });
});
