// Tests of master-key loading: env parsing, key-file creation and permissions, refusal to re-key a store,
// and the staged next key of a rotation.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  discardPendingMasterKey,
  loadMasterKey,
  MasterKeyError,
  masterKeyPath,
  parseMasterKey,
  pendingMasterKeyPath,
  promotePendingMasterKey,
  readPendingMasterKey,
  stagePendingMasterKey,
  writeKeyFileAtomically,
} from './master-key.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'vaultgate-mk-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

const key = randomBytes(32);
const b64 = key.toString('base64');

describe('parseMasterKey', () => {
  it.each([
    ['standard base64', b64],
    ['url-safe base64', key.toString('base64url')],
    ['unpadded standard base64', b64.replace(/=+$/, '')],
    ['surrounding whitespace and newline', `  ${b64}\n`],
    ['CRLF line ending', `${b64}\r\n`],
  ])('accepts %s', (_name, text) => {
    expect(parseMasterKey(text).equals(key)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['whitespace only', ' \n'],
    ['short (31 bytes)', randomBytes(31).toString('base64')],
    ['long (33 bytes)', randomBytes(33).toString('base64')],
    ['64 bytes', randomBytes(64).toString('base64')],
    ['hex of 32 bytes', key.toString('hex')],
    ['not base64', 'this is definitely not a base64 key!!!!!!!!!'],
    ['junk inside', `${b64.slice(0, 20)}*${b64.slice(20)}`],
    ['inner whitespace', `${b64.slice(0, 20)} ${b64.slice(20)}`],
    ['mixed alphabets', `+_${b64.slice(2)}`],
    ['non-canonical trailing bits', `${b64.slice(0, 42)}${b64[42] === 'B' ? 'C' : 'B'}=`],
  ])('refuses %s without echoing it', (_name, text) => {
    const err = thrown(() => parseMasterKey(text));
    expect(err).toBeInstanceOf(MasterKeyError);
    expect(err.message).toBe('VAULTGATE_MASTER_KEY must be base64 of exactly 32 bytes (e.g. openssl rand -base64 32)');
  });

  it('names the source it was given', () => {
    expect(thrown(() => parseMasterKey('x', '/data/master.key')).message).toMatch(/^\/data\/master\.key must be/);
  });
});

describe('key paths', () => {
  it('live in the data dir', () => {
    expect(masterKeyPath('/d')).toBe(path.join('/d', 'master.key'));
    expect(pendingMasterKeyPath('/d')).toBe(path.join('/d', 'master.key.next'));
  });
});

function modeOf(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

describe('loadMasterKey', () => {
  it('prefers a valid env value and touches no file', () => {
    const dataDir = tempDir();
    const loaded = loadMasterKey({ envValue: b64, dataDir, storeInitialized: true });
    expect(loaded).toEqual({ key, source: 'env', created: false });
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it.each([
    ['short', randomBytes(16).toString('base64')],
    ['long', randomBytes(48).toString('base64')],
    ['not base64', `${b64.slice(0, 10)}%%%%${b64.slice(14)}`],
    ['whitespace only', '   '],
  ])('refuses a %s env value without echoing it and without falling back to the file', (_name, envValue) => {
    const dataDir = tempDir();
    fs.writeFileSync(masterKeyPath(dataDir), `${b64}\n`, { mode: 0o600 });
    const err = thrown(() => loadMasterKey({ envValue, dataDir, storeInitialized: true }));
    expect(err).toBeInstanceOf(MasterKeyError);
    expect(err.message).toContain('VAULTGATE_MASTER_KEY');
    if (envValue.trim() !== '') expect(err.message).not.toContain(envValue.trim().slice(0, 8));
  });

  it('treats an empty env value as unset', () => {
    const dataDir = tempDir();
    fs.writeFileSync(masterKeyPath(dataDir), `${b64}\n`, { mode: 0o600 });
    const loaded = loadMasterKey({ envValue: '', dataDir, storeInitialized: true });
    expect(loaded).toEqual({ key, source: 'file', created: false, path: masterKeyPath(dataDir) });
  });

  it('creates a 0600 key file (and a 0700 data dir) on first start, then reads the same key back', () => {
    const dataDir = path.join(tempDir(), 'nested', 'data');
    const first = loadMasterKey({ envValue: undefined, dataDir, storeInitialized: false });
    const file = masterKeyPath(dataDir);
    expect(first).toEqual({ key: first.key, source: 'file', created: true, path: file });
    expect(first.key.length).toBe(32);
    expect(modeOf(file)).toBe(0o600);
    expect(modeOf(dataDir)).toBe(0o700);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${first.key.toString('base64')}\n`);

    const second = loadMasterKey({ envValue: undefined, dataDir, storeInitialized: true });
    expect(second).toEqual({ key: first.key, source: 'file', created: false, path: file });
  });

  it('creates a different key for each new deployment', () => {
    const a = loadMasterKey({ envValue: undefined, dataDir: tempDir(), storeInitialized: false });
    const b = loadMasterKey({ envValue: undefined, dataDir: tempDir(), storeInitialized: false });
    expect(a.key.equals(b.key)).toBe(false);
  });

  it.each([0o644, 0o640, 0o604, 0o660, 0o606])('refuses a key file with mode %o and says to chmod 600', (mode) => {
    const dataDir = tempDir();
    const file = masterKeyPath(dataDir);
    fs.writeFileSync(file, `${b64}\n`);
    fs.chmodSync(file, mode);
    const err = thrown(() => loadMasterKey({ envValue: undefined, dataDir, storeInitialized: true }));
    expect(err).toBeInstanceOf(MasterKeyError);
    expect(err.message).toContain(`chmod 600 ${file}`);
    expect(err.message).not.toContain(b64.slice(0, 8));
  });

  it.each([0o600, 0o400])('accepts a key file with mode %o', (mode) => {
    const dataDir = tempDir();
    const file = masterKeyPath(dataDir);
    fs.writeFileSync(file, b64);
    fs.chmodSync(file, mode);
    expect(loadMasterKey({ envValue: undefined, dataDir, storeInitialized: true }).key.equals(key)).toBe(true);
  });

  it('refuses a malformed key file, naming the file and not its content', () => {
    const dataDir = tempDir();
    const file = masterKeyPath(dataDir);
    const content = randomBytes(31).toString('base64');
    fs.writeFileSync(file, content, { mode: 0o600 });
    const err = thrown(() => loadMasterKey({ envValue: undefined, dataDir, storeInitialized: false }));
    expect(err).toBeInstanceOf(MasterKeyError);
    expect(err.message).toBe(`${file} must be base64 of exactly 32 bytes (e.g. openssl rand -base64 32)`);
    expect(fs.readFileSync(file, 'utf8')).toBe(content);
  });

  it('refuses a key file that is not a regular file', () => {
    const dataDir = tempDir();
    fs.mkdirSync(masterKeyPath(dataDir), { mode: 0o700 });
    const err = thrown(() => loadMasterKey({ envValue: undefined, dataDir, storeInitialized: false }));
    expect(err).toBeInstanceOf(MasterKeyError);
  });

  it('never creates a key for a store that already holds data', () => {
    const dataDir = tempDir();
    const err = thrown(() => loadMasterKey({ envValue: undefined, dataDir, storeInitialized: true }));
    expect(err).toBeInstanceOf(MasterKeyError);
    expect(err.message).toContain('VAULTGATE_MASTER_KEY');
    expect(err.message).toContain(masterKeyPath(dataDir));
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it('never creates the data dir for a store that already holds data', () => {
    const dataDir = path.join(tempDir(), 'missing');
    expect(() => loadMasterKey({ envValue: undefined, dataDir, storeInitialized: true })).toThrow(MasterKeyError);
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});

describe('writeKeyFileAtomically', () => {
  it('replaces the file with a 0600 file holding the new key and leaves no temp file', () => {
    const dataDir = tempDir();
    const file = pendingMasterKeyPath(dataDir);
    fs.writeFileSync(file, 'old\n', { mode: 0o644 });
    writeKeyFileAtomically(file, key);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${b64}\n`);
    expect(modeOf(file)).toBe(0o600);
    expect(fs.readdirSync(dataDir)).toEqual(['master.key.next']);
    expect(parseMasterKey(fs.readFileSync(file, 'utf8'), file).equals(key)).toBe(true);
  });

  it.each([16, 31, 33])('refuses a %i-byte key', (n) => {
    const dataDir = tempDir();
    expect(() => writeKeyFileAtomically(masterKeyPath(dataDir), randomBytes(n))).toThrow(TypeError);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});

describe('the staged next key', () => {
  it('is written 0600 beside master.key, read back, and promoted in its place', () => {
    const dataDir = tempDir();
    expect(readPendingMasterKey(dataDir)).toBeUndefined();
    writeKeyFileAtomically(masterKeyPath(dataDir), randomBytes(32));
    expect(stagePendingMasterKey(dataDir, key)).toBe(pendingMasterKeyPath(dataDir));
    expect(modeOf(pendingMasterKeyPath(dataDir))).toBe(0o600);
    expect(readPendingMasterKey(dataDir)?.equals(key)).toBe(true);
    promotePendingMasterKey(dataDir);
    expect(fs.readdirSync(dataDir)).toEqual(['master.key']);
    expect(loadMasterKey({ envValue: undefined, dataDir, storeInitialized: true }).key.equals(key)).toBe(true);
  });

  it('is discarded without a trace, and discarding none is no error', () => {
    const dataDir = tempDir();
    stagePendingMasterKey(dataDir, key);
    discardPendingMasterKey(dataDir);
    discardPendingMasterKey(dataDir);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it('refuses a malformed staged file, naming it', () => {
    const dataDir = tempDir();
    fs.writeFileSync(pendingMasterKeyPath(dataDir), 'not a key\n', { mode: 0o600 });
    expect(() => readPendingMasterKey(dataDir)).toThrow(`${pendingMasterKeyPath(dataDir)} must be base64 of exactly 32 bytes`);
  });
});
