// The root of trust of a verification that must not trust on first use (verify-image, archive
// verify): root key IDs given on the command line, a root or CA certificate file, or the
// configuration's trust_pinning. The rule is applied to the FINAL trusted root (after every
// rotation), whatever the cache held: a root trusted once without a pin is not a pinned root.
// Without any of them the answer says it relied on trust on first use.

import { open } from 'node:fs/promises';
import { certificatesFromPem, inspectCertificate } from '../crypto/x509.js';
import { goFileError } from '../fs/errno.js';
import { TrustedCollectionBuilder } from '../tuf/builder.js';
import { TrustError } from '../tuf/errors.js';
import type { PublicKey } from '../tuf/keys.js';
import type { Root } from '../tuf/metadata.js';
import type { RootPin, TrustPinning } from '../tuf/rootcerts.js';
import { rootPin } from './pinning.js';

export type RootOfTrust =
  /** Root key IDs (the certificate IDs root.json lists, or the canonical IDs key files are named by). */
  | { kind: 'keys'; ids: string[] }
  /** A PEM file: the root's own certificate, or a CA the root certificate must chain to. */
  | { kind: 'cert'; file: string; pem: Buffer }
  /** trust_pinning of the configuration (TOFU when it has no rule for the GUN). */
  | { kind: 'config'; pinning: TrustPinning }
  | { kind: 'tofu' };

export interface RootVerdict {
  /** The root key IDs of the trusted root, as root.json lists them. */
  rootKeyIds: string[];
  /** 'pinned' when a rule checked the root; 'tofu' when nothing did. */
  trust: 'pinned' | 'tofu';
  /** How the root was checked, for people. */
  how: string;
}

const MAX_CERT_FILE = 1024 * 1024;

/** Reads the certificate file of --root-cert. */
export async function readRootCert(file: string): Promise<RootOfTrust> {
  let pem: Buffer;
  try {
    const f = await open(file, 'r');
    try {
      if ((await f.stat()).size > MAX_CERT_FILE) throw new TrustError('TRUST_PINNING', `${file} is larger than ${MAX_CERT_FILE} bytes: not a certificate`, { hint: 'pass the PEM file of the root certificate or of its CA' });
      pem = await f.readFile();
    } finally {
      await f.close();
    }
  } catch (e) {
    if (e instanceof TrustError) throw e;
    throw new TrustError('TRUST_PINNING', `cannot read the root certificate: ${goFileError(e, file)}`, { hint: 'pass the PEM file of the root certificate or of its CA with --root-cert' }, e);
  }
  const { ders, allCertificates } = certificatesFromPem(pem.toString('latin1'));
  if (ders.length === 0 || !allCertificates) {
    throw new TrustError('TRUST_PINNING', `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, { hint: 'pass the PEM file of the root certificate or of its CA with --root-cert' });
  }
  return { kind: 'cert', file, pem };
}

/**
 * Checks the final root of `b` against the root of trust: it must carry a threshold of
 * signatures by the keys the rule accepts (notary's trust pinning, as on first contact).
 */
export async function checkRootOfTrust(b: TrustedCollectionBuilder, anchor: RootOfTrust): Promise<RootVerdict> {
  const root = b.root;
  if (!root) throw new TrustError('TRUST_PINNING', `${b.gun}: no trusted root`, { gun: b.gun });
  const rootKeyIds = [...(root.meta.roles.get('root')?.keyids ?? [])];
  const pinned = await pinFor(b.gun, root.meta, anchor);
  if (pinned === undefined) return { rootKeyIds, trust: 'tofu', how: 'trust on first use (no --root-key, --root-cert or trust_pinning rule for this repository)' };
  const check = new TrustedCollectionBuilder({ gun: b.gun, now: b.now, pin: pinned.pin });
  try {
    check.loadRoot(root.bytes, 'local');
  } catch (e) {
    if (e instanceof TrustError && e.code === 'TRUST_PINNING') {
      throw new TrustError('TRUST_PINNING', `the root of ${b.gun} is not the pinned root: ${e.message}`, { gun: b.gun, hint: `its root key IDs are ${rootKeyIds.join(', ')}; ${pinned.hint}` }, e);
    }
    throw e;
  }
  return { rootKeyIds, trust: 'pinned', how: pinned.how };
}

interface Pinned {
  pin: RootPin;
  how: string;
  hint: string;
}

async function pinFor(gun: string, root: Root, anchor: RootOfTrust): Promise<Pinned | undefined> {
  const keys = rootKeys(root);
  switch (anchor.kind) {
    case 'tofu':
      return undefined;
    case 'config': {
      const pin = await rootPin(gun, anchor.pinning);
      if (pin.kind === 'tofu') return undefined;
      return { pin, how: 'trust_pinning of the configuration', hint: 'check trust_pinning in the configuration file' };
    }
    case 'keys': {
      const want = new Set(anchor.ids.map((id) => id.toLowerCase()));
      const ids = keys.filter((k) => want.has(k.id) || want.has(safeCanonical(k))).map((k) => k.id);
      const hint = `--root-key names ${anchor.ids.join(', ')}: pass the root key ID you trust (dtrust key list shows it where the root key is kept)`;
      return { pin: { kind: 'certs', entry: gun, ids: ids.length > 0 ? ids : anchor.ids }, how: `--root-key ${anchor.ids.join(', ')}`, hint };
    }
    case 'cert': {
      const certs = certificatesFromPem(anchor.pem.toString('latin1')).ders;
      const info = certs.map((d) => inspectCertificate(d));
      const hint = `--root-cert ${anchor.file} is neither the root certificate of ${gun} nor a CA it chains to`;
      if (info.every((c) => c.isCA)) return { pin: { kind: 'ca', prefix: gun, file: anchor.file, bundle: anchor.pem }, how: `--root-cert ${anchor.file} (CA)`, hint };
      const ders = new Set(certs.map((d) => d.toString('hex')));
      const ids = keys.filter((k) => k.isX509 && leafDer(k) !== undefined && ders.has(leafDer(k)!)).map((k) => k.id);
      return { pin: { kind: 'certs', entry: gun, ids: ids.length > 0 ? ids : ['none of the root keys'] }, how: `--root-cert ${anchor.file}`, hint };
    }
  }
}

function rootKeys(root: Root): PublicKey[] {
  const out: PublicKey[] = [];
  for (const id of root.roles.get('root')?.keyids ?? []) {
    const k = root.keys.get(id);
    if (k) out.push(k);
  }
  return out;
}

function safeCanonical(k: PublicKey): string {
  try {
    return k.canonicalId;
  } catch {
    return k.id;
  }
}

function leafDer(k: PublicKey): string | undefined {
  try {
    return certificatesFromPem(k.pub.toString('latin1')).ders[0]?.toString('hex');
  } catch {
    return undefined;
  }
}
