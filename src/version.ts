// The Vaultgate version: package.json's, the one place it is written, for the CLI and the API alike.
import { readFileSync } from 'node:fs';

// package.json sits one level above both src/ and dist/, in a checkout and in an installed package.
export const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
