// Co-signing a delegation role whose threshold one signer cannot meet (beyond notary): this
// machine's signatures are added to a role file signed elsewhere (same bytes, same version), and
// the file is saved for the next signer; once the threshold is met it can be published
// (publish.ts checks it again and uploads it as it is). A publish saves a role it signed below
// the threshold in pending.ts.

import { readFile } from 'node:fs/promises';
import type { TrustedCollectionBuilder } from '../tuf/builder.js';
import { parseEnvelope, signingBytes } from '../tuf/envelope.js';
import { isTrustError } from '../tuf/errors.js';
import { parseTargets, toJson } from '../tuf/metadata.js';
import { parentOf } from '../tuf/roles.js';
import { signMetadata } from '../tuf/sign.js';
import { verifyThreshold } from '../tuf/verify.js';
import { ClientError } from './errors.js';
import type { KeyAccess } from './keys.js';

export interface CosignOptions {
  gun: string;
  role: string;
  /** The role file (absolute path), and its name as the user gave it. */
  path: string;
  shown: string;
  /** Where the co-signed file is written (the file itself, unless the user named another). */
  dest: string;
  /** The caller publishes a file that meets its threshold: one this machine cannot add to is then no error. */
  publish: boolean;
  /** The verified repository, and the key stores: opened once the file was read and checked. */
  refresh: () => Promise<TrustedCollectionBuilder>;
  keys: () => Promise<KeyAccess>;
}

export type Cosigned =
  /** This machine had nothing to add, and the file meets its threshold already (`publish`). */
  | { signedHere: false; bytes: Buffer }
  /** Signed here and written to `dest`. */
  | { signedHere: true; bytes: Buffer; version: number; valid: number; threshold: number };

export async function cosignRole(opts: CosignOptions): Promise<Cosigned> {
  const { role, gun } = opts;
  const bytes = await readFile(opts.path);
  const env = parseEnvelope(bytes, role);
  const meta = parseTargets(env.signed, role);
  if (!signingBytes(toJson(meta)).equals(env.canonical)) {
    throw new ClientError('COSIGN', `${opts.shown} does not hold ${role} in the form dtrust and notary write, so signatures over it would not match`, { hint: 'ask the first signer for the file dtrust saved' });
  }
  const builder = await opts.refresh();
  const parentFile = builder.targetsRoles.get(parentOf(role));
  const decl = parentFile?.meta.delegations.roles.find((r) => r.name === role);
  if (!parentFile || !decl) throw new ClientError('COSIGN', `${role} is not a delegation of ${gun}`, { hint: `list them with: dtrust delegation list ${gun}` });
  const keys = await opts.keys();
  const existing = env.signatures.filter((sig) => (decl.keyids ?? []).includes(sig.keyid));
  const signers = [];
  for (const id of decl.keyids ?? []) {
    const key = parentFile.meta.delegations.keys.get(id);
    if (!key || existing.some((sig) => sig.keyid === id)) continue;
    if (keys.has(key.canonicalId)) signers.push(await keys.signer(key.canonicalId, key, role));
  }
  const validSignatures = (b: Buffer): number => {
    try {
      return verifyThreshold(parseEnvelope(b, role), role, parentFile.meta.delegations.keys, decl).validKeyIds.length;
    } catch (e) {
      if (!isTrustError(e, 'THRESHOLD_NOT_MET')) throw e;
      return Number(e.fields.found ?? 0);
    }
  };
  if (signers.length === 0) {
    // Already signed here (e.g. `cosign` without --publish, then the printed `--publish` command).
    if (opts.publish && validSignatures(bytes) >= decl.threshold) return { signedHere: false, bytes };
    throw new ClientError('COSIGN', `this machine holds none of the keys of ${role} that have not signed yet`, { hint: `import your ${role} key first: dtrust key import <key.pem> -r ${role}` });
  }
  const signed = await signMetadata(meta, signers, existing);
  const valid = validSignatures(signed.bytes);
  const { writeFileAtomic } = await import('../storage/atomic.js');
  await writeFileAtomic(opts.dest, signed.bytes);
  return { signedHere: true, bytes: signed.bytes, version: meta.version, valid, threshold: decl.threshold };
}
