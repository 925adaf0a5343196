// Signature threshold checks (SEC-V1): count distinct public keys with a valid signature.

import { verifySignature } from '../crypto/signature.js';
import type { Envelope } from './envelope.js';
import { TrustError } from './errors.js';
import type { PublicKey } from './keys.js';
import type { RoleKeys } from './metadata.js';

export interface VerifyResult {
  /** Key IDs (as listed in the role) whose signatures verified. */
  validKeyIds: string[];
}

/**
 * Verifies `env` against a role's keys and threshold. Signatures by unknown key IDs and
 * signatures that do not verify are ignored; a key listed under an ID that is not its content ID
 * never counts; two IDs for the same key pair count once.
 */
export function verifyThreshold(env: Envelope, role: string, keys: ReadonlyMap<string, PublicKey>, roleKeys: RoleKeys): VerifyResult {
  const listed = roleKeys.keyids ?? [];
  const allowed = new Set(listed);
  const counted = new Set<string>();
  const validKeyIds: string[] = [];
  for (const s of env.signatures) {
    if (!allowed.has(s.keyid)) continue;
    const key = keys.get(s.keyid);
    if (!key || key.id !== s.keyid) continue;
    let identity: string;
    try {
      identity = key.canonicalId;
      if (counted.has(identity)) continue;
      if (!verifySignature(key.keytype, key.keyObject(), s.method, env.canonical, s.sig, key.keytype === 'rsa' && isPem(key.pub))) continue;
    } catch {
      continue; // an unusable key cannot contribute a signature
    }
    counted.add(identity);
    validKeyIds.push(s.keyid);
  }
  if (counted.size < roleKeys.threshold) {
    throw new TrustError(
      'THRESHOLD_NOT_MET',
      `valid signatures did not meet threshold for ${role}: ${counted.size} of ${roleKeys.threshold} required`,
      { role, found: counted.size, needed: roleKeys.threshold, keyIds: listed },
    );
  }
  return { validKeyIds };
}

/** A threshold below 1 or above the number of listed keys makes a role definition invalid. */
export function checkThreshold(role: string, threshold: number, keyCount: number): void {
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > keyCount) {
    throw new TrustError(
      'INVALID_THRESHOLD',
      `${role}: threshold ${threshold} is invalid for ${keyCount} listed key${keyCount === 1 ? '' : 's'}`,
      { role, found: threshold, needed: keyCount },
    );
  }
}

function isPem(b: Buffer): boolean {
  return b.subarray(0, 11).toString() === '-----BEGIN ';
}
