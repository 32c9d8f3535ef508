// Keyring use cases without a store: a committed rotation's key file swap at boot, and the one
// mapping of a data key under another master key to `unavailable`.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VaultError } from '../contract/errors.js';
import { DecryptError } from '../crypto/aead.js';
import { openValue, sealValue } from '../crypto/envelope.js';
import { createKeyringRecord, kekIdOf, openKeyring, rewrapKeyringRecord, WrongMasterKeyError } from '../crypto/keyring.js';
import { MasterKeyError, masterKeyPath, pendingMasterKeyPath, stagePendingMasterKey, writeKeyFileAtomically } from '../crypto/master-key.js';
import { resolveMasterKey, servingKeyring } from './keyring-service.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
function dataDirWithKey(key: Buffer): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'vaultgate-ks-'));
  dirs.push(dir);
  writeKeyFileAtomically(masterKeyPath(dir), key);
  return dir;
}

describe('resolveMasterKey', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const committed = { kek_id: kekIdOf(newKey), wrapped_root: Buffer.alloc(0) };

  it("finishes a committed rotation: the staged key becomes the key file when it is the store's", () => {
    const dataDir = dataDirWithKey(oldKey);
    stagePendingMasterKey(dataDir, newKey);
    const found = resolveMasterKey({ envValue: undefined, dataDir }, committed, true);
    expect([found.source, found.key.equals(newKey)]).toEqual(['file', true]);
    expect(fs.readFileSync(masterKeyPath(dataDir), 'utf8')).toBe(`${newKey.toString('base64')}\n`);
    expect(fs.existsSync(pendingMasterKeyPath(dataDir))).toBe(false);
  });

  it('changes nothing when the key in use is the store’s, or the staged key is not', () => {
    const dataDir = dataDirWithKey(oldKey);
    stagePendingMasterKey(dataDir, randomBytes(32));
    expect(resolveMasterKey({ envValue: undefined, dataDir }, { ...committed, kek_id: kekIdOf(oldKey) }, true).key.equals(oldKey)).toBe(true);
    expect(resolveMasterKey({ envValue: undefined, dataDir }, committed, true).key.equals(oldKey)).toBe(true);
    expect(fs.readdirSync(dataDir).sort()).toEqual(['master.key', 'master.key.next']);
  });

  it('with the key in the environment, says where the new key is instead of moving files', () => {
    const dataDir = dataDirWithKey(oldKey);
    const pending = stagePendingMasterKey(dataDir, newKey);
    const resolve = () => resolveMasterKey({ envValue: oldKey.toString('base64'), dataDir }, committed, true);
    expect(resolve).toThrow(MasterKeyError);
    expect(resolve).toThrow(`the store was re-keyed by rotate-master-key: set VAULTGATE_MASTER_KEY to the key in ${pending}, then delete that file`);
    expect(fs.readFileSync(masterKeyPath(dataDir), 'utf8')).toBe(`${oldKey.toString('base64')}\n`);
  });
});

describe('servingKeyring', () => {
  const master = randomBytes(32);
  const record = createKeyringRecord(master);
  const raw = openKeyring(master, record);
  const keyring = servingKeyring(raw);
  const binding = { orgId: 'org_1', vaultId: 'vlt_1', secretId: 'sec_1', version: 1 };

  it('seals and opens like the keyring it wraps, with the same derived keys', () => {
    expect(openValue(raw, binding, sealValue(keyring, binding, 'v'))).toBe('v');
    expect(openValue(keyring, binding, sealValue(raw, binding, 'v'))).toBe('v');
    expect([keyring.kekId, keyring.fingerprint('sec_1', 'v')]).toEqual([raw.kekId, raw.fingerprint('sec_1', 'v')]);
    expect([keyring.auditKey, keyring.placeholderKey, keyring.caKey]).toEqual([raw.auditKey, raw.placeholderKey, raw.caKey]);
  });

  it('turns a data key wrapped under a newer master key into unavailable (503), keeping the cause', () => {
    const next = randomBytes(32);
    const rotated = openKeyring(next, rewrapKeyringRecord(master, next, record));
    let caught: unknown;
    try {
      openValue(keyring, binding, sealValue(rotated, binding, 'v'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(VaultError);
    expect(caught).toMatchObject({ code: 'unavailable', status: 503, message: 'the master key was rotated: restart this node with the new key' });
    expect((caught as VaultError).cause).toBeInstanceOf(WrongMasterKeyError);
  });

  it('lets every other failure through unchanged', () => {
    const sealed = sealValue(keyring, binding, 'v');
    expect(() => openValue(keyring, { ...binding, version: 2 }, sealed)).toThrow(DecryptError);
  });
});
