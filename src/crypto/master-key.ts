// Where the master key comes from: the environment, or a 0600 key file in the data dir created on first
// start; and the next key a rotation stages beside it.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const KEY_BYTES = 32;
const ENV_NAME = 'VAULTGATE_MASTER_KEY';

/** Missing, malformed, unreadable or badly protected master key. Messages never contain key text. */
export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

export interface LoadedMasterKey {
  key: Buffer;
  source: 'env' | 'file';
  created: boolean;
  path?: string;
}

export interface LoadMasterKeyOptions {
  envValue: string | undefined;
  dataDir: string;
  storeInitialized: boolean;
}

const STANDARD = /^[A-Za-z0-9+/]+={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]+={0,2}$/;

/** Base64 (standard or url-safe, padding optional) of exactly 32 bytes. */
export function parseMasterKey(text: string, sourceName: string = ENV_NAME): Buffer {
  const trimmed = text.trim();
  const alphabet = STANDARD.test(trimmed) ? 'base64' : URL_SAFE.test(trimmed) ? 'base64url' : undefined;
  const key = alphabet === undefined ? undefined : Buffer.from(trimmed, alphabet);
  // Node's decoder skips junk silently; re-encoding rejects anything that is not the canonical text.
  const canonical = key?.toString(alphabet).replace(/=+$/, '');
  if (key === undefined || key.length !== KEY_BYTES || canonical !== trimmed.replace(/=+$/, '')) {
    key?.fill(0);
    throw new MasterKeyError(`${sourceName} must be base64 of exactly 32 bytes (e.g. openssl rand -base64 32)`);
  }
  return key;
}

export function masterKeyPath(dataDir: string): string {
  return path.join(dataDir, 'master.key');
}

/** Where master-key rotation stages the new key before it replaces `master.key`. */
export function pendingMasterKeyPath(dataDir: string): string {
  return path.join(dataDir, 'master.key.next');
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

function fsyncDirectory(dir: string): void {
  // Some platforms and filesystems cannot fsync a directory; the rename is still the commit point.
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function writeNewFile(file: string, key: Buffer): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, `${key.toString('base64')}\n`);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    // A half-written key file would make the next start fail as "malformed": leave none.
    fs.rmSync(file, { force: true });
    throw err;
  }
  fs.closeSync(fd);
}

/** Replaces `file` with `key` so that a crash leaves either the old or the new key, never a mix. */
export function writeKeyFileAtomically(file: string, key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new TypeError('master key must be exactly 32 bytes');
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  writeNewFile(tmp, key);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDirectory(dir);
}

/** Stages the next master key in `master.key.next`, before the store commits to it; returns that file. */
export function stagePendingMasterKey(dataDir: string, key: Buffer): string {
  const file = pendingMasterKeyPath(dataDir);
  writeKeyFileAtomically(file, key);
  return file;
}

/** The staged next master key, or undefined if none is staged. */
export function readPendingMasterKey(dataDir: string): Buffer | undefined {
  const file = pendingMasterKeyPath(dataDir);
  if (!fs.existsSync(file)) return undefined;
  return parseMasterKey(fs.readFileSync(file, 'utf8'), file);
}

/** The staged key becomes `master.key`: the rename is the commit point, the directory fsync makes it last. */
export function promotePendingMasterKey(dataDir: string): void {
  fs.renameSync(pendingMasterKeyPath(dataDir), masterKeyPath(dataDir));
  fsyncDirectory(dataDir);
}

/** Removes a staged key the store never committed to, so it cannot pass for the store's next key. */
export function discardPendingMasterKey(dataDir: string): void {
  fs.rmSync(pendingMasterKeyPath(dataDir), { force: true });
}

/** Reads the key file, or returns undefined if there is none. */
function readKeyFile(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT') return undefined;
    throw new MasterKeyError(`cannot read the master key file ${file} (${code ?? 'unknown error'})`);
  }
  try {
    // fstat of the opened file, not stat of the path: the file checked is the file read.
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new MasterKeyError(`the master key file ${file} is not a regular file`);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
      throw new MasterKeyError(
        `the master key file ${file} is accessible by group or others (mode ${mode}); run: chmod 600 ${file}`,
      );
    }
    return parseMasterKey(fs.readFileSync(fd, 'utf8'), file);
  } finally {
    fs.closeSync(fd);
  }
}

function createKeyFile(dataDir: string, file: string): Buffer {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  writeNewFile(file, key);
  fsyncDirectory(dataDir);
  return key;
}

/**
 * The env var wins; else the key file; else, for a store without data only, a new key file.
 * An empty env value counts as unset (as `${VAR:-}` templates produce).
 */
export function loadMasterKey(opts: LoadMasterKeyOptions): LoadedMasterKey {
  if (opts.envValue !== undefined && opts.envValue !== '') {
    return { key: parseMasterKey(opts.envValue, ENV_NAME), source: 'env', created: false };
  }
  const file = masterKeyPath(opts.dataDir);
  const existing = readKeyFile(file);
  if (existing !== undefined) return { key: existing, source: 'file', created: false, path: file };
  if (opts.storeInitialized) {
    // Generating a key here would make every stored value unreadable: refuse instead.
    throw new MasterKeyError(
      `the store already holds data but no master key was found: set ${ENV_NAME} or restore ${file}`,
    );
  }
  try {
    return { key: createKeyFile(opts.dataDir, file), source: 'file', created: true, path: file };
  } catch (err) {
    // Another process started at the same moment and created the file first: use its key.
    if (errorCode(err) !== 'EEXIST') throw err;
    const raced = readKeyFile(file);
    if (raced === undefined) throw err;
    return { key: raced, source: 'file', created: false, path: file };
  }
}
