// A new repository the way docker creates one (cli.md §11.4 step 2, §11.7): the lowest-sorted
// root key at hand (or a new one), a new targets key, and snapshot and timestamp keys held by the
// server. root v1 and targets v1 go into the cache; the first publish uploads them and the server
// signs the snapshot.

import { firstRoot, firstTargets, rootCertKey } from '../client/init.js';
import type { KeyAccess } from '../client/keys.js';
import type { NotaryRemote } from '../remote/notary.js';
import type { MetadataCache } from '../storage/cache.js';
import { PublicKey } from '../tuf/keys.js';
import { signMetadata } from '../tuf/sign.js';

export interface DockerInitOptions {
  gun: string;
  now: number;
  cache: MetadataCache;
  remote: NotaryRemote;
  keys: KeyAccess;
  /** Told which existing root key is used, or that a new one is being created. */
  onRootKey?: (id: string | undefined) => void;
}

export async function initDockerRepository(opts: DockerInitOptions): Promise<{ rootKeyId: string; targetsKeyId: string }> {
  let rootKeyId = opts.keys.rootKeyIds()[0];
  opts.onRootKey?.(rootKeyId);
  if (rootKeyId === undefined) rootKeyId = (await opts.keys.generate('root', '')).canonicalId;
  const rootKey = await rootCertKey(opts.keys, rootKeyId, opts.gun, opts.now);

  const targets = await opts.keys.generate('targets', opts.gun);
  const snap = await opts.remote.getKey('snapshot');
  const ts = await opts.remote.getKey('timestamp');
  const root = firstRoot(opts.now, {
    root: rootKey,
    targets: targets.publicKey,
    snapshot: new PublicKey(snap.keytype, snap.public),
    timestamp: new PublicKey(ts.keytype, ts.public),
  });
  const t = firstTargets(opts.now);
  const rootBytes = (await signMetadata(root, [await opts.keys.signer(rootKeyId, rootKey, 'root')])).bytes;
  const targetsBytes = (await signMetadata(t, [await opts.keys.signer(targets.canonicalId, targets.publicKey, 'targets')])).bytes;
  // Files of an earlier repository of this name must not become floors or state.
  await opts.cache.remove('timestamp');
  await opts.cache.remove('snapshot');
  await opts.cache.writeMany(
    new Map([
      ['root', rootBytes],
      ['targets', targetsBytes],
    ]),
  );
  return { rootKeyId, targetsKeyId: targets.canonicalId };
}
