// `key rotate` (cli.md §9.15): a base role's keys replaced, and that change published alone, at
// once. Old local keys are removed only after the server accepted the rotation; a failed rotation
// removes the key it generated, unless the upload's outcome is unknown (cli.md §12 #16).

import type { NotaryRemote } from '../remote/notary.js';
import { RemoteError } from '../remote/errors.js';
import type { MetadataCache } from '../storage/cache.js';
import type { Changelist, StagedChange } from '../storage/changelist.js';
import { parseEnvelope } from '../tuf/envelope.js';
import { ROOT_MAX } from '../tuf/limits.js';
import { PublicKey } from '../tuf/keys.js';
import { parseRoot, type Root } from '../tuf/metadata.js';
import type { TrustPinning } from '../tuf/rootcerts.js';
import { encodeRootData } from './changes.js';
import { ClientError } from './errors.js';
import { rootCertKey } from './init.js';
import type { RepoKeyAccess } from './keys.js';
import { publish } from './publish.js';

export type RotatableRole = 'root' | 'targets' | 'snapshot' | 'timestamp';

export interface RotateOptions {
  gun: string;
  now: number;
  cache: MetadataCache;
  changelist: Changelist;
  remote: NotaryRemote;
  keys: RepoKeyAccess;
  pinning?: TrustPinning;
  warn: (msg: string) => void;
  role: RotatableRole;
  /** The server makes and holds the new key (snapshot, timestamp). */
  serverManaged: boolean;
  /** PEM files (absolute paths) holding the new keys; none: a new key is generated. */
  keyFiles: readonly string[];
  /** Also sign the new root with the root keys of this many earlier versions (-1: all). */
  legacyRootVersions?: number;
  /** Told what the rotation does, before it is published. */
  onPlan: (plan: RotationPlan) => void;
}

export interface RotationPlan {
  /** Canonical IDs of the role's keys before, and after the rotation. */
  oldIds: string[];
  newIds: string[];
  /** The root version that will carry the change, and the root keys that sign it. */
  rootVersion: number;
  rootSigners: string[];
}

export async function rotateKey(opts: RotateOptions): Promise<void> {
  const { role, keys } = opts;
  const created: string[] = [];
  try {
    const before = await currentRoot(opts);
    const oldIds = (before.roles.get(role)?.keyids ?? []).map((id) => before.keys.get(id)).filter((k) => k !== undefined).map((k) => k.canonicalId);
    const newKeys = await newRoleKeys(opts, created);
    const threshold = before.roles.get(role)?.threshold ?? 1;
    if (newKeys.length < threshold) {
      throw new ClientError('THRESHOLD', `the ${role} role needs ${threshold} keys, and the rotation gives it ${newKeys.length}`, { hint: 'pass enough keys with -k' });
    }
    const newIds = newKeys.map((k) => k.canonicalId);
    opts.onPlan({
      oldIds,
      newIds,
      rootVersion: before.version + 1,
      rootSigners: [...new Set([...(before.roles.get('root')?.keyids ?? []).map((id) => before.keys.get(id)?.canonicalId ?? id), ...(role === 'root' ? newIds : [])])],
    });
    const change: StagedChange = { action: 'create', scope: 'root', type: 'role', path: role, data: encodeRootData(role, newKeys), file: '', index: 0 };
    try {
      await publish({
        gun: opts.gun,
        now: opts.now,
        cache: opts.cache,
        changelist: opts.changelist,
        remote: opts.remote,
        keys,
        pinning: opts.pinning,
        warn: opts.warn,
        staged: false,
        extraChanges: [change],
        legacyRootVersions: opts.legacyRootVersions,
      });
    } catch (e) {
      // The upload was sent but no answer came: the server may now list the new key, so it must
      // not be deleted (nor the old one, which it may still list).
      if (!(e instanceof RemoteError && e.code === 'UNKNOWN_OUTCOME')) throw e;
      created.length = 0;
      throw new ClientError(
        'UNKNOWN_OUTCOME',
        `the connection dropped after the ${role} key rotation was sent; the server may or may not have applied it`,
        { hint: `both keys are kept (old: ${oldIds.join(', ') || 'none'}; new: ${newIds.join(', ')}); run the rotation again: dtrust key rotate ${opts.gun} ${role}${opts.serverManaged ? ' -r' : ''} (it re-reads the server state); afterwards remove the key it no longer uses with: dtrust key remove <id>` },
        e,);
    }
    created.length = 0;
    if (role !== 'root') {
      const keep = new Set(newIds);
      for (const id of oldIds) if (!keep.has(id) && keys.has(id)) await keys.remove(id);
    }
  } finally {
    for (const id of created) await keys.remove(id).catch(() => undefined);
  }
}

/** The role's new keys: made by the server, read from the files given, or generated (recorded in `created`). */
async function newRoleKeys(opts: RotateOptions, created: string[]): Promise<PublicKey[]> {
  const { role, keys, gun } = opts;
  if (opts.serverManaged) {
    const k = await opts.remote.rotateKey(role as 'timestamp' | 'snapshot');
    return [new PublicKey(k.keytype, k.public)];
  }
  const ids: string[] = [];
  for (const f of opts.keyFiles) ids.push(await keys.importKeyFile(f, role, role === 'root' ? '' : gun));
  if (ids.length === 0) {
    const g = await keys.generate(role, role === 'root' ? '' : gun);
    created.push(g.canonicalId);
    ids.push(g.canonicalId);
  }
  const out: PublicKey[] = [];
  for (const id of ids) out.push(role === 'root' ? await rootCertKey(keys, id, gun, opts.now) : await keys.publicKey(id));
  return out;
}

async function currentRoot(opts: RotateOptions): Promise<Root> {
  const bytes = (await opts.cache.read('root', ROOT_MAX)) ?? (await opts.remote.getMeta('root', ROOT_MAX));
  return parseRoot(parseEnvelope(bytes, 'root').signed);
}
