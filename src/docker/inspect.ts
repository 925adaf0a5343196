// `inspect IMAGE[:TAG]` (cli.md §11.5): the signed tags, the signers and the administrative keys
// of a repository, from the trust server or, when it cannot be reached, the verified cache.

import { describeError } from '../client/errors.js';
import { RemoteError } from '../remote/errors.js';
import type { NotaryRemote } from '../remote/notary.js';
import type { TrustedCollectionBuilder } from '../tuf/builder.js';
import { DockerError } from './errors.js';
import type { InspectData } from './format.js';
import { refreshRepo, type DockerRepo } from './repository.js';
import { adminKeys, delegationRoles, releasedSignatures, signerKeys, targetsByName } from './trustdata.js';

export async function trustInfo(d: DockerRepo): Promise<InspectData> {
  let builder: TrustedCollectionBuilder;
  try {
    let remote: NotaryRemote | null = null;
    let offline: Error | undefined;
    try {
      remote = await d.connect('pull');
    } catch (e) {
      if (!(e instanceof RemoteError && (e.code === 'OFFLINE' || e.code === 'TIMEOUT'))) throw e;
      d.log('warning', `${e.message}; using the cached trust data`);
      offline = e;
    }
    try {
      builder = await refreshRepo(d, remote, offline);
    } finally {
      remote?.close();
    }
  } catch (e) {
    const { message, hint } = describeError(e);
    throw new DockerError('NOT_SIGNED', `no signatures or cannot access ${d.ref.original}`, { hint: `${message}${hint ? `; ${hint}` : ''}` }, e);
  }
  const rows = releasedSignatures(targetsByName(builder, d.ref.tag));
  const admin = adminKeys(builder);
  return { rows, signers: signerKeys(delegationRoles(builder)), rootKeyIds: admin.root, targetsKeyIds: admin.targets };
}
