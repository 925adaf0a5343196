// The publish step of `publish`, `delegation cosign --publish` and every command's -p: under the
// GUN's lock, with this command's keys and server, through client/staged.ts; notary's messages,
// and what to do when the upload failed.

import { publishStaged } from '../client/staged.js';
import { RemoteError } from '../remote/errors.js';
import { CliError } from './errors.js';
import { keyAccess } from './keys.js';
import { connect, locked, type Session } from './session.js';

/** `publish`, and co-signed role files (`prepared`) published with whatever is staged. */
export async function pushChanges(s: Session, prepared?: Map<string, Buffer>): Promise<void> {
  s.ctx.app.output.out(`Pushing changes to ${s.gun}\n`);
  await publishNow(s, prepared);
}

/** A command's -p. */
export async function autoPublish(s: Session): Promise<void> {
  s.ctx.app.output.out(`Auto-publishing changes to ${s.gun}\n`);
  await publishNow(s);
}

async function publishNow(s: Session, prepared?: Map<string, Buffer>): Promise<void> {
  const out = s.ctx.app.output;
  await locked(s, async () => {
    const keys = await keyAccess(s.ctx);
    const remote = await connect(s, 'push,pull');
    try {
      let r;
      try {
        r = await publishStaged({
          gun: s.gun,
          now: s.ctx.app.now,
          cache: s.cache,
          changelist: s.changelist,
          remote,
          keys,
          pinning: s.cfg.trustPinning,
          warn: (m) => out.log('warning', m),
          prepared,
          onCreated: (c) => out.log('warning', `repository ${s.gun} was new (not on the server, not initialized here): initialized it with root key ${c.rootKeyId}`),
        });
      } catch (e) {
        throw explainPublishError(e, s.gun);
      }
      if (r.nothingToDo) {
        out.out(r.applied.length > 0 ? `The staged changes are already published; cleared them\n` : `No unpublished changes for ${s.gun}\n`);
        return;
      }
    } finally {
      remote.close();
    }
    out.out(`Successfully published changes for repository ${s.gun}\n`);
  });
}

function explainPublishError(e: unknown, gun: string): unknown {
  if (e instanceof RemoteError && e.code === 'REJECTED' && e.serverError?.code === 'VERSION') {
    return new CliError('VERSION', 'the server has newer metadata than this publish was based on', { hint: `run: dtrust publish ${gun} again (your staged changes are kept)` });
  }
  if (e instanceof RemoteError && e.code === 'REJECTED' && e.serverError?.detailMissing === 'snapshot') {
    return new CliError(
      'NO_SNAPSHOT_KEY',
      e.message,
      { hint: `this machine does not hold the snapshot key of ${gun} and the server does not either; the repository owner can let the server manage it: dtrust key rotate ${gun} snapshot -r` },);
  }
  if (e instanceof RemoteError && e.code === 'UNKNOWN_OUTCOME') {
    return new CliError('UNKNOWN_OUTCOME', 'the connection dropped after the upload was sent; it may or may not have been published', { hint: `run: dtrust publish ${gun} again (your staged changes are kept)` });
  }
  return e;
}
