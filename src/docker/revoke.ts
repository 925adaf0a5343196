// `revoke IMAGE[:TAG]` (cli.md §11.6): the tag (or every signed tag) removed from each role this
// machine can sign that holds it, and from targets too when its key is here.

import type { StagedChange } from '../storage/changelist.js';
import type { TrustedCollectionBuilder } from '../tuf/builder.js';
import { targetChanges } from './changes.js';
import { DockerError, isDockerError, wrapError } from './errors.js';
import { noteStaged, publishChanges, refreshRepo, type DockerKeys, type DockerRepo } from './repository.js';
import { RELEASES_ROLE, holdsTargetsKey, roleHasTarget, signableRoles, targetsByName } from './trustdata.js';

export async function revokeImage(d: DockerRepo, keys: DockerKeys): Promise<void> {
  await noteStaged(d);
  try {
    await d.locked(async () => {
      const remote = await d.connect('push,pull');
      try {
        const builder = await refreshRepo(d, remote);
        const changes: StagedChange[] = [];
        for (const name of signedTags(d, builder)) changes.push(...targetChanges(rolesHolding(d, keys, builder, name), name, Buffer.alloc(0), 0, 'delete'));
        await publishChanges(d, remote, keys, changes);
      } finally {
        remote.close();
      }
    });
  } catch (e) {
    throw wrapError(e, `could not remove signature for ${d.ref.original}`);
  }
}

/** The image's tag, or every tag signed in targets/releases or targets. */
function signedTags(d: DockerRepo, builder: TrustedCollectionBuilder): string[] {
  const { tag, original: image } = d.ref;
  if (tag !== undefined) {
    const e = builder.lookup(tag, [RELEASES_ROLE]) ?? builder.lookup(tag, ['targets']);
    if (!e) throw new DockerError('NOT_SIGNED', `No valid trust data for ${tag}`, { hint: `see what is signed with: dtrust inspect --pretty ${image.slice(0, image.length - tag.length - 1)}` });
    return [tag];
  }
  const names = builder.listTargets([RELEASES_ROLE, 'targets']).map((e) => e.name);
  if (names.length === 0) throw new DockerError('NOT_SIGNED', 'no signed tags to remove', { hint: `see what is signed with: dtrust inspect --pretty ${image}` });
  return names;
}

/** The roles to remove `name` from: those this machine can sign that hold it. */
function rolesHolding(d: DockerRepo, keys: DockerKeys, builder: TrustedCollectionBuilder, name: string): string[] {
  let roles: string[] = [];
  let noRole: unknown;
  try {
    roles = signableRoles(builder, name, keys.access.has, { gun: d.gun, image: d.ref.original, verb: 'revoke' }).roles;
  } catch (e) {
    if (!isDockerError(e, 'NO_SIGNABLE_ROLE')) throw e;
    noRole = e;
  }
  const holding = roles.filter((r) => roleHasTarget(builder, r, name));
  // docker never touches targets once signers exist, so a tag the owner signed into targets
  // before stays pullable after "revoke": remove it there too when the targets key is here.
  if (!holding.includes('targets') && roleHasTarget(builder, 'targets', name) && holdsTargetsKey(builder, keys.access.has)) holding.push('targets');
  if (holding.length === 0 && noRole !== undefined) throw noRole;
  if (holding.length === 0) {
    const where = targetsByName(builder, name).map((t) => t.role);
    throw new DockerError(
      'NO_SIGNABLE_ROLE',
      `${name} is signed only in ${[...new Set(where)].join(', ')}, and this machine holds no key of ${where.length === 1 ? 'that role' : 'those roles'}`,
      { hint: 'revoke it where a key of those roles is, or load one: dtrust key load <key.pem> --name <signer>' },);
  }
  return holding;
}
