// `admin rotate-master-key`: re-wraps every data key under a new master key, refused while a node serves.
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync } from 'node:fs';
import type { Config } from './config.js';
import { rewrapSealedValue } from './crypto/envelope.js';
import { kekIdOf, openKeyring, rewrapKeyringRecord } from './crypto/keyring.js';
import { MasterKeyError, masterKeyPath, parseMasterKey, pendingMasterKeyPath, writeKeyFileAtomically } from './crypto/master-key.js';
import { BootError, fsyncDir, openVaultgate } from './main.js';
import { draftEvent, type Clock } from './services/context.js';
import { liveSince, servingNodeMessage } from './services/node-presence.js';

/**
 * Re-wraps the keyring and every data key under a new master key in one transaction. The new
 * key is written to master.key.next before the commit, so a crash at any point leaves either the
 * old key (nothing committed) or the pending file (committed) able to open every secret.
 */
export async function rotateMasterKey(
  config: Config,
  newKeyText?: string,
  options: { clock?: Clock } = {},
): Promise<{ from: string; to: string; rewrapped: number; pendingFile: string | null }> {
  const vg = await openVaultgate(config, { mustExist: true });
  const clock = options.clock ?? vg.deps.clock;
  try {
    const newMaster = newKeyText === undefined ? randomBytes(32) : parseMasterKey(newKeyText, 'the new master key');
    if (kekIdOf(newMaster) === vg.keyring.kekId) throw new MasterKeyError('the new master key equals the current one');
    const current = await vg.store.getKeyring();
    if (!current) throw new BootError('the store has no keyring');
    const next = rewrapKeyringRecord(vg.masterKey, newMaster, { kekId: current.kek_id, wrappedRoot: current.wrapped_root });
    const nextKeyring = openKeyring(newMaster, next);
    const pending = pendingMasterKeyPath(config.dataDir);
    writeKeyFileAtomically(pending, newMaster);
    const org = await vg.store.getDefaultOrg();
    const audit = org
      ? [draftEvent(vg.deps, { orgId: org.id, actor: 'admin', requestId: null, sourceIp: null }, 'keyring.rotated', { details: { from: vg.keyring.kekId, to: next.kekId } })]
      : [];
    const rewrap = await vg.store.rewrapAll({ kek_id: next.kekId, wrapped_root: next.wrappedRoot }, (ref) => {
      const binding = { orgId: ref.org_id, vaultId: ref.vault_id, secretId: ref.secret_id, version: ref.version };
      return rewrapSealedValue(vg.keyring, nextKeyring, binding, { kekId: ref.kek_id, wrappedKey: ref.wrapped_key, ciphertext: Buffer.alloc(0) }).wrappedKey;
    }, audit, liveSince(clock.now()));
    if (!rewrap.ok) {
      // Nothing committed: the new key must not stay behind looking like the store's next key.
      rmSync(pending, { force: true });
      throw new BootError(servingNodeMessage(rewrap.node, clock.now()));
    }
    if (vg.masterKeySource === 'file') {
      renameSync(pending, masterKeyPath(config.dataDir));
      fsyncDir(config.dataDir);
    }
    return { from: vg.keyring.kekId, to: next.kekId, rewrapped: rewrap.rewrapped, pendingFile: vg.masterKeySource === 'file' ? null : pending };
  } finally {
    await vg.close();
  }
}
