// Delegations (cli.md §9.20-§9.23): the collaborator's key read from a file (formats.md §3.6: the
// first PEM block of a certificate or a public key, as notary's `delegation add` reads it), the
// changes `delegation add|remove|purge` stage as notary does (publish.ts applies them), and the
// delegations of a verified repository. Co-signing is in cosign.ts.

import { createPublicKey } from 'node:crypto';
import { decodePemBlocks } from '../crypto/pem.js';
import { spkiDer } from '../crypto/signature.js';
import { goPemCertificates, inspectCertificate, isWeakSignatureAlgorithm } from '../crypto/x509.js';
import type { MetadataCache } from '../storage/cache.js';
import type { Changelist } from '../storage/changelist.js';
import type { TrustedCollectionBuilder } from '../tuf/builder.js';
import { parseEnvelope } from '../tuf/envelope.js';
import { TrustError } from '../tuf/errors.js';
import { PublicKey } from '../tuf/keys.js';
import { parseTargets } from '../tuf/metadata.js';
import { CACHED_MAX } from '../tuf/limits.js';
import { parentOf } from '../tuf/roles.js';
import { encodeDelegationData, type DelegationData } from './changes.js';

/** The delegation key in a PEM file: an x509 key from a certificate, or a plain ecdsa/rsa key. */
export function delegationKeyFromPem(text: string, file: string, nowMs: number): PublicKey {
  const block = decodePemBlocks(text)[0];
  const invalid = (why: string, hint?: string): never => {
    throw new TrustError('BAD_KEY', `unable to parse valid public key certificate from PEM file ${file}: ${why}`, { hint });
  };
  if (!block) return invalid('no valid public key found', 'pass a PEM certificate (cert.pem) or public key (key.pub)');
  if (block.type === 'CERTIFICATE') {
    let cert;
    try {
      cert = inspectCertificate(block.bytes);
    } catch (e) {
      return invalid((e as Error).message);
    }
    if (nowMs > cert.notAfter || cert.notBefore > nowMs + 86_400_000) {
      invalid(`the certificate is not valid now (valid from ${new Date(cert.notBefore).toISOString()} to ${new Date(cert.notAfter).toISOString()})`, 'create a new certificate for the key');
    }
    if (isWeakSignatureAlgorithm(cert.signatureAlgorithmOid)) invalid('the certificate uses a SHA-1 or weaker signature');
    if (cert.rsaModulusBits !== null && cert.rsaModulusBits < 2048) invalid('RSA keys must have at least 2048 bits');
    const keytype = cert.publicKey.asymmetricKeyType === 'rsa' ? 'rsa-x509' : cert.publicKey.asymmetricKeyType === 'ec' ? 'ecdsa-x509' : '';
    if (keytype === '') invalid(`unsupported ${cert.publicKey.asymmetricKeyType} certificate key`);
    return new PublicKey(keytype, Buffer.from(goPemCertificates([block.bytes]), 'latin1'));
  }
  if (block.type === 'PUBLIC KEY') {
    let key;
    try {
      key = createPublicKey({ key: block.bytes, format: 'der', type: 'spki' });
    } catch (e) {
      return invalid((e as Error).message);
    }
    if (key.asymmetricKeyType === 'ec') return new PublicKey('ecdsa', spkiDer(key));
    if (key.asymmetricKeyType === 'rsa') {
      if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) invalid('RSA keys must have at least 2048 bits');
      return new PublicKey('rsa', spkiDer(key));
    }
    return invalid('unknown public key format', 'notary reads ECDSA and RSA public keys only');
  }
  return invalid('no valid public key found', `the first PEM block is a ${block.type}, not a CERTIFICATE or PUBLIC KEY`);
}

// ---------------------------------------------------------------------------------------------
// Staged changes (the caller holds the GUN's lock)

function stageUpdate(changelist: Changelist, action: 'create' | 'update', role: string, d: DelegationData): Promise<string> {
  return changelist.add({ action, scope: role, type: 'delegation', path: '', data: encodeDelegationData(d) });
}

/** `delegation add`: keys (a new role gets `threshold`, default 1), paths, and a changed threshold. */
export async function stageDelegationAdd(changelist: Changelist, role: string, add: { keys: PublicKey[]; paths: string[]; threshold?: number }): Promise<void> {
  // (Threshold alone: the update below creates the role too when it does not exist.)
  if (add.keys.length > 0) await stageUpdate(changelist, 'create', role, { threshold: add.threshold ?? 1, addKeys: add.keys });
  if (add.paths.length > 0) await stageUpdate(changelist, 'create', role, { addPaths: add.paths });
  // A create only sets the threshold of a new role; an update changes an existing one.
  if (add.threshold !== undefined) await stageUpdate(changelist, 'update', role, { threshold: add.threshold });
}

/** `delegation remove` with keys and/or paths: all paths, or these paths, then these keys. */
export async function stageDelegationRemove(changelist: Changelist, role: string, remove: { keyIds: string[]; paths: string[]; allPaths: boolean }): Promise<void> {
  if (remove.allPaths) await stageUpdate(changelist, 'update', role, { clearPaths: true });
  else if (remove.paths.length > 0) await stageUpdate(changelist, 'update', role, { removePaths: remove.paths });
  if (remove.keyIds.length > 0) await stageUpdate(changelist, 'update', role, { removeKeys: remove.keyIds });
}

/** `delegation remove` with neither keys nor paths: the whole role goes. */
export async function stageDelegationDelete(changelist: Changelist, role: string): Promise<void> {
  await changelist.add({ action: 'delete', scope: role, type: 'delegation', path: '', data: null });
}

/** `delegation purge`: these keys leave every delegation. */
export async function stageKeyPurge(changelist: Changelist, keyIds: string[]): Promise<void> {
  await stageUpdate(changelist, 'update', 'targets/*', { removeKeys: keyIds });
}

/** True when the cached parent already gives `role` paths (adding a key to it is then enough). */
export async function hasCachedPaths(cache: MetadataCache, role: string): Promise<boolean> {
  const parent = parentOf(role);
  try {
    const bytes = await cache.read(parent, CACHED_MAX);
    if (!bytes) return false;
    const decl = parseTargets(parseEnvelope(bytes, parent).signed, parent).delegations.roles.find((r) => r.name === role);
    return (decl?.paths.length ?? 0) > 0;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface DelegationSummary {
  name: string;
  /** Sorted. */
  paths: string[];
  /** Canonical IDs where the key parses, else the listed ID. */
  keyIds: string[];
  threshold: number;
}

/** Every delegation of a verified repository, by name. */
export function listDelegations(builder: TrustedCollectionBuilder): DelegationSummary[] {
  const roles: DelegationSummary[] = [];
  for (const file of builder.targetsRoles.values()) {
    for (const r of file.meta.delegations.roles) {
      const keyIds = (r.keyids ?? []).map((id) => canonical(file.meta.delegations.keys.get(id), id));
      roles.push({ name: r.name, paths: [...r.paths].sort(), keyIds, threshold: r.threshold });
    }
  }
  return roles.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function canonical(key: PublicKey | undefined, id: string): string {
  try {
    return key ? key.canonicalId : id;
  } catch {
    return id;
  }
}
