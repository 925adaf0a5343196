// The harness of the security-matrix rows that run through the CLI against the in-memory
// simulator (test/support/simulator.ts): a repository built by the engine is served, a dtrust
// client trusts it with one online `list`, then the server turns hostile in exactly one way, and
// the row checks the exact outcome with the trust directory's tree hash before and after
// (../shared/spec/security-matrix.md, "Default expectation for every reject row").
import assert from 'node:assert/strict';
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { DtrustClient, type RunResult } from '../rig/notary.js';
import { makeTempDir } from '../rig/tmp.js';
import { MemRepo, ecdsaKey, type MemKey } from '../support/memrepo.js';
import type { Simulator, SimHook } from '../support/simulator.js';
import { sha256Hex } from '../../src/crypto/hash.js';
import { envelopeAround, type Signature } from '../../src/tuf/envelope.js';
import type { PublicKey } from '../../src/tuf/keys.js';
import { keyObjectSigner, type Signer } from '../../src/tuf/sign.js';

export const ENV = { DTRUST_KDF_ITERATIONS: '2048' };
/** Every CLI run of a row must end well within this (the simulator answers at once). */
export const RUN_BOUND_MS = 20_000;

export interface Case {
  gun: string;
  repo: MemRepo;
  client: DtrustClient;
  /** The repository's files at version 1 (what the client trusts after its first list). */
  v1: Map<string, Buffer>;
}

let counter = 0;

/**
 * A served repository: targets `app/v1`, delegation targets/releases (paths rel/) with `rel/r1`,
 * and a dtrust client for it (nothing trusted yet). `shape` may change the repository before it
 * is first signed.
 */
export async function newCase(sim: Simulator, prefix: string, shape?: (repo: MemRepo) => void | Promise<void>): Promise<Case> {
  const gun = `example.com/${prefix}/r${++counter}`;
  const repo = await MemRepo.create(gun, Date.now());
  repo.addTarget('app/v1', 'version one');
  repo.delegate('targets', 'targets/releases', [ecdsaKey()], ['rel/']);
  repo.addTarget('rel/r1', 'release one', 'targets/releases');
  await shape?.(repo);
  await repo.sign();
  sim.add(repo);
  const client = await DtrustClient.create({ serverUrl: sim.url, env: ENV });
  return { gun, repo, client, v1: new Map(repo.files) };
}

export async function run(c: Case, args: string[], env?: Record<string, string>): Promise<RunResult & { ms: number }> {
  const t0 = performance.now();
  const r = await c.client.run(args, { timeoutMs: 60_000, ...(env ? { env } : {}) });
  return { ...r, ms: performance.now() - t0 };
}

export async function listOk(c: Case, ...expected: string[]): Promise<RunResult> {
  const r = await run(c, ['list', c.gun]);
  assert.equal(r.code, 0, `list failed:\n${r.stdout}\n${r.stderr}`);
  for (const name of expected) assert.match(r.stdout, new RegExp(`^${escapeRe(name)}\\s`, 'm'), `${name} listed`);
  return r;
}

export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every file under `dir`: relative path → sha256 (directories as `dir`, links by mode). */
export async function treeOf(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const st = await lstat(p);
      const rel = relative(dir, p);
      if (st.isDirectory()) {
        out.set(`${rel}/`, 'dir');
        await walk(p);
      } else out.set(rel, st.isFile() ? sha256Hex(await readFile(p)) : `special ${st.mode}`);
    }
  };
  await walk(dir);
  return out;
}

/** The client's whole HOME (the trust directory lives there). */
export function tree(c: Case): Promise<Map<string, string>> {
  return treeOf(c.client.home);
}

export function targetsOf(repo: MemRepo, role: string) {
  return role === 'targets' ? repo.targets : repo.delegations.get(role)!.meta;
}

/** The owner publishes: `change`, then every listed role, the snapshot and the timestamp get version + 1. */
export async function release(repo: MemRepo, roles: string[], change?: () => void | Promise<void>): Promise<void> {
  await change?.();
  for (const role of roles) {
    if (role === 'root') repo.root.version++;
    else targetsOf(repo, role).version++;
  }
  repo.snapshot.version++;
  repo.timestamp.version++;
  await repo.sign();
}

/** Re-signs only the roles named (files of the others stay as they are). */
export async function signOnly(repo: MemRepo, roles: string[]): Promise<void> {
  const all = ['root', 'targets', 'snapshot', 'timestamp', ...repo.delegations.keys()];
  const before = new Set(repo.frozen);
  for (const r of all) if (!roles.includes(r)) repo.frozen.add(r);
  try {
    await repo.sign();
  } finally {
    repo.frozen.clear();
    for (const r of before) repo.frozen.add(r);
  }
}

/**
 * A signer that lies: `sign` may change the method or the signature bytes, and the signature
 * names `keyid` (default: the key's own ID).
 */
export function lyingSigner(priv: KeyObject, pub: PublicKey, lie: { keyid?: string; method?: string; sig?: (sig: Buffer) => Buffer; raw?: (data: Buffer) => Buffer }): Signer {
  const honest = keyObjectSigner(priv, pub);
  const publicKey = lie.keyid === undefined ? pub : (Object.create(pub, { id: { value: lie.keyid } }) as PublicKey);
  return {
    publicKey,
    sign: async (data) => {
      if (lie.raw) return { method: lie.method ?? 'ecdsa', sig: lie.raw(data) };
      const s = await honest.sign(data);
      return { method: lie.method ?? s.method, sig: lie.sig ? lie.sig(s.sig) : s.sig };
    },
  };
}

