// Repository command implementations (cli.md §9.1-§9.12) other than the reads (repo-read.ts) and
// the staging (repo-stage.ts): init, publish, status, reset and delete, with notary's messages and tables.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { deleteTrustData } from '../../client/delete.js';
import { initRepository } from '../../client/init.js';
import { unstage } from '../../client/staged.js';
import type { Ctx } from '../app.js';
import { CliError, UsageError } from '../errors.js';
import { formatTable } from '../table.js';
import { autoPublish, pushChanges } from '../publishing.js';
import { connect, locked, openSession } from '../session.js';
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
    throw new CliError('ROOT_CERT', 'the provided file does not contain a valid PEM certificate', { hint: 'pass a PEM file that starts with -----BEGIN CERTIFICATE-----' });
  }
  return block.bytes;
}

export async function publish(ctx: Ctx, gun: string | undefined): Promise<void> {
  await pushChanges(await openSession(ctx, gun));
}

// ---------------------------------------------------------------------------------------------
// changelist

export async function status(ctx: Ctx, gun: string | undefined): Promise<void> {
  const s = await openSession(ctx, gun);
  const o = opts(ctx);
  if (Array.isArray(o.unstage)) await locked(s, () => unstage(s.changelist, o.unstage as number[]));
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
    else await unstage(s.changelist, o.number as number[]);
  });
  ctx.app.output.out(`Successfully reset specified changes for repository ${s.gun}\n`);
}

/** `delete`: with --remote the server is asked first; local data goes only once it confirmed (cli.md §12 #9). */
export async function deleteRepo(ctx: Ctx, gun: string | undefined): Promise<void> {
  const s = await openSession(ctx, gun);
  const o = opts(ctx);
  const out = ctx.app.output;
  out.out(`Deleting trust data for repository ${s.gun}\n`);
  await locked(s, async () => {
    const remote = o.remote ? await connect(s, '*') : undefined;
    try {
      await deleteTrustData(s.cache, remote);
    } finally {
      remote?.close();
    }
  });
  out.out(o.remote ? `Successfully deleted local and remote trust data for repository ${s.gun}\n` : `Successfully deleted local trust data for repository ${s.gun}\n`);
}
