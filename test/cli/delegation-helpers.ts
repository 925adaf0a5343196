// Helpers of the delegation and rotation tests: parties (one trust directory used by both the
// real notary and dtrust), collaborator key files, table parsing, key files in a trust dir.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRootCertificate } from '../../src/crypto/certgen.js';
import { spkiDer } from '../../src/crypto/signature.js';
import { goPemCertificates } from '../../src/crypto/x509.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { DtrustClient, NotaryClient, describeFailure, type ClientRunOptions, type RunResult } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';

/** dtrust writes keys with notary's own 2048 PBKDF2 iterations in tests (fast). */
export const FAST_KDF = { DTRUST_KDF_ITERATIONS: '2048' };

/** One person: a HOME and a trust directory that both the real notary and dtrust use. */
export interface Party {
  name: string;
  home: string;
  trustDir: string;
  dt: DtrustClient;
  nt: NotaryClient;
}

export async function party(serverUrl: string, name: string): Promise<Party> {
  const home = await tempDir(`deleg-${name}-`);
  const trustDir = join(home, '.notary');
  const dt = await DtrustClient.create({ serverUrl, home, trustDir, env: FAST_KDF });
  const nt = await NotaryClient.create({ serverUrl, home, trustDir });
  return { name, home, trustDir, dt, nt };
}

/** Runs and asserts exit 0, with both streams in the failure message. */
export async function ok(c: DtrustClient | NotaryClient, args: readonly string[], opts: ClientRunOptions = {}): Promise<RunResult> {
  const r = await c.run(args, opts);
  assert.equal(r.code, 0, describeFailure(c.constructor.name, args, r));
  return r;
}

/** Runs and asserts exit 1. */
export async function fails(c: DtrustClient | NotaryClient, args: readonly string[], opts: ClientRunOptions = {}): Promise<RunResult> {
  const r = await c.run(args, opts);
  assert.equal(r.code, 1, describeFailure(c.constructor.name, args, r));
  return r;
}

/** A collaborator's key pair as files: what `delegation add` and `key import` take. */
export interface KeyFiles {
  /** Unencrypted SEC1 `EC PRIVATE KEY` PEM (both notary and dtrust import it). */
  key: string;
  /** Self-signed certificate of the key (`cert.pem`). */
  cert: string;
  /** `PUBLIC KEY` PEM of the key. */
  pub: string;
  /** Canonical key ID (what `delegation list` and `key list` show). */
  id: string;
}

export async function keyFiles(dir: string, name: string, now = Date.now()): Promise<KeyFiles> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = await createRootCertificate({
    privateKey,
    publicKey,
    commonName: name,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3650 * 86_400_000),
  });
  const files = { key: join(dir, `${name}-key.pem`), cert: join(dir, `${name}-cert.pem`), pub: join(dir, `${name}.pub.pem`) };
  await writeFile(files.key, privateKey.export({ type: 'sec1', format: 'pem' }) as string, { mode: 0o600 });
  await writeFile(files.cert, goPemCertificates([der]));
  await writeFile(files.pub, publicKey.export({ type: 'spki', format: 'pem' }) as string);
  return { ...files, id: new PublicKey('ecdsa', spkiDer(publicKey)).id };
}

/** Writes `content` to `<dir>/<name>` and returns the path. */
export async function file(dir: string, name: string, content: string | Buffer): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, content);
  return p;
}

/** The data rows of a notary table: cells split at the column starts of the dashes row. */
export function tableRows(stdout: string): string[][] {
  const lines = stdout.split('\n');
  const dashIdx = lines.findIndex((l) => l.trim() !== '' && /^-+(\s+-+)*\s*$/.test(l));
  if (dashIdx < 0) return [];
  const dashes = lines[dashIdx]!;
  const starts: number[] = [];
  for (let i = 0; i < dashes.length; i++) if (dashes[i] === '-' && (i === 0 || dashes[i - 1] === ' ')) starts.push(i);
  return lines
    .slice(dashIdx + 1)
    .filter((l) => l.trim() !== '')
    .map((l) => starts.map((s, j) => l.slice(s, j + 1 < starts.length ? starts[j + 1] : undefined).trimEnd()));
}

/** `list` output → "name role" strings, in table order. */
export function listed(stdout: string): string[] {
  if (/No targets present in this repository/.test(stdout)) return [];
  return tableRows(stdout).map((r) => `${r[0]} ${r[3]}`);
}

/** `delegation list` output → one entry per role: paths, key IDs, threshold. */
export function delegations(stdout: string): Map<string, { paths: string[]; keys: string[]; threshold: string }> {
  const out = new Map<string, { paths: string[]; keys: string[]; threshold: string }>();
  let cur: { paths: string[]; keys: string[]; threshold: string } | undefined;
  for (const [role, paths, keys, threshold] of tableRows(stdout)) {
    if (role) {
      cur = { paths: [], keys: [], threshold: threshold ?? '' };
      out.set(role, cur);
    }
    if (paths) cur!.paths.push(paths);
    if (keys) cur!.keys.push(keys);
  }
  return out;
}

/** Key IDs of the private key files in a trust directory (`private/<id>.key`). */
export function privateKeyIds(trustDir: string): string[] {
  const dir = join(trustDir, 'private');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.key')).map((f) => f.slice(0, -4)).sort() : [];
}

/** The `hint:` line of a dtrust error, if any. */
export function hintOf(r: RunResult): string {
  return /^ {2}hint: (.*)$/m.exec(r.stderr)?.[1] ?? '';
}

/** The `* fatal:` message of a dtrust (stderr) or notary (stdout) error. */
export function fatalOf(r: RunResult): string {
  return /\* fatal: (.*)$/m.exec(r.stderr + '\n' + r.stdout)?.[1] ?? '';
}
