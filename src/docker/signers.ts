// `signer add` and `signer remove` (cli.md §11.7, §11.8): a signer's keys as targets/<name> and in
// targets/releases, in a repository created first when it does not exist; a signer removed from
// both, after a question when the last release would no longer have enough signatures.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { encodeDelegationData } from '../client/changes.js';
import { delegationKeyFromPem } from '../client/delegations.js';
import { describeError } from '../client/errors.js';
import type { StagedChange } from '../storage/changelist.js';
import type { TrustedCollectionBuilder } from '../tuf/builder.js';
import type { PublicKey } from '../tuf/keys.js';
import { change, signerChanges } from './changes.js';
import { DockerError, wrapError } from './errors.js';
import { initDockerRepository } from './init.js';
import { requirePassphrase } from './passphrases.js';
import { noteStaged, publishChanges, refreshRepo, type DockerKeys, type DockerRepo } from './repository.js';
import { RELEASES_ROLE, delegationRoles, roleSignatures } from './trustdata.js';

const MAX_PUBLIC_KEY_FILE = 1024 * 1024;

/** A signer's public keys from PEM files (names as the user gave them, relative to `cwd`). */
export async function readSignerKeys(cwd: string, now: number, files: readonly string[]): Promise<PublicKey[]> {
  const out: PublicKey[] = [];
  for (const f of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(resolve(cwd, f));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
      throw new DockerError('KEY_FILE', `unable to read public key from file: open ${f}: ${why}`, { hint: "pass the signer's public key file, e.g. the NAME.pub that dtrust key generate NAME wrote" });
    }
    const text = bytes.subarray(0, MAX_PUBLIC_KEY_FILE).toString('latin1');
    try {
      out.push(delegationKeyFromPem(text, f, now));
    } catch (e) {
      const { message, hint } = describeError(e);
      throw new DockerError('KEY_FILE', `could not parse public key from file: ${f}: ${message.replace(/^unable to parse valid public key certificate from PEM file \S+: /, '')}`, { hint: hint ?? 'pass a PEM file with a PUBLIC KEY or CERTIFICATE block' });
    }
  }
  return out;
}

export interface AddSignerEvents {
  /** The repository does not exist: it is being created, and was. */
  initializing(): void;
  initialized(): void;
}

export async function addSigner(d: DockerRepo, keys: DockerKeys, name: string, pubKeys: PublicKey[], events: AddSignerEvents): Promise<void> {
  await noteStaged(d);
  await d.locked(async () => {
    const remote = await d.connect('push,pull');
    try {
      if (!(await remote.exists())) {
        events.initializing();
        requirePassphrase(keys.passphrases.interactive, d.env, 'root', `to create the repository ${d.gun}`);
        await initDockerRepository({ gun: d.gun, now: d.now, cache: d.cache, remote, keys: keys.access });
        events.initialized();
      } else {
        await refreshRepo(d, remote);
      }
      try {
        await publishChanges(d, remote, keys, signerChanges(`targets/${name}`, pubKeys));
      } catch (e) {
        throw wrapError(e, `could not add signer to repo: ${name}`);
      }
    } finally {
      remote.close();
    }
  });
}

export interface RemoveSignerOptions {
  /** Remove without asking, even when the last release would lose its signatures. */
  force: boolean;
  /** Asked otherwise in that case; false: the signer stays. */
  confirm: () => Promise<boolean>;
}

/** Removes the signer; false when the user kept it. */
export async function removeSigner(d: DockerRepo, keys: DockerKeys, name: string, opts: RemoveSignerOptions): Promise<boolean> {
  await noteStaged(d);
  const role = `targets/${name}`;
  const repo = d.ref.original;
  return d.locked(async () => {
    const remote = await d.connect('push,pull');
    try {
      let builder: TrustedCollectionBuilder;
      try {
        builder = await refreshRepo(d, remote);
      } catch (e) {
        throw wrapError(e, `error retrieving signers for ${repo}`);
      }
      const delegations = delegationRoles(builder);
      const signer = delegations.find((r) => r.name === role);
      if (!signer) {
        const names = delegations.filter((r) => r.name !== RELEASES_ROLE).map((r) => r.name.slice('targets/'.length));
        throw new DockerError('NO_SUCH_SIGNER', `no signer ${name} for repository ${repo}`, { hint: names.length > 0 ? `its signers are: ${names.join(', ')}` : 'the repository has no signers' });
      }
      const releases = delegations.find((r) => r.name === RELEASES_ROLE);
      if (releases && !opts.force && isLastSignerForReleases(builder, releases.threshold, signer.keyIds) && !(await opts.confirm())) return false;
      const changes: StagedChange[] = [];
      if (releases && releases.keyIds.some((id) => signer.keyIds.includes(id))) {
        changes.push(change({ action: 'update', scope: RELEASES_ROLE, type: 'delegation', path: '', data: encodeDelegationData({ removeKeys: signer.keyIds }) }, 0));
      }
      changes.push(change({ action: 'delete', scope: role, type: 'delegation', path: '', data: null }, 1));
      await publishChanges(d, remote, keys, changes);
      return true;
    } finally {
      remote.close();
    }
  });
}

/**
 * docker's isLastSignerForReleases, except that a targets/releases that was never signed is no
 * reason to refuse (cli.md §12 #30): the signatures left once this signer's keys are gone fall
 * below the role's threshold.
 */
function isLastSignerForReleases(builder: TrustedCollectionBuilder, threshold: number, signerIds: readonly string[]): boolean {
  const sigs = roleSignatures(builder, RELEASES_ROLE);
  if (sigs.length === 0) return false;
  const left = sigs.filter((s) => !signerIds.includes(s.canonicalId)).length;
  return left < threshold;
}
