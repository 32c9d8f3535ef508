// The botocore-checked S3 upstream (test/fixtures/s3-verifier.py), started for a test file: Debian's
// python3 and botocore verify every signature with the REAL credentials; its log is what upstream got.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pki } from '../proxy/helpers.js';
import { repoRoot } from './server.js';

/** Debian's interpreter, with Debian's botocore (python3-boto3; .ci/run installs it): not whatever python3 is first on PATH. */
export const debianPython = '/usr/bin/python3';

/** One line of the verifier's log. */
export interface VerifierRecord {
  method: string;
  target: string;
  host: string;
  verified: boolean;
  signature_ok?: boolean;
  error?: string;
  access_key_id?: string;
  session_token?: boolean;
  region?: string;
  service?: string;
  payload_mode?: string;
  bucket?: string;
  key?: string;
  range?: string;
  trailers?: Record<string, string>;
}

export interface S3Verifier {
  port: number;
  /** Its log, one JSON record a line (the raw bytes, for sweeps). */
  logFile: string;
  /** Every request it received, in order. */
  log(): VerifierRecord[];
  close(): void;
}

export interface VerifierCredentials {
  access_key_id: string;
  secret_access_key: string;
  session_token?: string | undefined;
}

/** Serves HTTPS with the PKI's `good` leaf on 127.0.0.1 (its port read from its first line of output). */
export async function startS3Verifier(pki: Pki, credentials: VerifierCredentials[]): Promise<S3Verifier> {
  const cert = join(pki.dir, 'verifier-cert.pem');
  const key = join(pki.dir, 'verifier-key.pem');
  const logFile = join(pki.dir, 'verifier.jsonl');
  writeFileSync(cert, pki.good.certPem);
  writeFileSync(key, pki.good.keyPem);
  writeFileSync(logFile, '');
  const child: ChildProcess = spawn(debianPython, [join(repoRoot, 'test/fixtures/s3-verifier.py'), cert, key, logFile], {
    env: { PATH: process.env.PATH ?? '', S3_VERIFIER_CREDENTIALS: JSON.stringify(credentials) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`verifier exited ${String(code)}`)));
  });
  return {
    port,
    logFile,
    log: () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as VerifierRecord),
    close: () => void child.kill(),
  };
}
