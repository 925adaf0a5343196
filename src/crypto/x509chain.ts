// Certificate chains as notary checks them for CA trust pinning: Go 1.19's
// `Certificate.Verify` with the pinned bundle as roots, the root file's intermediates, the
// current time and Go's default key usage (server authentication), which notary does not
// override (trustpinning.caCheck).
//
// The rules that decide a chain: a leaf that is itself in the roots is trusted as it is;
// otherwise each parent's subject must be the child's issuer (as encoded), the parent must be a
// CA (a version 3 certificate without basicConstraints is not), its keyUsage (when present) must
// allow certificate signing, the child's signature must verify with a strong algorithm, every
// certificate must be valid at `now`, have no critical extension Go does not handle, and respect
// pathLenConstraint, and intermediates must be CAs. Then some chain must allow server
// authentication: a certificate that lists extended key usages must list serverAuth or
// anyExtendedKeyUsage. Name constraints are not evaluated: a CA that has them in a chain whose
// certificates carry subject alternative names fails the chain (Go would check the names).

import { X509Certificate } from 'node:crypto';
import { isWeakSignatureAlgorithm, type CertInfo } from './x509.js';

const KEY_USAGE_CERT_SIGN = 1 << 5;
const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_ANY = '2.5.29.37.0';
/** Go's maxChainSignatureChecks. */
const MAX_SIGNATURE_CHECKS = 100;

/** True when `leaf` chains to one of `roots` (through `intermediates`) as Go's Verify would find. */
export function chainVerifies(leaf: CertInfo, intermediates: readonly CertInfo[], roots: readonly CertInfo[], nowMs: number): boolean {
  if (!certValid(leaf, nowMs)) return false;
  if (roots.some((r) => r.der.equals(leaf.der))) return allowsServerAuth([leaf]);
  const checks = { left: MAX_SIGNATURE_CHECKS };
  return buildChains([leaf], intermediates, roots, nowMs, checks).some(allowsServerAuth);
}

function buildChains(chain: CertInfo[], intermediates: readonly CertInfo[], roots: readonly CertInfo[], nowMs: number, checks: { left: number }): CertInfo[][] {
  const child = chain[chain.length - 1]!;
  const out: CertInfo[][] = [];
  const consider = (candidate: CertInfo, asRoot: boolean): void => {
    if (chain.some((c) => c.rawSubject.equals(candidate.rawSubject) && c.rawPublicKeyInfo.equals(candidate.rawPublicKeyInfo))) return;
    if (checks.left-- <= 0) return;
    if (!signedBy(child, candidate)) return;
    if (!certValid(candidate, nowMs)) return;
    if (candidate.maxPathLen >= 0 && candidate.basicConstraintsValid && chain.length - 1 > candidate.maxPathLen) return;
    if (candidate.hasNameConstraints && chain.concat(candidate).some((c) => c.hasSubjectAltName)) return;
    const next = [...chain, candidate];
    if (asRoot) out.push(next);
    else if (candidate.basicConstraintsValid && candidate.isCA) out.push(...buildChains(next, intermediates, roots, nowMs, checks));
  };
  for (const r of roots) if (r.rawSubject.equals(child.rawIssuer)) consider(r, true);
  for (const i of intermediates) if (i.rawSubject.equals(child.rawIssuer)) consider(i, false);
  return out;
}

/** Go's CheckSignatureFrom: the parent may sign certificates, and did sign this one. */
function signedBy(child: CertInfo, parent: CertInfo): boolean {
  if ((parent.version === 3 && !parent.basicConstraintsValid) || (parent.basicConstraintsValid && !parent.isCA)) return false;
  if (parent.keyUsage !== 0 && (parent.keyUsage & KEY_USAGE_CERT_SIGN) === 0) return false;
  if (isWeakSignatureAlgorithm(child.signatureAlgorithmOid)) return false;
  try {
    return new X509Certificate(child.der).verify(parent.publicKey);
  } catch {
    return false;
  }
}

function certValid(c: CertInfo, nowMs: number): boolean {
  return !c.unhandledCritical && nowMs >= c.notBefore && nowMs <= c.notAfter;
}

function allowsServerAuth(chain: readonly CertInfo[]): boolean {
  return chain.every((c) => c.extKeyUsage.length === 0 || c.extKeyUsage.includes(EKU_ANY) || c.extKeyUsage.includes(EKU_SERVER_AUTH));
}
