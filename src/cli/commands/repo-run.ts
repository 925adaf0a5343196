// Repository command implementations (cli.md §9.1-§9.12) other than the reads (repo-read.ts) and
// the staging (repo-stage.ts): init, publish, status, reset and delete, with notary's messages and tables.

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { initRepository } from '../../client/init.js';
import { publish as publishRepo } from '../../client/publish.js';
import { RemoteError } from '../../remote/errors.js';
import type { NotaryRemote } from '../../remote/notary.js';
import { refreshTimestamp } from '../../client/update.js';
import type { Ctx } from '../app.js';
import { CliError, UsageError } from '../errors.js';
import { formatTable } from '../table.js';
import { connect, locked, openSession, type Session } from '../session.js';
import { keyAccess } from '../keys.js';

type Opts = Record<string, unknown>;
const opts = (ctx: Ctx): Opts => ctx.cmd.opts();

// ---------------------------------------------------------------------------------------------
// init and publish

export async function init(ctx: Ctx, gun: string | undefined): Promise<void> {
  const s = await openSession(ctx, gun);
  const o = opts(ctx);
  await locked(s, async () => {
    const keys = await keyAccess(s.ctx);
    let rootKeyId: string | undefined;
    if (typeof o.rootkey === 'string') rootKeyId = await keys.importKeyFile(resolve(ctx.app.cwd, o.rootkey), 'root', '');
    const rootCert = typeof o.rootcert === 'string' ? await readRootCert(resolve(ctx.app.cwd, o.rootcert)) : undefined;
    const remote = await connect(s, 'push,pull');
    try {
      await initRepository({
        gun: s.gun,
        now: ctx.app.now,
        cache: s.cache,
        remote,
        keys,
        rootKeyId,
        rootCert,
        pinning: s.cfg.trustPinning,
        onRootKeyFound: (id) => ctx.app.output.out(`Root key found, using: ${id}\n`),
      });
    } finally {
      remote.close();
    }
  });
  if (o.publish) await autoPublish(s);
}

async function readRootCert(path: string): Promise<Buffer> {
  const { decodePemBlocks } = await import('../../crypto/pem.js');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CliError('ROOT_CERT', `error reading certificate file: ${(e as Error).message}`);
  }
  const block = decodePemBlocks(text)[0];
  if (!block || block.type !== 'CERTIFICATE') {
    throw new CliError('ROOT_CERT', 'the provided file does not contain a valid PEM certificate', 'pass a PEM file that starts with -----BEGIN CERTIFICATE-----');
  }
  return block.bytes;
}

export async function publish(ctx: Ctx, gun: string | undefined): Promise<void> {
  const s = await openSession(ctx, gun);
  ctx.app.output.out(`Pushing changes to ${s.gun}\n`);
  await publishNow(s);
}

export async function autoPublish(s: Session): Promise<void> {
  s.ctx.app.output.out(`Auto-publishing changes to ${s.gun}\n`);
  await publishNow(s);
}

/** Publishes co-signed role files (and whatever is staged). */
export async function publishPrepared(s: Session, prepared: Map<string, Buffer>): Promise<void> {
  s.ctx.app.output.out(`Pushing changes to ${s.gun}\n`);
  await publishNow(s, prepared);
}

