// The keyring's use cases: which master key opens the store, rotating that key (audited here), the deployment CA.
import { masterKeyRotated } from '../contract/errors.js';
import { rewrapSealedValue } from '../crypto/envelope.js';
import { createKeyringRecord, kekIdOf, openKeyring, rewrapKeyringRecord, WrongMasterKeyError, type Keyring } from '../crypto/keyring.js';
import {
  discardPendingMasterKey,
  loadMasterKey,
  MasterKeyError,
  parseMasterKey,
  pendingMasterKeyPath,
  promotePendingMasterKey,
  readPendingMasterKey,
  stagePendingMasterKey,
} from '../crypto/master-key.js';
import { generateProxyCa, openProxyCa, type OpenedCa } from '../crypto/proxy-ca.js';
import type { Store } from '../storage/store.js';
import type { KeyringRow, ProxyCaRow, StoreInspection } from '../storage/types.js';
import { draftEvent, type Clock, type ServiceDeps } from './context.js';
import { liveSince, servingNodeMessage } from './node-presence.js';

/** Where this node looks for its master key: VAULTGATE_MASTER_KEY, else the key file in the data dir. */
export interface MasterKeySource {
  envValue: string | undefined;
  dataDir: string;
}

export interface MasterKey {
  key: Buffer;
  source: 'env' | 'file';
}

/** A master-key rotation that cannot go ahead: a node still serves, or the store has no keyring. */
export class RotationRefusedError extends Error {
  override name = 'RotationRefusedError';
}

/**
 * Finds the master key for this store without changing anything, except finishing a master-key
 * rotation that committed but stopped before swapping key files.
 */
export function resolveMasterKey(from: MasterKeySource, stored: KeyringRow | null, initialized: boolean): MasterKey {
  const loaded = loadMasterKey({ envValue: from.envValue, dataDir: from.dataDir, storeInitialized: initialized });
  if (!stored || kekIdOf(loaded.key) === stored.kek_id) return loaded;
  const next = readPendingMasterKey(from.dataDir);
  if (next && kekIdOf(next) === stored.kek_id) {
    if (loaded.source === 'env') {
      const pending = pendingMasterKeyPath(from.dataDir);
      throw new MasterKeyError(`the store was re-keyed by rotate-master-key: set VAULTGATE_MASTER_KEY to the key in ${pending}, then delete that file`);
    }
    promotePendingMasterKey(from.dataDir);
    return { key: next, source: 'file' };
  }
  return loaded;
}

/** The store's keyring opened with its master key; for a store without one, a new keyring (`created`). */
export function openStoreKeyring(from: MasterKeySource, inspected: StoreInspection): { master: MasterKey; keyring: Keyring; row: KeyringRow; created: boolean } {
  const master = resolveMasterKey(from, inspected.keyring, inspected.initialized);
  const stored = inspected.keyring;
  const record = stored ? { kekId: stored.kek_id, wrappedRoot: stored.wrapped_root } : createKeyringRecord(master.key);
  const keyring = openKeyring(master.key, record);
  return { master, keyring, row: { kek_id: record.kekId, wrapped_root: record.wrappedRoot }, created: !stored };
}

/**
 * Nodes starting at once on one empty database each generate a root; the first to store its
 * keyring wins. A node that lost the race must reopen with the stored one, or it would seal and
 * chain under a root no other node has.
 */
export async function holdsKeyring(store: Pick<Store, 'getKeyring'>, row: KeyringRow): Promise<boolean> {
  const winner = await store.getKeyring();
  return winner !== null && winner.kek_id === row.kek_id && winner.wrapped_root.equals(row.wrapped_root);
}

/**
 * The keyring the other services use. A data key wrapped under another master key means the store
 * was re-keyed while this node ran: that is `unavailable` (a restart with the new key fixes it),
 * decided here once for the API and the proxy alike.
 */
export function servingKeyring(keyring: Keyring): Keyring {
  return {
    kekId: keyring.kekId,
    wrapDataKey: (dek, binding) => keyring.wrapDataKey(dek, binding),
    unwrapDataKey(wrapped, kekId, binding) {
      try {
        return keyring.unwrapDataKey(wrapped, kekId, binding);
      } catch (err) {
        if (err instanceof WrongMasterKeyError) throw masterKeyRotated(err);
        throw err;
      }
    },
    fingerprint: (secretId, value) => keyring.fingerprint(secretId, value),
    get auditKey() {
      return keyring.auditKey;
    },
    get placeholderKey() {
      return keyring.placeholderKey;
    },
    get caKey() {
      return keyring.caKey;
    },
  };
}

