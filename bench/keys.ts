// Key files for the `add -p` runs: a trust dir copied from the publisher (keys as notary writes
// them: PBES2, PBKDF2-HMAC-SHA1 with 2048 iterations), optionally re-encrypted as dtrust writes new
// keys (DEFAULT_KDF_ITERATIONS, 16-byte salt, same passphrase, same PEM headers).
import { chmod, cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeKeyBlock, encodeKeyBlock, isPrivateKeyBlock } from '../src/crypto/keyfile.js';
import { decodePemBlocks, type PemBlock } from '../src/crypto/pem.js';
import { parseEncryptedPrivateKeyInfo } from '../src/crypto/pbes2.js';
import { DEFAULT_SALT_LENGTH } from '../src/keystore/filestore.js';

export async function copyTrustDir(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true, preserveTimestamps: true });
  await chmod(to, 0o700);
  await chmod(join(to, 'private'), 0o700).catch(() => undefined);
}

async function keyFiles(trustDir: string): Promise<string[]> {
  const dir = join(trustDir, 'private');
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.key')) out.push(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
  }
  return out.sort();
}

function privateBlock(text: string, file: string): PemBlock {
  const b = decodePemBlocks(text).find(isPrivateKeyBlock);
  if (!b) throw new Error(`${file}: no private key block`);
  return b;
}

/** PBKDF2 iteration counts of the key files (to print what the runs actually unlock). */
export async function keyIterations(trustDir: string): Promise<number[]> {
  const out: number[] = [];
  for (const f of await keyFiles(trustDir)) {
    const b = privateBlock(await readFile(f, 'utf8'), f);
    if (b.type === 'ENCRYPTED PRIVATE KEY') out.push(parseEncryptedPrivateKeyInfo(b.bytes).params.iterations);
  }
  return out;
}

/** Re-encrypts every key file of the trust dir in place with `iterations`; returns how many. */
export async function reencryptKeys(trustDir: string, passphrase: string, iterations: number): Promise<number> {
  const pass = Buffer.from(passphrase, 'utf8');
  let n = 0;
  for (const f of await keyFiles(trustDir)) {
    const block = privateBlock(await readFile(f, 'utf8'), f);
    const key = await decodeKeyBlock(block, pass);
    if (!key) throw new Error(`${f}: wrong passphrase`);
    const extra: Record<string, string> = {};
    for (const [k, v] of block.headers) if (k !== 'role' && k !== 'gun') extra[k] = v;
    const pem = await encodeKeyBlock(key, {
      role: block.headers.get('role') ?? '',
      gun: block.headers.get('gun') ?? '',
      passphrase: pass,
      iterations,
      saltLength: DEFAULT_SALT_LENGTH,
      extraHeaders: extra,
    });
    await writeFile(f, pem, { mode: 0o600 });
    n++;
  }
  return n;
}

/** Milliseconds dtrust's decoder takes to unlock one key file of the trust dir (median of `runs`). */
export async function timeUnlock(trustDir: string, passphrase: string, runs = 3): Promise<number> {
  const files = await keyFiles(trustDir);
  const f = files[0];
  if (!f) throw new Error(`no key files in ${trustDir}`);
  const block = privateBlock(await readFile(f, 'utf8'), f);
  const pass = Buffer.from(passphrase, 'utf8');
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    if (!(await decodeKeyBlock(block, pass))) throw new Error(`${f}: wrong passphrase`);
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}
