// `publish` and every command's --publish: the staged changes of a GUN (and role files co-signed
// elsewhere) go through the write path (publish.ts); a role signed below its threshold is kept
// for its co-signers (pending.ts); then the server's new timestamp is verified into the cache.

import { publish, type PublishOptions, type PublishResult } from './publish.js';
import { savePending } from './pending.js';
import { refreshTimestamp } from './update.js';

export type PublishStagedOptions = Omit<PublishOptions, 'staged' | 'extraChanges' | 'legacyRootVersions' | 'savePartial'>;

export async function publishStaged(opts: PublishStagedOptions): Promise<PublishResult> {
  const r = await publish({ ...opts, savePartial: (role, bytes) => savePending(opts.cache, role, bytes) });
  if (!r.nothingToDo) await refreshAfterPublish(opts);
  return r;
}

/**
 * So that reads work offline right away (cli.md §12 #20), the server's new timestamp (and
 * snapshot, when the server signs it) is verified into the cache. The publish itself succeeded;
 * a failure here is only reported.
 */
async function refreshAfterPublish(opts: PublishStagedOptions): Promise<void> {
  try {
    await refreshTimestamp({ gun: opts.gun, now: opts.now, cache: opts.cache, remote: opts.remote, pinning: opts.pinning, warn: () => undefined });
  } catch (e) {
    opts.warn(`published, but could not refresh the local cache of ${opts.gun}: ${(e as Error).message}`);
  }
}
