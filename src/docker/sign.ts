// `sign IMAGE:TAG` (cli.md §11.4): the manifest the registry holds for the tag (or the digest
// given), signed into every role docker would sign it into; a repository that does not exist yet
// is created as docker creates it, with a signer named after the registry user when there is one.

import type { NotaryRemote } from '../remote/notary.js';
import type { TrustedCollectionBuilder } from '../tuf/builder.js';
import { sameFileMeta } from '../tuf/repo.js';
import { isDelegationName } from '../tuf/roles.js';
import { signerChanges, targetChanges } from './changes.js';
import { wrapError } from './errors.js';
import { initDockerRepository } from './init.js';
import { requirePassphrase } from './passphrases.js';
import { VALID_NAME } from './reference.js';
import { noteStaged, publishChanges, refreshRepo, registryUsername, signerKey, type DockerKeys, type DockerRepo } from './repository.js';
import { RELEASES_ROLE, releasedSignatures, signableRoles, targetsByName, type SignedTagRow } from './trustdata.js';

export interface SignTarget {
  sha256: Buffer;
  size: number;
  /** Where the digest came from: `--digest`, or the registry endpoint and media type. */
  source: string;
}

/** The manifest the registry holds for the image's tag. */
async function manifestTarget(d: DockerRepo): Promise<SignTarget> {
  const client = await d.registry();
  try {
    const m = await client.manifest(d.ref.tag!);
    return { sha256: m.sha256, size: m.size, source: `${client.baseUrl} (${m.mediaType})` };
  } finally {
    client.close();
  }
}

export interface SignEvents {
  /** What will be signed: the digest given, or the manifest the registry holds. */
  target(target: SignTarget): void;
  /** The upload is about to be signed and sent. */
  publishing(): void;
  /** The tag is signed already, for these digests and signers (the first row). */
  existing(first: SignedTagRow): void;
}

export type Signed =
  /** A new repository, with a signer named after the registry user, who signed the tag. */
  | { kind: 'created-with-signer'; signer: string }
  /** A new repository; the tag is signed with the repository key (no usable registry user). */
  | { kind: 'created' }
  | { kind: 'signed' }
  /** The tag is signed with this digest already in these roles: nothing was published. */
  | { kind: 'unchanged'; roles: string[] };

/** Signs the image's tag: the digest `pinned` (--digest), else the manifest the registry holds. */
export async function signImage(d: DockerRepo, keys: DockerKeys, pinned: SignTarget | undefined, events: SignEvents): Promise<Signed> {
  await noteStaged(d);
  const target = pinned ?? (await manifestTarget(d));
  events.target(target);
  try {
    return await d.locked(async () => {
      const remote = await d.connect('push,pull');
      try {
        if (!(await remote.exists())) return await createAndSign(d, remote, keys, target, events);
        return await signExisting(d, remote, keys, target, events, await refreshRepo(d, remote));
      } finally {
        remote.close();
      }
    });
  } catch (e) {
    throw wrapError(e, `failed to sign ${d.ref.name}:${d.ref.tag}`);
  }
}

async function createAndSign(d: DockerRepo, remote: NotaryRemote, keys: DockerKeys, target: SignTarget, events: SignEvents): Promise<Signed> {
  const tag = d.ref.tag!;
  requirePassphrase(keys.passphrases.interactive, d.env, 'root', `to create the repository ${d.gun}`);
  const user = await registryUsername(d);
  const role = user !== undefined ? `targets/${user}` : undefined;
  await initDockerRepository({ gun: d.gun, now: d.now, cache: d.cache, remote, keys: keys.access });
  if (role !== undefined && isDelegationName(role) && VALID_NAME.test(user!)) {
    const key = await signerKey(keys, user!);
    events.publishing();
    await publishChanges(d, remote, keys, [...signerChanges(role, [key]), ...targetChanges([role, RELEASES_ROLE], tag, target.sha256, target.size, 'create')]);
    return { kind: 'created-with-signer', signer: user! };
  }
  events.publishing();
  await publishChanges(d, remote, keys, targetChanges(['targets'], tag, target.sha256, target.size, 'create'));
  d.log(
    'warning',
    user === undefined
      ? `no registry login for ${d.ref.domain}, so no signer was created: ${tag} is signed with the repository key (targets); add signers with dtrust signer add`
      : `the registry user name ${JSON.stringify(user)} cannot name a signer role, so no signer was created: ${tag} is signed with the repository key (targets); add signers with dtrust signer add`,
  );
  return { kind: 'created' };
}

async function signExisting(d: DockerRepo, remote: NotaryRemote, keys: DockerKeys, target: SignTarget, events: SignEvents, builder: TrustedCollectionBuilder): Promise<Signed> {
  const tag = d.ref.tag!;
  const hex = target.sha256.toString('hex');
  const { roles } = signableRoles(builder, tag, keys.access.has, { gun: d.gun, image: d.ref.original, verb: 'sign' });
  const existing = releasedSignatures(targetsByName(builder, tag));
  events.publishing();
  const first = existing[0];
  if (first) events.existing(first);
  for (const row of existing) {
    if (row.digest !== hex) d.log('warning', `${tag} was signed for digest ${row.digest}; signing the new digest ${hex} replaces it in ${roles.join(', ')}`);
  }
  const meta = { length: target.size, hashes: new Map([['sha256', target.sha256]]) };
  const todo = roles.filter((r) => {
    const current = builder.targetsRoles.get(r)?.meta.targets.get(tag);
    return !current || !sameFileMeta(current, meta);
  });
  if (todo.length === 0) return { kind: 'unchanged', roles };
  await publishChanges(d, remote, keys, targetChanges(todo, tag, target.sha256, target.size, 'create'));
  return { kind: 'signed' };
}
