// An in-memory repository built and signed by dtrust's engine, for tests and the bench.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { sha256, sha512 } from '../../src/crypto/hash.js';
import { spkiDer, ed25519Raw } from '../../src/crypto/signature.js';
import { goPemCertificates } from '../../src/crypto/x509.js';
import { TrustedCollectionBuilder, type BuilderOptions } from '../../src/tuf/builder.js';
import { expiresAfter } from '../../src/tuf/expires.js';
import { PublicKey } from '../../src/tuf/keys.js';
import type { FileMeta, Root, Snapshot, Targets, Timestamp, DelegationRole } from '../../src/tuf/metadata.js';
import { keyObjectSigner, signMetadata, type Signer } from '../../src/tuf/sign.js';

export interface MemKey {
  priv: KeyObject;
  pub: PublicKey;
  signer: Signer;
}

export function ecdsaKey(): MemKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pub = new PublicKey('ecdsa', spkiDer(publicKey));
  return { priv: privateKey, pub, signer: keyObjectSigner(privateKey, pub) };
}

export function ed25519Key(): MemKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = new PublicKey('ed25519', ed25519Raw(publicKey));
  return { priv: privateKey, pub, signer: keyObjectSigner(privateKey, pub) };
}

export function rsaKey(bits = 2048): MemKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const pub = new PublicKey('rsa', spkiDer(publicKey));
  return { priv: privateKey, pub, signer: keyObjectSigner(privateKey, pub) };
}

/** A root key: an ECDSA key inside a self-signed certificate with CN = the GUN. */
export async function rootCertKey(gun: string, nowMs: number, opts: { notBefore?: number; days?: number; cn?: string } = {}): Promise<MemKey> {
  const { createRootCertificate } = await import('../../src/crypto/certgen.js');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const notBefore = opts.notBefore ?? nowMs;
  const der = await createRootCertificate({
    privateKey,
    publicKey,
    commonName: opts.cn ?? gun,
    notBefore: new Date(notBefore),
    notAfter: new Date(notBefore + (opts.days ?? 3650) * 86_400_000),
  });
  const pub = new PublicKey('ecdsa-x509', Buffer.from(goPemCertificates([der]), 'latin1'));
  return { priv: privateKey, pub, signer: keyObjectSigner(privateKey, pub) };
}

export function fileMeta(bytes: Uint8Array, custom?: FileMeta['custom']): FileMeta {
  const fm: FileMeta = { length: bytes.length, hashes: new Map([['sha256', sha256(bytes)], ['sha512', sha512(bytes)]]) };
  if (custom !== undefined) fm.custom = custom;
  return fm;
}

export interface Delegation {
  meta: Targets;
  keys: MemKey[];
}

/** Keys and metadata of one repository; `sign()` produces every file's bytes. */
export class MemRepo {
  root!: Root;
  targets!: Targets;
  snapshot!: Snapshot;
  timestamp!: Timestamp;
  readonly delegations = new Map<string, Delegation>();
  readonly files = new Map<string, Buffer>();
  rootSigners: Signer[] = [];
  /** Roles whose files sign() leaves as they are. */
  readonly frozen = new Set<string>();

  private constructor(
    readonly gun: string,
    public now: number,
    public keys: { root: MemKey[]; targets: MemKey[]; snapshot: MemKey[]; timestamp: MemKey[] },
  ) {}

  static async create(gun: string, now: number, opts: { timestampKey?: PublicKey } = {}): Promise<MemRepo> {
    const rootKey = await rootCertKey(gun, now);
    const ts = ecdsaKey();
    const keys = { root: [rootKey], targets: [ecdsaKey()], snapshot: [ecdsaKey()], timestamp: [ts] };
    const repo = new MemRepo(gun, now, keys);
    const tsPub = opts.timestampKey ?? ts.pub;
    repo.root = {
      _type: 'Root',
      consistentSnapshot: false,
      expires: expiresAfter(now, 3650),
      version: 1,
      keys: new Map([
        [rootKey.pub.id, rootKey.pub],
        [keys.targets[0]!.pub.id, keys.targets[0]!.pub],
        [keys.snapshot[0]!.pub.id, keys.snapshot[0]!.pub],
        [tsPub.id, tsPub],
      ]),
      roles: new Map([
        ['root', { keyids: [rootKey.pub.id], threshold: 1 }],
        ['targets', { keyids: [keys.targets[0]!.pub.id], threshold: 1 }],
        ['snapshot', { keyids: [keys.snapshot[0]!.pub.id], threshold: 1 }],
        ['timestamp', { keyids: [tsPub.id], threshold: 1 }],
      ]),
    };
    repo.rootSigners = [rootKey.signer];
    repo.targets = emptyTargets(now, 1);
    repo.snapshot = { _type: 'Snapshot', expires: expiresAfter(now, 1095), version: 1, meta: new Map() };
    repo.timestamp = { _type: 'Timestamp', expires: expiresAfter(now, 14), version: 1, meta: new Map() };
    return repo;
  }

