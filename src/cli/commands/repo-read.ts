// The read commands: list, lookup and verify. Apart from the write commands (repo-run.ts) so
// that a read initialises only what it uses: no changelist, signing or key store.

import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { openPayload, PayloadError, stdinPayload, type Digests, type Payload } from '../../client/payload.js';
import { compareUtf8 } from '../../tuf/canonical.js';
import type { FileMeta } from '../../tuf/metadata.js';
import type { Ctx } from '../app.js';
import { CliError, openError, UsageError } from '../errors.js';
import { openSession, refresh } from '../session.js';
import { stdout } from '../stdio.js';
import { tableChunks } from '../table.js';

type Opts = Record<string, unknown>;
const opts = (ctx: Ctx): Opts => ctx.cmd.opts();

export async function list(ctx: Ctx, gun: string | undefined): Promise<void> {
  const s = await openSession(ctx, gun);
  const o = opts(ctx);
  const roles = Array.isArray(o.roles) ? (o.roles as string[]).filter((r) => r !== '') : undefined;
  const { builder } = await refresh(s);
  const out = ctx.app.output;
  // Go sorts names by their bytes: UTF-8 order, which compareUtf8 gives without encoding
  // (listTargetSummaries comes in that order).
  if (o.json) {
    const entries = builder.listTargets(roles).sort((a, b) => compareUtf8(a.name, b.name));
    out.out(
      JSON.stringify(
        entries.map((e) => ({ name: e.name, digest: e.meta.hashes.get('sha256')?.toString('hex') ?? '', size: e.meta.length, role: e.role, hashes: hashesJson(e.meta) })),
        null,
        2,
      ) + '\n',
    );
    return;
  }
  const rows = builder.listTargetSummaries(roles);
  if (rows[Symbol.iterator]().next().done) {
    out.out('\nNo targets present in this repository.\n\n');
    return;
  }
  // Written piece by piece as stdout takes it: a pipe read slowly must not hold the whole table.
  for (const text of tableChunks(['NAME', 'DIGEST', 'SIZE (BYTES)', 'ROLE'], rows, (t) => [t.name, t.sha256, String(t.length), t.role])) {
    out.out(text);
    await out.drain();
  }
}

function hashesJson(meta: FileMeta): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [alg, h] of meta.hashes) o[alg] = h.toString('hex');
  return o;
}

export async function lookup(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 2) throw new UsageError('Must specify a GUN and target');
  const [gun, target] = args as [string, string];
  const s = await openSession(ctx, gun);
  const { builder } = await refresh(s);
  const e = builder.lookup(target);
  if (!e) throw new CliError('NOT_FOUND', `No valid trust data for ${target}`, { hint: `list what the repository holds with: dtrust list ${s.gun}` });
  const hex = e.meta.hashes.get('sha256')?.toString('hex') ?? '';
  if (opts(ctx).json) {
    ctx.app.output.out(JSON.stringify({ name: e.name, digest: hex, size: e.meta.length, role: e.role, hashes: hashesJson(e.meta) }, null, 2) + '\n');
  } else ctx.app.output.out(`${e.name} sha256:${hex} ${e.meta.length}\n`);
}

/**
 * The payload is hashed while the metadata is refreshed (constant memory, see client/payload.ts)
 * and written out only when it matches.
 */
export async function verify(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 2) throw new UsageError('Must specify a GUN and target');
  const [gun, target] = args as [string, string];
  const o = opts(ctx);
  const s = await openSession(ctx, gun);
  const input = typeof o.input === 'string' ? o.input : undefined;
  let payload: Payload;
  if (input !== undefined) {
    // As notary, the payload is opened before the metadata is fetched: a missing file fails first.
    try {
      payload = await openPayload(resolve(ctx.app.cwd, input), { hashOnly: o.quiet === true });
    } catch (e) {
      throw e instanceof PayloadError ? e : openError(e, input);
    }
  } else payload = await stdinPayload();
  try {
    const found = refresh(s).then(({ builder }) => builder.lookup(target));
    found.catch(() => undefined);
    // As notary, the whole payload is read before the metadata is judged: its errors come first.
    let got: Digests;
    try {
      got = await payload.digests();
    } catch (e) {
      if (e instanceof PayloadError) throw e;
      throw input !== undefined ? openError(e, input) : new CliError('STDIN', `Error reading content from STDIN: ${(e as Error).message}`);
    }
    const e = await found;
    if (!e) throw new CliError('NOT_FOUND', `error retrieving target by name:${target}, error:No valid trust data for ${target}`, { hint: `list what the repository holds with: dtrust list ${s.gun}` });
    checkPayload(target, e.meta, got);
    if (o.quiet) return;
    if (typeof o.output === 'string') {
      let fh;
      try {
        fh = await open(resolve(ctx.app.cwd, o.output), 'w', 0o600);
      } catch (err) {
        throw openError(err, o.output);
      }
      try {
        await payload.writeToFile(fh);
      } catch (e) {
        // Bytes that may not be the verified ones are not left behind.
        if (e instanceof PayloadError) await fh.truncate(0).catch(() => undefined);
        throw e;
      } finally {
        await fh.close();
      }
    } else await payload.writeToStream(stdout.asStream());
  } finally {
    await payload.close();
  }
}

function checkPayload(target: string, meta: FileMeta, got: Digests): void {
  let known = 0;
  for (const alg of ['sha256', 'sha512'] as const) {
    const want = meta.hashes.get(alg);
    if (!want) continue;
    known++;
    if (!want.equals(got[alg])) {
      throw new CliError('CHECKSUM', `data not present in the trusted collection, ${alg} checksum for ${target} did not match: expected ${want.toString('hex')}`, { hint: 'the content differs from what was signed; do not use it' });
    }
  }
  if (known === 0) throw new CliError('CHECKSUM', `data not present in the trusted collection, no checksums for supported algorithms were provided for ${target}`);
  if (got.length !== meta.length) {
    throw new CliError('CHECKSUM', `data not present in the trusted collection, length for ${target} did not match: expected ${meta.length}, got ${got.length}`, { hint: 'the content differs from what was signed; do not use it' });
  }
}
