// What `npm pack` ships: the LICENSE, the CLI, no source map pointing at a file left out, and `import('vaultgate')` is the SDK.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli } from '../helpers/kit.js';
import { repoRoot } from '../helpers/server.js';

let files: string[] = [];
beforeAll(() => {
  requireBuiltCli();
  // --ignore-scripts: the tarball's contents without `prepare` rebuilding dist/ under the other suites.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, env: { ...process.env, npm_config_loglevel: 'silent' } }).toString();
  files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}, 60_000);

describe('the packed tarball', () => {
  it('holds the Apache-2.0 LICENSE that package.json names, and the CLI', () => {
    expect(files).toContain('LICENSE');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/sdk/index.js');
    expect(files).toContain('dist/sdk/index.d.ts');
    expect(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).license).toBe('Apache-2.0');
    const license = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain('END OF TERMS AND CONDITIONS');
  });

  it('has no source map whose sources are not in the tarball', () => {
    const shipped = new Set(files);
    const dangling: string[] = [];
    for (const map of files.filter((f) => f.endsWith('.map'))) {
      const { sources = [], sourcesContent = [] } = JSON.parse(readFileSync(join(repoRoot, map), 'utf8')) as { sources?: string[]; sourcesContent?: (string | null)[] };
      sources.forEach((source, i) => {
        const inline = typeof sourcesContent[i] === 'string';
        if (!inline && !shipped.has(normalize(join(dirname(map), source)))) dangling.push(`${map} → ${source}`);
      });
    }
    expect(dangling).toEqual([]);
    // No source under src/ is shipped, so every map would dangle: the build emits none.
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  it("import('vaultgate') is the SDK, through the package's exports (self-reference from the package root)", () => {
    const script = "console.log(import.meta.resolve('vaultgate')); const m = await import('vaultgate'); console.log(typeof m.createClient, typeof m.VaultgateError);";
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot }).toString();
    expect(out).toBe(`${pathToFileURL(join(repoRoot, 'dist/sdk/index.js')).href}\nfunction function\n`);
    const sdk = execFileSync(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('vaultgate/sdk'))"], { cwd: repoRoot }).toString();
    expect(sdk).toBe(`${pathToFileURL(join(repoRoot, 'dist/sdk/index.js')).href}\n`);
  });
});
