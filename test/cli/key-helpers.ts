// Helpers of the `key` command tests: run dtrust on a trust dir with a fast KDF, hash trees.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runDtrust, type EnvMap, type RunResult } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';

export { treeHash, listTree, copyTrustDir, NOTARY07_TRUSTDIR, NOTARY01_TRUSTDIR, FIXTURE_PASSPHRASES, NOTARY07_KEYS } from '../keystore/helpers.js';

/** No passphrase variable at all (the rig sets all four by default). */
export const NO_PASSPHRASES: EnvMap = {
  NOTARY_ROOT_PASSPHRASE: undefined,
  NOTARY_TARGETS_PASSPHRASE: undefined,
  NOTARY_SNAPSHOT_PASSPHRASE: undefined,
  NOTARY_DELEGATION_PASSPHRASE: undefined,
};

export interface KeyRunOptions {
  env?: EnvMap;
  input?: string;
  cwd?: string;
  /** Run as `notary` (fatal lines on stdout, as notary). */
  asNotary?: boolean;
}

/** `dtrust -d <trustDir> ...args` with DTRUST_KDF_ITERATIONS=2048 unless overridden. */
export function dtrustKey(trustDir: string, args: readonly string[], o: KeyRunOptions = {}): Promise<RunResult> {
  return runDtrust(['-d', trustDir, ...args], {
    env: { DTRUST_KDF_ITERATIONS: '2048', ...o.env },
    input: o.input,
    cwd: o.cwd,
    invokeAs: o.asNotary ? 'notary' : 'dtrust',
  });
}

/** A fresh, not yet existing trust dir path in a new temp dir. */
export async function newTrustDir(prefix = 'key-cli-'): Promise<string> {
  return join(await tempDir(prefix), 'trust');
}

/** The key IDs in `<trustDir>/private` (top level). */
export function keyFiles(trustDir: string): string[] {
  const p = join(trustDir, 'private');
  return existsSync(p) ? readdirSync(p).filter((f) => f.endsWith('.key')).map((f) => f.slice(0, -4)).sort() : [];
}

/** Lines `ROLE GUN ID` of a `key list` table (whitespace-normalised), without the header. */
export function listRows(stdout: string): string[] {
  return stdout
    .split('\n')
    .slice(3)
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s{2,}/).join(' | '));
}