export type KeyringStore = Pick<Store, 'getKeyring' | 'getDefaultOrg' | 'rewrapAll' | 'getProxyCa' | 'initProxyCa'>;

export interface KeyringServiceDeps extends ServiceDeps {
  store: KeyringStore;
  /** This node's keyring as opened, and the master key it was opened with. */
  keyring: Keyring;
  master: MasterKey;
  /** Where the key file lives, and where a rotation stages the next key. */
  dataDir: string;
}

export interface RotationResult {
  from: string;
  to: string;
  rewrapped: number;
  /** The staged key file to move into VAULTGATE_MASTER_KEY; null when the key file was replaced. */
  pendingFile: string | null;
}

export function createKeyringService(deps: KeyringServiceDeps) {
  const { store, keyring, master, dataDir } = deps;

  /** The deployment CA: generated on first start and kept sealed in the store, so every node shares it. */
  async function ensureProxyCa(): Promise<ProxyCaRow> {
    const existing = await store.getProxyCa();
    if (existing) return existing;
    const sealed = await generateProxyCa(keyring, deps.clock.now());
    return store.initProxyCa({ cert_pem: sealed.certPem, sealed_key: sealed.sealedKey, created_at: deps.clock.now().toISOString() });
  }
  let proxyCa: Promise<ProxyCaRow> | null = null;
  const storedProxyCa = () =>
    (proxyCa ??= ensureProxyCa().catch((err: unknown) => {
      proxyCa = null;
      throw err;
    }));

  return {
    /** The deployment CA's certificate (PEM), for agents to trust. */
    caCertificate: async (): Promise<string> => (await storedProxyCa()).cert_pem,

    /** The deployment CA with its private key, for the proxy to mint leaf certificates. */
    async openProxyCa(): Promise<OpenedCa> {
      const row = await storedProxyCa();
      return openProxyCa(keyring, { certPem: row.cert_pem, sealedKey: row.sealed_key });
    },

    /**
     * Re-wraps the keyring and every data key under a new master key in one transaction. The new
     * key is written to master.key.next before the commit, so a crash at any point leaves either the
     * old key (nothing committed) or the pending file (committed) able to open every secret.
     * `options.clock` is when serving nodes' heartbeats are judged (the audit event keeps the service clock).
     */
    async rotateMasterKey(newKeyText?: string, options: { clock?: Clock } = {}): Promise<RotationResult> {
      const clock = options.clock ?? deps.clock;
      const newMaster = newKeyText === undefined ? deps.random(32) : parseMasterKey(newKeyText, 'the new master key');
      if (kekIdOf(newMaster) === keyring.kekId) throw new MasterKeyError('the new master key equals the current one');
      const current = await store.getKeyring();
      if (!current) throw new RotationRefusedError('the store has no keyring');
      const next = rewrapKeyringRecord(master.key, newMaster, { kekId: current.kek_id, wrappedRoot: current.wrapped_root });
      const nextKeyring = openKeyring(newMaster, next);
      const pending = stagePendingMasterKey(dataDir, newMaster);
      const org = await store.getDefaultOrg();
      const audit = org
        ? [draftEvent(deps, { orgId: org.id, actor: 'admin', requestId: null, sourceIp: null }, 'keyring.rotated', { details: { from: keyring.kekId, to: next.kekId } })]
        : [];
      const rewrap = await store.rewrapAll({ kek_id: next.kekId, wrapped_root: next.wrappedRoot }, (ref) => {
        const binding = { orgId: ref.org_id, vaultId: ref.vault_id, secretId: ref.secret_id, version: ref.version };
        return rewrapSealedValue(keyring, nextKeyring, binding, { kekId: ref.kek_id, wrappedKey: ref.wrapped_key, ciphertext: Buffer.alloc(0) }).wrappedKey;
      }, audit, liveSince(clock.now()));
      if (!rewrap.ok) {
        discardPendingMasterKey(dataDir);
        throw new RotationRefusedError(servingNodeMessage(rewrap.node, clock.now()));
      }
      if (master.source === 'file') promotePendingMasterKey(dataDir);
      return { from: keyring.kekId, to: next.kekId, rewrapped: rewrap.rewrapped, pendingFile: master.source === 'file' ? null : pending };
    },
  };
}

export type KeyringService = ReturnType<typeof createKeyringService>;