async function publishNow(s: Session, prepared?: Map<string, Buffer>): Promise<void> {
  const out = s.ctx.app.output;
  await locked(s, async () => {
    const keys = await keyAccess(s.ctx);
    const remote = await connect(s, 'push,pull');
    try {
      let r;
      try {
        r = await publishRepo({
          gun: s.gun,
          now: s.ctx.app.now,
          cache: s.cache,
          changelist: s.changelist,
          remote,
          keys,
          pinning: s.cfg.trustPinning,
          warn: (m) => out.log('warning', m),
          savePartial: (role, bytes) => savePending(s, role, bytes),
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
      await refreshAfterPublish(s, remote);
    } finally {
      remote.close();
    }
    out.out(`Successfully published changes for repository ${s.gun}\n`);
  });
}

/**
 * After a publish, the server's new timestamp (and snapshot, when the server signs it) is fetched
 * and verified into the cache, so that reads work offline right away (cli.md §12 #20). The
 * publish itself succeeded; a failure here is only reported.
 */
async function refreshAfterPublish(s: Session, remote: NotaryRemote): Promise<void> {
  try {
    await refreshTimestamp({ gun: s.gun, now: s.ctx.app.now, cache: s.cache, remote, pinning: s.cfg.trustPinning, warn: () => undefined });
  } catch (e) {
    s.ctx.app.output.log('warning', `published, but could not refresh the local cache of ${s.gun}: ${(e as Error).message}`);
  }
}

/** Where a role signed below its threshold waits for co-signers: `tuf/<gun>/pending/<role>.json`. */
export async function savePending(s: Session, role: string, bytes: Buffer): Promise<string> {
  const { ensurePrivateDir, writeFileAtomic } = await import('../../storage/atomic.js');
  const dir = await ensurePrivateDir(s.cache.dir, `pending/${role.slice(0, role.lastIndexOf('/'))}`);
  const path = join(dir, `${role.slice(role.lastIndexOf('/') + 1)}.json`);
  await writeFileAtomic(path, bytes, { base: s.cache.dir });
  return path;
}

function explainPublishError(e: unknown, gun: string): unknown {
  if (e instanceof RemoteError && e.code === 'REJECTED' && e.serverError?.code === 'VERSION') {
    return new CliError('VERSION', 'the server has newer metadata than this publish was based on', `run: dtrust publish ${gun} again (your staged changes are kept)`);
  }
  if (e instanceof RemoteError && e.code === 'REJECTED' && e.serverError?.detailMissing === 'snapshot') {
    return new CliError(
      'NO_SNAPSHOT_KEY',
      e.message,
      `this machine does not hold the snapshot key of ${gun} and the server does not either; the repository owner can let the server manage it: dtrust key rotate ${gun} snapshot -r`,
    );
  }
  if (e instanceof RemoteError && e.code === 'SERVER_ERROR' && e.resource === 'POST metadata endpoint' && (e.status ?? 0) >= 500) {
    // A proxy or the server may fail after the upload took effect (NF-10): as for a cut connection.
    return new CliError('UNKNOWN_OUTCOME', e.message, `the upload may or may not have been published: run: dtrust publish ${gun} again (your staged changes are kept)`);
  }
  if (e instanceof RemoteError && e.code === 'UNKNOWN_OUTCOME') {
    return new CliError('UNKNOWN_OUTCOME', 'the connection dropped after the upload was sent; it may or may not have been published', `run: dtrust publish ${gun} again (your staged changes are kept)`);
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// changelist

export async function status(ctx: Ctx, gun: string | undefined): Promise<void> {
  const s = await openSession(ctx, gun);
  const o = opts(ctx);
  if (Array.isArray(o.unstage)) await locked(s, () => resetNumbers(s, o.unstage as number[]));
  const { changes, corrupt } = await s.changelist.list();
  const out = ctx.app.output;
  for (const c of corrupt) out.log('warning', `change #${c.index} (${c.file}) cannot be read: ${c.reason}; remove it with: dtrust reset ${s.gun} -n ${c.index}`);
  if (o.json) {
    out.out(
      JSON.stringify(
        [
          ...changes.map((c) => ({ index: c.index, action: c.action, scope: c.scope, type: c.type, path: c.path, file: c.file })),
          ...corrupt.map((c) => ({ index: c.index, corrupt: true, reason: c.reason, file: c.file })),
        ].sort((a, b) => a.index - b.index),
        null,
        2,
      ) + '\n',
    );
    return;
  }
  if (changes.length === 0 && corrupt.length === 0) {
    out.out(`No unpublished changes for ${s.gun}\n`);
    return;
  }
  const rows = [
    ...changes.map((c) => ({ i: c.index, row: [String(c.index), c.action, c.scope, c.type, c.path] })),
    ...corrupt.map((c) => ({ i: c.index, row: [String(c.index), 'CORRUPT', '', '', c.file] })),
  ].sort((a, b) => a.i - b.i);
  out.out(`Unpublished changes for ${s.gun}:\n\n` + formatTable(['#', 'ACTION', 'SCOPE', 'TYPE', 'PATH'], rows.map((r) => r.row)));
}

export async function reset(ctx: Ctx, gun: string | undefined): Promise<void> {
  if (gun === undefined) throw new UsageError('Must specify a GUN');
  const o = opts(ctx);
  if (!o.all && !Array.isArray(o.number)) throw new UsageError('Must specify changes to reset with -n or the --all flag');
  const s = await openSession(ctx, gun);
  await locked(s, async () => {
    if (o.all) await s.changelist.clear();
    else await resetNumbers(s, o.number as number[]);
  });
  ctx.app.output.out(`Successfully reset specified changes for repository ${s.gun}\n`);
}

async function resetNumbers(s: Session, numbers: number[]): Promise<void> {
  const { changes, corrupt } = await s.changelist.list();
  const files = [...changes, ...corrupt].filter((c) => numbers.includes(c.index)).map((c) => c.file);
  await s.changelist.remove(files);
}

/** `delete`: with --remote the server is asked first; local data goes only once it confirmed (cli.md §12 #9). */
export async function deleteRepo(ctx: Ctx, gun: string | undefined): Promise<void> {
  const s = await openSession(ctx, gun);
  const o = opts(ctx);
  const out = ctx.app.output;
  out.out(`Deleting trust data for repository ${s.gun}\n`);
  await locked(s, async () => {
    if (o.remote) {
      const remote = await connect(s, '*');
      try {
        await remote.deleteRepo();
      } finally {
        remote.close();
      }
    }
    await s.cache.removeAll();
  });
  out.out(o.remote ? `Successfully deleted local and remote trust data for repository ${s.gun}\n` : `Successfully deleted local trust data for repository ${s.gun}\n`);
}
