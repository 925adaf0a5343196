// A GUN's staged changes. `publish` and every command's --publish: they (and role files co-signed
// elsewhere) go through the write path (publish.ts); a role signed below its threshold is kept
// for its co-signers (pending.ts); then the server's new timestamp is verified into the cache.
// `status --unstage` and `reset -n`: some of them are dropped.

import type { Changelist } from '../storage/changelist.js';
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

/** Drops the staged changes with these numbers (as `status` lists them, unreadable ones too). */
export async function unstage(changelist: Changelist, numbers: readonly number[]): Promise<void> {
  const { changes, corrupt } = await changelist.list();
  const files = [...changes, ...corrupt].filter((c) => numbers.includes(c.index)).map((c) => c.file);
  await changelist.remove(files);
}