/**
 * The bytes of a file whose `signed` is `canonical` (notary's canonical text, e.g. a signed file's
 * text edited by hand where the model cannot express the value), signed by `signers`.
 */
export async function signText(canonical: string, signers: readonly Signer[]): Promise<Buffer> {
  const data = Buffer.from(canonical, 'utf8');
  const sigs: Signature[] = [];
  for (const s of signers) {
    const { method, sig } = await s.sign(data);
    sigs.push({ keyid: s.publicKey.id, method, sig });
  }
  return envelopeAround(data, sigs);
}

/** The canonical text of `signed` in a file dtrust or notary wrote (the text between its envelope keys). */
export function signedText(file: Buffer): string {
  const s = file.toString('utf8');
  assert.ok(s.startsWith('{"signed":'), 'a file in notary form');
  return s.slice('{"signed":'.length, s.lastIndexOf(',"signatures":'));
}

export function replaceOnce(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `text contains ${from}`);
  return text.replace(from, to);
}

export function hookOn(match: (file: string | undefined, kind: string) => boolean, hook: SimHook): SimHook {
  return (req, res) => (match(req.file, req.kind) ? hook(req, res) : undefined);
}

let payloadFile: Promise<string> | undefined;

/** A small file to stage. */
export function payload(): Promise<string> {
  payloadFile ??= (async () => {
    const p = join(await makeTempDir('dtrust-security-payload-'), 'payload');
    await writeFile(p, 'a staged change\n');
    return p;
  })();
  return payloadFile;
}

/**
 * The default expectation of a reject row, through the CLI: `list` exits 1 with one fatal line
 * matching `refused`, nothing on stdout, no crash, the trust directory unchanged; then the publish
 * path meets the same state: refused before anything is uploaded, the staged change kept.
 */
export async function assertRefusedEverywhere(sim: Simulator, c: Case, refused: RegExp, opts: { hidden?: string[]; publish?: boolean } = {}): Promise<void> {
  const before = await tree(c);
  const r = await run(c, ['list', c.gun]);
  assert.ok(r.ms < RUN_BOUND_MS, `took ${r.ms} ms`);
  for (const h of opts.hidden ?? ['evil']) assert.ok(!r.stdout.includes(h), `${h} shown:\n${r.stdout}`);
  assert.equal(r.code, 1, `expected a refusal:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.stdout, '', 'nothing on stdout');
  assert.match(r.stderr, /\* fatal: /);
  assert.match(r.stderr, refused);
  assert.doesNotMatch(r.stderr, /TypeError|RangeError|ReferenceError|    at /, 'no crash');
  assert.deepEqual(await tree(c), before, 'the trust directory is unchanged');
  if (opts.publish === false) return;

  const staged = await run(c, ['add', c.gun, 'staged/one', await payload()]);
  assert.equal(staged.code, 0, staged.stderr);
  const beforePublish = await tree(c);
  const posts = sim.count(sim.tufPath(c.gun), 'POST');
  const p = await run(c, ['publish', c.gun]);
  assert.equal(p.code, 1, `expected the publish to be refused:\n${p.stdout}\n${p.stderr}`);
  assert.equal(p.stdout, `Pushing changes to ${c.gun}\n`);
  assert.match(p.stderr, refused);
  assert.equal(sim.count(sim.tufPath(c.gun), 'POST'), posts, 'nothing uploaded');
  // The tree hash covers the change file: still staged, byte for byte.
  assert.deepEqual(await tree(c), beforePublish, 'trust directory and staged change unchanged');
}

/** A fresh client (no cache) meeting the same server: refused on first contact, nothing cached. */
export async function assertRefusedOnFirstContact(c: Case, refused: RegExp): Promise<void> {
  const fresh = await DtrustClient.create({ serverUrl: c.client.serverUrl, env: ENV });
  const r = await fresh.run(['list', c.gun], { timeoutMs: 60_000 });
  assert.equal(r.code, 1, `expected a refusal on first contact:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, refused);
  const meta = await readdir(join(fresh.trustDir, 'tuf', c.gun, 'metadata')).catch(() => [] as string[]);
  assert.deepEqual(meta, [], 'nothing cached on first contact');
}

/** Imports a repository key into the client's key store (plain PKCS#8, encrypted by dtrust on import). */
export async function importKey(c: Case, key: MemKey, role: string): Promise<void> {
  const dir = await makeTempDir('dtrust-security-key-');
  const file = join(dir, `${role.replace(/\//g, '_')}.pem`);
  await writeFile(file, key.priv.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
  const r = await run(c, ['key', 'import', file, '-r', role, '-g', c.gun]);
  assert.equal(r.code, 0, `key import: ${r.stdout}\n${r.stderr}`);
}

/** The parts of a publish body (formats.md §6): filename → bytes. */
export function multipartFiles(body: Buffer, contentType: string | undefined): Map<string, Buffer> {
  const m = /boundary=([^;]+)/.exec(contentType ?? '');
  assert.ok(m, `multipart content type: ${contentType}`);
  const delim = Buffer.from(`--${m[1]!.replace(/^"|"$/g, '')}`);
  const out = new Map<string, Buffer>();
  let at = body.indexOf(delim);
  while (at >= 0) {
    const start = at + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delim, start);
    assert.ok(next > 0, 'a closing boundary');
    const part = body.subarray(start + 2, next - 2); // after CRLF, before CRLF
    const sep = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, sep).toString();
    const name = /filename="([^"]*)"/.exec(headers)?.[1];
    assert.ok(name !== undefined, `a filename in ${headers}`);
    out.set(name, part.subarray(sep + 4));
    at = next;
  }
  return out;
}
