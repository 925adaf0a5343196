// Root keys are x509 certificates (formats.md §3.4, §7.3). A root is verified with keys rebuilt
// from the certificates that pass notary's checks, and trust pinning chooses which pass on first
// contact: the rule for a GUN (pinRule) is chosen here, and a CA rule's bundle is read by the
// caller, since the engine does not read files.

import { certificatesFromPem, goPemCertificates, inspectCertificate, isWeakSignatureAlgorithm, type CertInfo } from '../crypto/x509.js';
import { chainVerifies } from '../crypto/x509chain.js';
import { TrustError } from './errors.js';
import { PublicKey } from './keys.js';
import type { Root } from './metadata.js';

const DAY = 86_400_000;

/** The `trust_pinning` section of the configuration (cli.md §3). */
export interface TrustPinning {
  /** GUN (or `prefix*`) → allowed certificate key IDs. */
  certs?: Record<string, string[]>;
  /** GUN prefix → CA bundle file. */
  ca?: Record<string, string>;
  disableTofu?: boolean;
}

/** The rule of `trust_pinning` that decides a GUN's first root, in notary's precedence. */
export type PinRule =
  /** `certs`: the exact GUN, else the longest `prefix*` entry (`entry` is its key). */
  | { kind: 'certs'; entry: string; ids: string[] }
  /** `ca`: the longest GUN prefix; the root certificates must chain to the bundle in `file`. */
  | { kind: 'ca'; prefix: string; file: string }
  /** No pin applies: trust on first use. */
  | { kind: 'tofu' }
  /** No pin applies and `disable_tofu` is set. */
  | { kind: 'refuse' };

/** A rule ready to apply: a CA rule carries the bytes of its bundle, read by the caller. */
export type RootPin = Exclude<PinRule, { kind: 'ca' }> | { kind: 'ca'; prefix: string; file: string; bundle: Uint8Array };

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

/** The rule of `pinning` that decides `gun` (notary's NewTrustPinChecker). */
export function pinRule(gun: string, pinning: TrustPinning | undefined): PinRule {
  const certs = pinning?.certs ?? {};
  if (Object.hasOwn(certs, gun)) return { kind: 'certs', entry: gun, ids: certs[gun]! };
  let best = '';
  for (const k of Object.keys(certs)) {
    if (k.endsWith('*') && gun.startsWith(k.slice(0, -1)) && k.length > best.length) best = k;
  }
  if (best !== '') return { kind: 'certs', entry: best, ids: certs[best]! };
  const cas = pinning?.ca ?? {};
  let prefix: string | undefined;
  for (const k of Object.keys(cas)) if (gun.startsWith(k) && (prefix === undefined || k.length >= prefix.length)) prefix = k;
  if (prefix !== undefined) return { kind: 'ca', prefix, file: cas[prefix]! };
  return pinning?.disableTofu ? { kind: 'refuse' } : { kind: 'tofu' };
}

const VALIDATE = 'could not validate the path to a trusted root';

/**
 * Narrows the root keys (from validRootKeys) to those the pin accepts on first contact; throws
 * when none is left. No pin: trust on first use.
 */
export function applyPin(keys: Map<string, PublicKey>, gun: string, pin: RootPin | undefined, nowMs: number): Map<string, PublicKey> {
  const fail = (reason: string, hint?: string): never => {
    throw new TrustError('TRUST_PINNING', `${VALIDATE}: ${reason}`, { gun, ...(hint ? { hint } : {}) });
  };
  if (pin === undefined || pin.kind === 'tofu') return keys;
  if (pin.kind === 'refuse') {
    return fail('invalid trust pinning specified', `trust_pinning.disable_tofu is set and no entry of trust_pinning.certs or trust_pinning.ca covers ${gun}`);
  }
  let kept: Map<string, PublicKey>;
  if (pin.kind === 'certs') {
    const allowed = new Set(pin.ids);
    kept = new Map([...keys].filter(([id]) => allowed.has(id)));
    if (kept.size === 0) fail('unable to match any certificates to trust_pinning config', `trust_pinning.certs[${JSON.stringify(pin.entry)}] lists none of the root certificate IDs ${[...keys.keys()].join(', ')}`);
    return kept;
  }
  const anchors = caAnchors(pin, nowMs, fail);
  kept = new Map([...keys].filter(([, k]) => chainsTo(k, anchors, nowMs)));
  if (kept.size === 0) {
    fail(
      'unable to match any certificates to trust_pinning config',
      `the root certificate of ${gun} does not chain to a CA in ${pin.file} (trust_pinning.ca[${JSON.stringify(pin.prefix)}]); it must be issued by that CA, be valid now, and allow server authentication if it lists extended key usages`,
    );
  }
  return kept;
}

/** The usable CA certificates of a pinned bundle (notary ignores expired and weak ones). */
function caAnchors(pin: Extract<RootPin, { kind: 'ca' }>, nowMs: number, fail: (reason: string, hint?: string) => never): CertInfo[] {
  const where = `trust_pinning.ca[${JSON.stringify(pin.prefix)}]`;
  const unusable = (why: string): never =>
    fail(`could not load root cert from CA path ${pin.file}: ${why}`, `${where} names ${pin.file}; it must hold the PEM certificates of the CA (-----BEGIN CERTIFICATE-----) and nothing else`);
  const text = Buffer.from(pin.bundle.buffer, pin.bundle.byteOffset, pin.bundle.byteLength).toString('latin1');
  const blocks = certificatesFromPem(text);
  if (!blocks.allCertificates) unusable('it holds a PEM block that is not a certificate');
  if (blocks.ders.length === 0) unusable('no certificates in it');
  let certs: CertInfo[] = [];
  try {
    certs = blocks.ders.map((d) => inspectCertificate(d));
  } catch (e) {
    unusable((e as Error).message);
  }
  const anchors = certs.filter((c) => certUsable(c, { gun: '', nowMs, checkExpiry: true }));
  if (anchors.length === 0) {
    fail(`invalid CA certs provided in ${pin.file}`, `every certificate in ${pin.file} (${where}) is expired, not yet valid, signed with SHA-1 or an RSA key under 2048 bits; replace it with the CA's current certificate`);
  }
  return anchors;
}

function chainsTo(key: PublicKey, anchors: readonly CertInfo[], nowMs: number): boolean {
  try {
    const [leaf, ...intermediates] = certificatesFromPem(key.pub.toString('latin1')).ders.map((d) => inspectCertificate(d));
    return leaf !== undefined && chainVerifies(leaf, intermediates, anchors, nowMs);
  } catch {
    return false;
  }
}
