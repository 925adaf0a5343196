// Root keys are x509 certificates (formats.md §3.4, §7.3). A root is verified with keys rebuilt
// from the certificates that pass notary's checks, and trust pinning chooses which pass on first
// contact.

import {
  certificatesFromPem,
  goPemCertificates,
  inspectCertificate,
  isWeakSignatureAlgorithm,
  verifyIssuedBy,
  type CertInfo,
} from '../crypto/x509.js';
import { TrustError } from './errors.js';
import { PublicKey } from './keys.js';
import type { Root } from './metadata.js';

const DAY = 86_400_000;

export interface TrustPinning {
  /** GUN (or `prefix*`) → allowed certificate key IDs. */
  certs?: Record<string, string[]>;
  /** GUN prefix → CA bundle PEM text (already read by the caller). */
  ca?: Record<string, string>;
  disableTofu?: boolean;
}

export interface RootKeyOptions {
  gun: string;
  nowMs: number;
  /** The previous root's certificates are used even when expired (rotation). */
  checkExpiry: boolean;
  warnings?: string[];
}

/** The valid root keys of `root`, rebuilt from their certificates, by rebuilt key ID. */
export function validRootKeys(root: Root, opts: RootKeyOptions): Map<string, PublicKey> {
  const out = new Map<string, PublicKey>();
  for (const id of root.roles.get('root')?.keyids ?? []) {
    const key = root.keys.get(id);
    if (!key || !key.isX509) continue;
    const rebuilt = rebuildCertKey(key, opts);
    if (rebuilt) out.set(rebuilt.id, rebuilt);
  }
  return out;
}

function rebuildCertKey(key: PublicKey, opts: RootKeyOptions): PublicKey | null {
  let parsed: { ders: Buffer[]; allCertificates: boolean };
  let certs: CertInfo[];
  try {
    parsed = certificatesFromPem(key.pub.toString('latin1'));
    if (!parsed.allCertificates || parsed.ders.length === 0) return null;
    certs = parsed.ders.map((d) => inspectCertificate(d));
  } catch {
    return null;
  }
  const [leaf, ...rest] = certs;
  if (!leaf || leaf.isCA || rest.some((c) => !c.isCA)) return null;
  if (!cnMatches(leaf.commonName, opts.gun)) return null;
  if (!certUsable(leaf, opts)) return null;
  const intermediates = rest.filter((c) => certUsable(c, opts));
  if (opts.checkExpiry && leaf.notAfter - opts.nowMs < 182 * DAY) {
    opts.warnings?.push(`certificate for ${opts.gun} expires soon (${new Date(leaf.notAfter).toISOString()}); rotate the root key`);
  }
  const pem = goPemCertificates([leaf.der, ...intermediates.map((c) => c.der)]);
  return new PublicKey(key.keytype, Buffer.from(pem, 'latin1'));
}

function certUsable(c: CertInfo, opts: RootKeyOptions): boolean {
  if (c.notBefore > c.notAfter) return false;
  if (isWeakSignatureAlgorithm(c.signatureAlgorithmOid)) return false;
  if (c.rsaModulusBits !== null && c.rsaModulusBits < 2048) return false;
  if (opts.checkExpiry && (opts.nowMs > c.notAfter || c.notBefore > opts.nowMs + DAY)) return false;
  return true;
}

/** The CN equals the GUN, or ends in `*` and its prefix is a prefix of the GUN. */
export function cnMatches(cn: string | null, gun: string): boolean {
  if (cn === null) return false;
  if (cn === gun) return true;
  if (!cn.endsWith('*')) return false;
  return gun.startsWith(cn.replace(/\*+$/, ''));
}

/**
 * Narrows the root keys to those the pinning configuration accepts on first contact
 * (certs for the GUN, then a wildcard, then a CA, then TOFU).
 */
export function applyPinning(keys: Map<string, PublicKey>, gun: string, pinning: TrustPinning | undefined, nowMs: number): Map<string, PublicKey> {
  const fail = (reason: string): never => {
    throw new TrustError('TRUST_PINNING', `could not validate the path to a trusted root: ${reason}`, { gun });
  };
  const certs = pinning?.certs ?? {};
  let ids: string[] | undefined = Object.hasOwn(certs, gun) ? certs[gun] : undefined;
  if (ids === undefined) {
    let best = '';
    for (const k of Object.keys(certs)) {
      if (k.endsWith('*') && gun.startsWith(k.slice(0, -1)) && k.length > best.length) best = k;
    }
    if (best !== '') ids = certs[best];
  }
  if (ids !== undefined) {
    const allowed = new Set(ids);
    const kept = new Map([...keys].filter(([id]) => allowed.has(id)));
    if (kept.size === 0) fail('unable to match any certificates to trust_pinning config');
    return kept;
  }
  const cas = pinning?.ca ?? {};
  let caPrefix = '';
  for (const k of Object.keys(cas)) if (gun.startsWith(k) && k.length >= caPrefix.length) caPrefix = k;
  if (caPrefix !== '' || Object.hasOwn(cas, '')) {
    const bundle = certificatesFromPem(cas[caPrefix]!);
    if (!bundle.allCertificates || bundle.ders.length === 0) fail(`the CA bundle for ${JSON.stringify(caPrefix)} holds something other than certificates`);
    const anchors = bundle.ders.filter((d) => inspectCertificate(d).notAfter >= nowMs);
    if (anchors.length === 0) fail(`every CA certificate for ${JSON.stringify(caPrefix)} has expired`);
    const kept = new Map([...keys].filter(([, k]) => chainsTo(k, anchors)));
    if (kept.size === 0) fail('unable to match any certificates to trust_pinning config');
    return kept;
  }
  if (pinning?.disableTofu) fail('invalid trust pinning specified: trust on first use is disabled and no pin matches');
  return keys;
}

function chainsTo(key: PublicKey, anchors: Buffer[]): boolean {
  const { ders } = certificatesFromPem(key.pub.toString('latin1'));
  const [leaf, ...intermediates] = ders;
  if (!leaf) return false;
  let frontier = [leaf];
  const seen = new Set<Buffer>();
  for (let depth = 0; depth < 8 && frontier.length > 0; depth++) {
    const next: Buffer[] = [];
    for (const c of frontier) {
      if (anchors.some((a) => verifyIssuedBy(c, a))) return true;
      for (const i of intermediates) {
        if (!seen.has(i) && verifyIssuedBy(c, i)) {
          seen.add(i);
          next.push(i);
        }
      }
    }
    frontier = next;
  }
  return false;
}
