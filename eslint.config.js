// Lint: type-aware TypeScript rules (src and test) plus the layer boundaries of shared/DESIGN.md.
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Each layer lists the project folders it must not import from. */
const layers = {
  contract: ['core', 'crypto', 'storage', 'services', 'http', 'proxy', 'runtime', 'sdk', 'cli', 'config', 'main', 'net'],
  core: ['crypto', 'storage', 'services', 'http', 'proxy', 'runtime', 'sdk', 'cli', 'config', 'main', 'net'],
  crypto: ['storage', 'services', 'http', 'proxy', 'runtime', 'sdk', 'cli', 'config', 'main', 'net'],
  storage: ['crypto', 'services', 'http', 'proxy', 'runtime', 'sdk', 'cli', 'config', 'main', 'net'],
  services: ['http', 'proxy', 'runtime', 'sdk', 'cli', 'config', 'main', 'net'],
  http: ['storage', 'crypto', 'proxy', 'runtime', 'sdk', 'cli', 'main'],
  proxy: ['storage', 'crypto', 'http', 'runtime', 'sdk', 'cli', 'main'],
  runtime: ['core', 'crypto', 'storage', 'services', 'http', 'proxy', 'cli', 'main', 'net'],
  sdk: ['core', 'crypto', 'storage', 'services', 'http', 'proxy', 'runtime', 'cli', 'config', 'main', 'net'],
  cli: ['core', 'crypto', 'storage', 'services', 'http', 'proxy', 'net'],
  net: ['core', 'crypto', 'storage', 'services', 'http', 'proxy', 'runtime', 'sdk', 'cli', 'config', 'main'],
};

/** `config` and `main` are single files in src/; every other layer is a folder. */
const fileLayers = new Set(['config', 'main']);

/** Everything under src/ but the SDK and the contract, plus Node's modules (the dashboard runs in a browser). */
const webBanned = [
  ...['core', 'crypto', 'storage', 'services', 'http', 'proxy', 'net', 'runtime', 'cli'].map((f) => `**/src/${f}/**`),
  '**/src/config.js',
  '**/src/main.js',
  'node:*',
];

function banned(layers) {
  return layers.flatMap((f) => (fileLayers.has(f) ? [`**/src/${f}.js`, `../${f}.js`, `../../${f}.js`] : [`**/${f}/**`, `../${f}/*`, `./${f}/*`]));
}

const layerPattern = (layer) => ({ group: banned(layers[layer]), message: `${layer}/ must not import this layer (shared/DESIGN.md).` });

/** Each storage backend and the one it must not import: what both need lives in src/storage itself. */
const backends = { postgres: 'sqlite', sqlite: 'postgres' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/.work/**', 'web/dist/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  // Type-aware rules for the TypeScript sources and tests: a promise nobody awaits or catches, a
  // switch that misses a case of a union, an async callback where a void one is expected.
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['src/**/*.ts', 'test/**/*.ts'] })),
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Store methods are async by contract; the SQLite ones have nothing to await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='only']", message: 'No .only in tests.' },
      ],
    },
  },
  ...Object.keys(layers).map((layer) => ({
    files: [`src/${layer}/**/*.ts`],
    ignores: ['src/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [layerPattern(layer)] }] },
  })),
  // Replaces the storage layer's rule for the backend folders, so it repeats that rule's patterns.
  ...Object.entries(backends).map(([backend, other]) => ({
    files: [`src/storage/${backend}/**/*.ts`],
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            layerPattern('storage'),
            { group: [`**/storage/${other}/**`, `../${other}/*`], message: `storage/${backend}/ must not import storage/${other}/: what both use lives in src/storage.` },
          ],
        },
      ],
    },
  })),
  {
    // The dashboard talks to Vaultgate through the SDK only, like any other client; from the
    // contract it may take types, which vanish from the bundle.
    files: ['web/src/**/*.{ts,tsx}'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: webBanned, message: 'web/ may import only src/sdk and types from src/contract (shared/DESIGN.md).' },
            { group: ['**/src/contract/**'], allowTypeImports: true, message: 'web/ may import only types from src/contract.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/config.ts', 'src/**/*.test.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only src/config.ts reads process.env.' }],
    },
  },
  {
    // The benchmark harness is plain JavaScript run by Node: a name it never defined or imported is
    // an error here, not a crash in the middle of a measurement.
    files: ['bench/**/*.mjs'],
    languageOptions: { globals: globals.node },
    rules: { 'no-undef': 'error' },
  },
  {
    // Tests read arbitrary JSON bodies; `any` there keeps assertions readable.
    files: ['test/**/*.ts', 'src/**/*.test.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // Where a test reads `any` JSON, this rule's view of a type is not tsc's: it would drop casts tsc needs.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
);