  addTarget(name: string, content: Uint8Array | string, role = 'targets'): void {
    const t = role === 'targets' ? this.targets : this.delegations.get(role)!.meta;
    t.targets.set(name, fileMeta(Buffer.from(content)));
  }

  delegate(parent: string, name: string, keys: MemKey[], paths: string[], threshold = 1): void {
    const p = parent === 'targets' ? this.targets : this.delegations.get(parent)!.meta;
    for (const k of keys) p.delegations.keys.set(k.pub.id, k.pub);
    const role: DelegationRole = { name, keyids: keys.map((k) => k.pub.id), threshold, paths };
    p.delegations.roles.push(role);
    this.delegations.set(name, { meta: emptyTargets(this.now, 1), keys });
  }

  /** Signs every role (bottom-up so that hashes chain) into `files`. Does not bump versions. */
  async sign(opts: { timestamp?: boolean } = {}): Promise<void> {
    const roles = [...this.delegations.keys()].sort((a, b) => b.split('/').length - a.split('/').length);
    for (const name of roles) {
      if (this.frozen.has(name)) continue;
      const d = this.delegations.get(name)!;
      this.files.set(name, (await signMetadata(d.meta, d.keys.map((k) => k.signer))).bytes);
    }
    if (!this.frozen.has('targets')) this.files.set('targets', (await signMetadata(this.targets, this.keys.targets.map((k) => k.signer))).bytes);
    if (!this.frozen.has('root')) this.files.set('root', (await signMetadata(this.root, this.rootSigners)).bytes);
    if (!this.frozen.has('snapshot')) {
      this.snapshot.meta = new Map();
      for (const role of ['root', 'targets', ...this.delegations.keys()]) {
        const b = this.files.get(role);
        if (b) this.snapshot.meta.set(role, fileMeta(b));
      }
      this.files.set('snapshot', (await signMetadata(this.snapshot, this.keys.snapshot.map((k) => k.signer))).bytes);
    }
    if (opts.timestamp !== false && !this.frozen.has('timestamp')) {
      this.timestamp.meta = new Map([['snapshot', fileMeta(this.files.get('snapshot')!)]]);
      this.files.set('timestamp', (await signMetadata(this.timestamp, this.keys.timestamp.map((k) => k.signer))).bytes);
    }
  }
}

export function emptyTargets(now: number, version: number): Targets {
  return {
    _type: 'Targets',
    expires: expiresAfter(now, 1095),
    version,
    delegations: { keys: new Map(), roles: [] },
    targets: new Map(),
  };
}

/**
 * Feeds a repository's files to a builder in notary's order (root, timestamp, snapshot, targets,
 * then delegations top-down) and returns it. `rootFromCache` is trusted first and the
 * repository's root is then an update of it.
 */
export function buildFrom(repo: MemRepo, opts: Partial<BuilderOptions> & { now: number; rootFromCache?: Buffer }): TrustedCollectionBuilder {
  const b = new TrustedCollectionBuilder({ gun: repo.gun, ...opts });
  if (opts.rootFromCache) {
    b.loadRoot(opts.rootFromCache, 'cache');
    b.updateRoot(repo.files.get('root')!);
  } else b.loadRoot(repo.files.get('root')!, 'remote');
  b.updateTimestamp(repo.files.get('timestamp')!);
  b.updateSnapshot(repo.files.get('snapshot')!);
  b.updateTargets(repo.files.get('targets')!);
  for (const role of b.delegationsToLoad()) {
    const bytes = repo.files.get(role);
    if (bytes) b.updateDelegation(role, bytes);
  }
  return b;
}
