// Shared helpers of the key store tests: fixture copies, a scripted terminal, tree hashes.
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, NOTARY_SOURCE } from '../helpers.js';
import { runProcess } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { FileKeyStore, PassphraseRetriever, type Env, type PromptIO } from '../../src/keystore/index.js';

export const NOTARY07_TRUSTDIR = join(FIXTURES, 'notary07-trustdir');
export const NOTARY01_TRUSTDIR = join(NOTARY_SOURCE, 'fixtures', 'compatibility', 'notary0.1');
export const NOTARY03_TRUSTDIR = join(NOTARY_SOURCE, 'fixtures', 'compatibility', 'notary0.3');

/** formats.md §10. */
export const FIXTURE_PASSPHRASES: Env = {
  NOTARY_ROOT_PASSPHRASE: 'rootpass123',
  NOTARY_TARGETS_PASSPHRASE: 'targetspass',
  NOTARY_SNAPSHOT_PASSPHRASE: 'snappass',
  NOTARY_DELEGATION_PASSPHRASE: 'delegpass',
};

export const LEGACY_PASSPHRASES: Env = {
  NOTARY_ROOT_PASSPHRASE: 'randompass',
  NOTARY_TARGETS_PASSPHRASE: 'randompass',
  NOTARY_SNAPSHOT_PASSPHRASE: 'randompass',
  NOTARY_DELEGATION_PASSPHRASE: 'randompass',
};

/** The keys of the notary 0.7 fixture (file name = key ID). */
export const NOTARY07_KEYS: Record<string, { role: string; gun: string }> = {
  '0d219c843fb79edde87000fa68ee3317c9d4a79c5a6f62299e0475103c2444b7': { role: 'targets', gun: 'example.com/test1' },
  '620ae0a536cd7a434ffc2e643e7acabdb685fcf177d2d7a4858ef95eb293dff0': { role: 'root', gun: '' },
  '797c7f5d44da4f3fe1b37af3dd108f0b8370626ea5a7e4463dafac3e0ecdd0f2': { role: 'snapshot', gun: 'example.com/test1' },
  '8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846': { role: 'targets/releases', gun: '' },
  aca456b2672ed089d93a17c014ee6e89f4adf0a9cfc04c792a600cd5c6029577: { role: 'root', gun: '' },
};

/** Fast KDF for tests (the default is tested once, in notary-kdf.test.ts). */
export const TEST_ITERATIONS = 2048;

/** chmod -R: directories 0700, files 0600 (git checkouts are 0755/0644). */
export function privatize(dir: string): void {
  chmodSync(dir, 0o700);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) privatize(p);
    else if (e.isFile()) chmodSync(p, 0o600);
  }
}

/** A private copy of a fixture trust directory in a fresh temp dir; returns the copy's path. */
export async function copyTrustDir(src: string, prefix = 'ks-fixture-'): Promise<string> {
  const dir = join(await tempDir(prefix), 'trust');
  cpSync(src, dir, { recursive: true });
  privatize(dir);
  return dir;
}

/** SHA-256 over every path, mode, and file content / link target below `dir`. */
export function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (p: string, rel: string): void => {
    const st = lstatSync(p);
    h.update(`${rel}\0${st.mode.toString(8)}\0`);
    if (st.isSymbolicLink()) h.update(readlinkSync(p));
    else if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(join(p, n), `${rel}/${n}`);
    else h.update(readFileSync(p));
    h.update('\0');
  };
  walk(dir, '');
  return h.digest('hex');
}

/** Every file below `dir` (relative paths) with its mode, for readable assertions. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string, rel: string): void => {
    for (const n of readdirSync(p).sort()) {
      const q = join(p, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(q);
      if (st.isDirectory()) {
        out.push(`${r}/ ${(st.mode & 0o777).toString(8)}`);
        walk(q, r);
      } else out.push(`${r} ${(st.mode & 0o777).toString(8)}`);
    }
  };
  walk(dir, '');
  return out;
}

/** A terminal that answers prompts from a script and records everything written. */
export class ScriptedPrompt implements PromptIO {
  readonly interactive = true;
  output = '';
  constructor(private readonly answers: (string | null)[]) {}
  write(text: string): void {
    this.output += text;
  }
  async readSecret(prompt: string): Promise<Buffer | null> {
    this.output += prompt;
    if (this.answers.length === 0) throw new Error(`unexpected prompt; output so far:\n${this.output}`);
    const a = this.answers.shift()!;
    this.output += '\n';
    return a === null ? null : Buffer.from(a);
  }
  get remaining(): number {
    return this.answers.length;
  }
}

export interface StoreOptions {
  env?: Env;
  prompt?: PromptIO;
  iterations?: number;
  logs?: string[];
  migrate?: boolean;
}

export async function openStore(trustDir: string, o: StoreOptions = {}): Promise<FileKeyStore> {
  const logs = o.logs;
  return FileKeyStore.open({
    trustDir,
    passphrases: new PassphraseRetriever({ env: o.env ?? {}, prompt: o.prompt }),
    iterations: o.iterations ?? TEST_ITERATIONS,
    log: (level, msg) => logs?.push(`${level}: ${msg}`),
    migrate: o.migrate,
  });
}

/** Runs openssl with args; returns stdout (throws with stderr on failure). */
export async function openssl(args: string[], input?: string): Promise<string> {
  const r = await runProcess('openssl', args, { input });
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export function mode(p: string): number {
  return statSync(p).mode & 0o777;
}
