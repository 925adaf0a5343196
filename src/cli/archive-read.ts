// `--archive FILE` of the read commands: the repository from a trust archive, verified as of its
// capture time, with the root checked against the configuration's trust_pinning (or the given
// root of trust), and one line saying the answer is as of that time.

import { resolve } from 'node:path';
import { archivedCollection, type ArchivedCollection } from '../client/archive-read.js';
import type { RootOfTrust } from '../client/rootoftrust.js';
import type { Ctx } from './app.js';

export async function fromArchive(ctx: Ctx, file: string, gun: string, anchor?: RootOfTrust): Promise<ArchivedCollection> {
  const root = anchor ?? { kind: 'config', pinning: (await ctx.config()).trustPinning };
  const c = await archivedCollection(resolve(ctx.app.cwd, file), file, gun, root);
  ctx.app.output.log('warning', `answer from the archive ${file}: the trust data of ${gun} as of its capture time ${c.capturedAt}`);
  return c;
}
