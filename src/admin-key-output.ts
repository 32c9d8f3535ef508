// Where the one-time bootstrap admin key goes: a plain line on stderr, or a new 0600 file; never the JSON log (SPEC §11).
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';

/** `VAULTGATE_ADMIN_KEY_FILE` names a file that is already there: nothing was created. */
export class AdminKeyFileError extends Error {
  override name = 'AdminKeyFileError';
}

export interface AdminKeyOutput {
  /** Runs before a key is minted: takes the file (exclusively, 0600), or refuses, so no key is made that cannot be handed over. */
  reserve(): void;
  /** Hands the minted key over, once. */
  deliver(orgId: string, key: string): void;
  /** No key was minted after all (another node created the default org): gives the reserved file back. */
  release(): void;
}

export function createAdminKeyOutput(file: string | null, print: (text: string) => void): AdminKeyOutput {
  let fd: number | null = null;
  return {
    reserve() {
      if (file === null) return;
      try {
        fd = openSync(file, 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        throw new AdminKeyFileError(
          `VAULTGATE_ADMIN_KEY_FILE ${file} already exists: refusing to overwrite it, so no admin key was created (move the file away, or unset the variable to have the key written to stderr)`,
        );
      }
    },
    deliver(orgId, key) {
      if (fd === null) {
        print(`\nVaultgate created the default org ${orgId}.\nAdmin API key (shown once, store it now):\n\n  ${key}\n\n`);
        return;
      }
      writeSync(fd, `${key}\n`);
      closeSync(fd);
      fd = null;
      print(`Vaultgate created the default org ${orgId}; its admin API key is in ${file} (mode 0600).\n`);
    },
    release() {
      if (fd === null || file === null) return;
      closeSync(fd);
      fd = null;
      unlinkSync(file);
    },
  };
}
