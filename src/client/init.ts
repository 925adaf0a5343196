// `init` (cli.md §9.1): root, targets and snapshot v1 in the local cache, signed with the root
// key (found or generated), new targets and snapshot keys, and the server's timestamp key; also
// the first step of a publish to a GUN that exists nowhere (cli.md §8 step 3).
// Unlike notary, it refuses a GUN that already exists on the server (cli.md §12 #18), and a root
// certificate the GUN's trust pin refuses (notary finds out at the first publish).

import type { NotaryRemote } from '../remote/notary.js';
import type { MetadataCache } from '../storage/cache.js';
import { goPemCertificates, inspectCertificate } from '../crypto/x509.js';
import { TrustError } from '../tuf/errors.js';
import { expiresAfter } from '../tuf/expires.js';
import { PublicKey } from '../tuf/keys.js';
import { fileMeta, type Root, type Snapshot, type Targets } from '../tuf/metadata.js';
import { EXPIRY_DAYS } from '../tuf/repo.js';
import { signMetadata } from '../tuf/sign.js';
import { applyPin, type RootPin, type TrustPinning } from '../tuf/rootcerts.js';
import type { KeyAccess } from './keys.js';
import { rootPin } from './pinning.js';

export interface InitOptions {
  gun: string;
  now: number;
  cache: MetadataCache;
  remote: NotaryRemote;
  keys: KeyAccess;
  /** Use this root key (canonical ID), e.g. one just imported from --rootkey. */
  rootKeyId?: string;
  /** A root certificate to use instead of a generated one (--rootcert), DER. */
  rootCert?: Buffer;
  /** The root certificate must satisfy the GUN's pin (notary checks it at the first publish). */
  pinning?: TrustPinning;
  /** Told which existing root key is used, before anything is created. */
  onRootKeyFound?: (id: string) => void;
}

export interface InitResult {
  rootKeyId: string;
  rootCertKeyId: string;
}

export async function initRepository(opts: InitOptions): Promise<InitResult> {
  await refuseExisting(opts.remote, opts.gun);
  return createRepository(opts);
}

/**
 * A new repository in the local cache, for a GUN the server is known not to have. Everything that
 * can refuse it (the pin, the root certificate, a passphrase nobody can give) is checked before
 * the first key is made.
 */
export async function createRepository(opts: InitOptions): Promise<InitResult> {
  const pin = await rootPin(opts.gun, opts.pinning);
  let rootKeyId: string | undefined;
  let rootKey: PublicKey | undefined;
  if (opts.rootCert) {
    ({ rootKeyId, rootKey } = certifiedRootKey(opts, opts.rootCert));
    applyPin(new Map([[rootKey.id, rootKey]]), opts.gun, pin, opts.now);
    // Told only once the certificate matched (notary prints it before failing, cli.md §12 #18).
    opts.onRootKeyFound?.(rootKeyId);
  } else {
    refuseGeneratedCertificate(opts.gun, pin);
    // The given key, else the first root key in key ID order (deterministic, cli.md §12 #21).
    rootKeyId = opts.rootKeyId ?? opts.keys.rootKeyIds()[0];
    if (rootKeyId !== undefined) opts.onRootKeyFound?.(rootKeyId);
  }
  await opts.keys.requirePassphrases?.([{ role: 'root', ...(rootKeyId !== undefined ? { keyId: rootKeyId } : {}) }, { role: 'targets' }, { role: 'snapshot' }]);
  rootKeyId ??= (await opts.keys.generate('root', '')).canonicalId;
  rootKey ??= await rootCertKey(opts.keys, rootKeyId, opts.gun, opts.now);

  const targets = await opts.keys.generate('targets', opts.gun);
  const snapshot = await opts.keys.generate('snapshot', opts.gun);
  const ts = await opts.remote.getKey('timestamp');
  const timestamp = new PublicKey(ts.keytype, ts.public);

  const root = firstRoot(opts.now, { root: rootKey, targets: targets.publicKey, snapshot: snapshot.publicKey, timestamp });
  const rootBytes = (await signMetadata(root, [await opts.keys.signer(rootKeyId, rootKey, 'root')])).bytes;
  const targetsBytes = (await signMetadata(firstTargets(opts.now), [await opts.keys.signer(targets.canonicalId, targets.publicKey, 'targets')])).bytes;
  const snap: Snapshot = {
    _type: 'Snapshot',
    expires: expiresAfter(opts.now, EXPIRY_DAYS.snapshot),
    version: 1,
    meta: new Map([
      ['root', fileMeta(rootBytes)],
      ['targets', fileMeta(targetsBytes)],
    ]),
  };
  const snapBytes = (await signMetadata(snap, [await opts.keys.signer(snapshot.canonicalId, snapshot.publicKey, 'snapshot')])).bytes;
  // A timestamp cached from an earlier repository of this name would be a wrong rollback floor.
  await opts.cache.remove('timestamp');
  await opts.cache.writeMany(
    new Map([
      ['root', rootBytes],
      ['targets', targetsBytes],
      ['snapshot', snapBytes],
    ]),
  );
  return { rootKeyId, rootCertKeyId: rootKey.id };
}

