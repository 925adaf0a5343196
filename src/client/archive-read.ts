// Reads from a trust archive (list, lookup, verify, inspect and verify-image with --archive):
// the repository's files verified as of its capture time, the archive's integrity checked, and
// the root checked against the root of trust (the configuration's trust_pinning for reads).

import { open } from 'node:fs/promises';
import { goFileError } from '../fs/errno.js';
import type { TrustedCollectionBuilder } from '../tuf/builder.js';
import { openArchive, verifyArchive, verifyArchivedRepo, type ArchivedRepo, type Manifest } from './archive.js';
import { ClientError } from './errors.js';
import { checkRootOfTrust, type RootOfTrust, type RootVerdict } from './rootoftrust.js';

/** Archives beyond this are refused before they are read (a few thousand repositories fit). */
export const MAX_ARCHIVE_SIZE = 2 * 1024 * 1024 * 1024 - 1;

export async function readArchiveFile(path: string, shown: string): Promise<Buffer> {
  try {
    const f = await open(path, 'r');
    try {
      const size = (await f.stat()).size;
      if (size > MAX_ARCHIVE_SIZE) throw new ClientError('ARCHIVE_INVALID', `${shown} is ${size} bytes, more than an archive dtrust reads (${MAX_ARCHIVE_SIZE})`, { hint: 'split the repositories over several archives' });
      return await f.readFile();
    } finally {
      await f.close();
    }
  } catch (e) {
    if (e instanceof ClientError) throw e;
    throw new ClientError('ARCHIVE_INVALID', `cannot read the archive: ${goFileError(e, shown)}`, { hint: 'pass the file dtrust archive -o wrote' }, e);
  }
}

export interface ArchivedCollection {
  builder: TrustedCollectionBuilder;
  capturedAt: string;
  verdict: RootVerdict;
}

/** One repository of an archive, verified as of its capture time. */
export async function archivedCollection(path: string, shown: string, gun: string, anchor: RootOfTrust): Promise<ArchivedCollection> {
  const a = openArchive(await readArchiveFile(path, shown), shown);
  const r = verifyArchivedRepo(a, gun);
  return { builder: r.builder, capturedAt: r.manifest.capturedAt, verdict: await checkRootOfTrust(r.builder, anchor) };
}

export interface VerifiedArchive {
  manifest: Manifest;
  repos: (ArchivedRepo & { verdict: RootVerdict })[];
}

/** `archive verify`: every repository, the manifest, and each root against the root of trust. */
export async function verifyArchiveFile(path: string, shown: string, anchor: RootOfTrust): Promise<VerifiedArchive> {
  const { manifest, repos } = verifyArchive(await readArchiveFile(path, shown), shown);
  const out: VerifiedArchive['repos'] = [];
  for (const r of repos) out.push({ ...r, verdict: await checkRootOfTrust(r.builder, anchor) });
  return { manifest, repos: out };
}