/** The root key of a --rootcert certificate, checked as notary-server and notary would. */
function certifiedRootKey(opts: InitOptions, der: Buffer): { rootKeyId: string; rootKey: PublicKey } {
  const cert = inspectCertificate(der);
  // notary-server refuses a root certificate for another name or out of its validity period
  // only at the first publish; say so now, before keys are made.
  if (cert.commonName !== opts.gun) {
    throw new TrustError('ROOT_CERT_INVALID', `the root certificate is for ${JSON.stringify(cert.commonName ?? '')}, not for ${opts.gun}`, {
      gun: opts.gun,
      hint: `the certificate's common name (CN) must be the GUN: make one with CN=${opts.gun}, or leave out --rootcert to generate it`,
    });
  }
  if (cert.isCA) {
    throw new TrustError('ROOT_CERT_INVALID', 'the root certificate is a CA certificate; notary accepts only a leaf certificate for the root key', {
      gun: opts.gun,
      hint: 'make the certificate with basicConstraints CA:FALSE, or leave out --rootcert to generate one',
    });
  }
  if (cert.notAfter <= opts.now || cert.notBefore > opts.now) {
    throw new TrustError('ROOT_CERT_INVALID', `the root certificate is not valid now (valid from ${new Date(cert.notBefore).toISOString()} to ${new Date(cert.notAfter).toISOString()})`, {
      gun: opts.gun,
      hint: 'pass a certificate that is valid now, or leave out --rootcert to generate one',
    });
  }
  const rootKey = new PublicKey(cert.publicKey.asymmetricKeyType === 'rsa' ? 'rsa-x509' : 'ecdsa-x509', Buffer.from(goPemCertificates([der]), 'latin1'));
  if (opts.rootKeyId === undefined) {
    // As notary: without --rootkey, the key store is searched for the certificate's key.
    if (!opts.keys.has(rootKey.canonicalId)) {
      throw new TrustError('NO_SIGNING_KEY', 'error initializing repository with certificate: cannot find matching private key id', {
        hint: 'import the root key that belongs to this certificate first: dtrust key import <key.pem> -r root',
      });
    }
  } else if (rootKey.canonicalId !== opts.rootKeyId) {
    throw new TrustError('NO_SIGNING_KEY', `the root certificate does not match the root key ${opts.rootKeyId}`, {
      hint: 'pass the certificate made for that key, or leave out --rootcert to generate one',
    });
  }
  return { rootKeyId: rootKey.canonicalId, rootKey };
}

/** Under a pin, a certificate generated now cannot be the pinned one nor one the CA issued. */
function refuseGeneratedCertificate(gun: string, pin: RootPin): void {
  const withCert = `dtrust init ${gun} --rootkey <key.pem> --rootcert <cert.pem>`;
  switch (pin.kind) {
    case 'tofu':
      return;
    case 'ca':
      throw new TrustError('TRUST_PINNING', `${gun} is under trust_pinning.ca[${JSON.stringify(pin.prefix)}]: its root certificate must be issued by the CA in ${pin.file}, and a generated one is not`, {
        gun,
        hint: `have that CA issue a certificate with CN=${gun} for your root key, then: ${withCert}`,
      });
    case 'certs':
      throw new TrustError('TRUST_PINNING', `${gun} is pinned by trust_pinning.certs[${JSON.stringify(pin.entry)}]: a generated root certificate cannot be one of the pinned ones`, {
        gun,
        hint: `initialize it with the pinned certificate and its key: ${withCert}, or change the pin`,
      });
    case 'refuse':
      throw new TrustError('TRUST_PINNING', `trust_pinning.disable_tofu is set and no entry of trust_pinning.certs or trust_pinning.ca covers ${gun}`, {
        gun,
        hint: `add a pin for ${gun} to the configuration file first (no client would trust its root otherwise)`,
      });
  }
}

/** The certificate key of a root key: a self-signed certificate with notary's profile, CN = GUN. */
export async function rootCertKey(keys: KeyAccess, rootKeyId: string, gun: string, now: number): Promise<PublicKey> {
  const der = await keys.rootCertificate(rootKeyId, gun, new Date(now), new Date(now + EXPIRY_DAYS.root * 86_400_000));
  const key = new PublicKey('ecdsa-x509', Buffer.from(goPemCertificates([der]), 'latin1'));
  return key.canonicalId === rootKeyId ? key : new PublicKey('rsa-x509', key.pub);
}

/** Root version 1: one key per base role, threshold 1 (as notary creates it). */
export function firstRoot(now: number, keys: Record<'root' | 'targets' | 'snapshot' | 'timestamp', PublicKey>): Root {
  const roles = ['root', 'targets', 'snapshot', 'timestamp'] as const;
  return {
    _type: 'Root',
    consistentSnapshot: false,
    expires: expiresAfter(now, EXPIRY_DAYS.root),
    version: 1,
    keys: new Map(roles.map((r) => [keys[r].id, keys[r]])),
    roles: new Map(roles.map((r) => [r, { keyids: [keys[r].id], threshold: 1 }])),
  };
}

/** Targets version 1: empty, no delegations. */
export function firstTargets(now: number): Targets {
  return {
    _type: 'Targets',
    expires: expiresAfter(now, EXPIRY_DAYS.targets),
    version: 1,
    delegations: { keys: new Map(), roles: [] },
    targets: new Map(),
  };
}

async function refuseExisting(remote: NotaryRemote, gun: string): Promise<void> {
  if (!(await remote.exists())) return;
  throw new TrustError('METADATA_INVALID', `repository ${gun} already exists on ${remote.host}`, {
    gun,
    hint: `to use it: dtrust list ${gun}; to replace it: dtrust delete ${gun} --remote, then init again`,
  });
}
