// Repository command implementations (cli.md §9.1-§9.12) other than the reads (repo-read.ts):
// init, add, addhash, remove, witness, publish, status, reset and delete, with notary's messages and tables.

import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { encodeTargetData } from '../../client/changes.js';
import { initRepository } from '../../client/init.js';
import { publish as publishRepo } from '../../client/publish.js';
import { RemoteError } from '../../remote/errors.js';
import type { NotaryRemote } from '../../remote/notary.js';
import { refreshTimestamp } from '../../client/update.js';
import type { Change } from '../../storage/changelist.js';
import { parseJson, type Json } from '../../tuf/json.js';
import type { FileMeta } from '../../tuf/metadata.js';
import { isDelegationName } from '../../tuf/roles.js';
import type { Ctx } from '../app.js';
import { CliError, openError, UsageError } from '../errors.js';
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
  if (e instanceof RemoteError && e.code === 'UNKNOWN_OUTCOME') {
    return new CliError('UNKNOWN_OUTCOME', 'the connection dropped after the upload was sent; it may or may not have been published', `run: dtrust publish ${gun} again (your staged changes are kept)`);
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// staging

export async function add(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 3) throw new UsageError('Must specify a GUN, target, and path to target data');
  const [gun, target, file] = args as [string, string, string];
  const s = await openSession(ctx, gun);
  const o = opts(ctx);
  const custom = await readCustom(ctx, o);
  const { length, sha256: h256, sha512: h512 } = await hashFile(resolve(ctx.app.cwd, file), file);
  const meta: FileMeta = { length, hashes: new Map([['sha256', h256], ['sha512', h512]]) };
  if (custom !== undefined) meta.custom = custom;
  await stageTargets(s, target, meta, rolesOf(o));
  ctx.app.output.out(`Addition of target "${target}" to repository "${s.gun}" staged for next publish.\n`);
  if (o.publish) await autoPublish(s);
}

export async function addhash(ctx: Ctx, args: string[]): Promise<void> {
  const o = opts(ctx);
  const msg = 'Must specify a GUN, target, byte size of target data, and at least one hash';
  // As notary: an empty --sha256 "" counts as not given.
  const h256 = typeof o.sha256 === 'string' && o.sha256 !== '' ? o.sha256 : undefined;
  const h512 = typeof o.sha512 === 'string' && o.sha512 !== '' ? o.sha512 : undefined;
  if (args.length < 3 || (h256 === undefined && h512 === undefined)) throw new UsageError(msg);
  const [gun, target, size] = args as [string, string, string];
  // notary's order of checks: configuration and GUN, custom data, size, hashes.
  const s = await openSession(ctx, gun);
  const custom = await readCustom(ctx, o);
  const length = parseGoInt(size);
  const hashes = new Map<string, Buffer>();
  if (h256 !== undefined) hashes.set('sha256', parseHex(h256, 32, 'sha256'));
  if (h512 !== undefined) hashes.set('sha512', parseHex(h512, 64, 'sha512'));
  const meta: FileMeta = { length, hashes };
  if (custom !== undefined) meta.custom = custom;
  await stageTargets(s, target, meta, rolesOf(o));
  ctx.app.output.out(`Addition of target "${target}" by ${[...hashes.keys()].join(', ')} hash to repository "${s.gun}" staged for next publish.\n`);
  if (o.publish) await autoPublish(s);
}

export async function remove(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 2) throw new UsageError('Must specify a GUN and target', false);
  const [gun, target] = args as [string, string];
  const s = await openSession(ctx, gun);
  const o = opts(ctx);
  const roles = rolesOf(o);
  await locked(s, async () => {
    for (const role of roles) await s.changelist.add({ action: 'delete', scope: role, type: 'target', path: target, data: null });
  });
  ctx.app.output.out(`Removal of ${target} from ${s.gun} staged for next publish.\n`);
  if (o.publish) await autoPublish(s);
}

export async function witness(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 2) throw new UsageError('Please provide a GUN and at least one role to witness');
  const [gun, ...roles] = args as [string, ...string[]];
  const s = await openSession(ctx, gun);
  for (const role of roles) {
    if (role !== 'targets' && !isDelegationName(role)) {
      throw new CliError('INVALID_ROLE', `cannot witness ${JSON.stringify(role)}: only targets and delegation roles (targets/...) can be witnessed`, 'root, snapshot and timestamp are re-signed by key rotation, not by witnessing');
    }
  }
  await locked(s, async () => {
    for (const role of roles) await s.changelist.add({ action: 'update', scope: role, type: 'witness', path: '', data: null });
  });
  ctx.app.output.out(`The following roles were successfully marked for witnessing on the next publish:\n${roles.map((r) => `\t- ${r}\n`).join('')}`);
  if (opts(ctx).publish) await autoPublish(s);
}

function rolesOf(o: Opts): string[] {
  const roles = Array.isArray(o.roles) ? (o.roles as string[]).filter((r) => r !== '') : [];
  if (roles.length === 0) return ['targets'];
  for (const r of roles) {
    if (r !== 'targets' && !isDelegationName(r)) throw new CliError('INVALID_ROLE', `tuf: invalid role ${r}. cannot add targets to this role`, 'roles are "targets" or delegations such as "targets/releases"');
  }
  return roles;
}

async function stageTargets(s: Session, target: string, meta: FileMeta, roles: string[]): Promise<void> {
  if (/[\u0000-\u001f]/.test(target)) {
    throw new CliError('INVALID_TARGET', `target name ${JSON.stringify(target)} contains a control character, which notary cannot publish`, 'rename the target without control characters');
  }
  const data = encodeTargetData(meta);
  await locked(s, async () => {
    for (const role of roles) {
      const change: Change = { action: 'create', scope: role, type: 'target', path: target, data };
      await s.changelist.add(change);
    }
  });
}

async function readCustom(ctx: Ctx, o: Opts): Promise<Json | undefined> {
  if (typeof o.custom !== 'string') return undefined;
  let text: Buffer;
  try {
    text = await readFile(resolve(ctx.app.cwd, o.custom));
  } catch (e) {
    throw openError(e, o.custom);
  }
  const v = parseJson(text, { what: `custom data in ${o.custom}` });
  return v === null ? undefined : v;
}

/** Streams a file through both hashes (constant memory). `shown` is the name as the user gave it. */
async function hashFile(path: string, shown = path): Promise<{ length: number; sha256: Buffer; sha512: Buffer }> {
  const h256 = createHash('sha256');
  const h512 = createHash('sha512');
  let length = 0;
  try {
    const stream = createReadStream(path);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      h256.update(chunk);
      h512.update(chunk);
      length += chunk.length;
    }
  } catch (e) {
    throw openError(e, shown);
  }
  return { length, sha256: h256.digest(), sha512: h512.digest() };
}

/** Go's strconv.ParseInt(s, 0, 64): base prefixes and underscores. */
export function parseGoInt(s: string): number {
  const bad = (): never => {
    throw new CliError('INVALID_SIZE', `strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`, 'the byte size is a whole number, e.g. 1024 or 0x400');
  };
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(s);
  if (!m) return bad();
  let body = m[2]!;
  if (body.includes('_') && (/__|_$/.test(body) || /^0[xob]?_?$/i.test(body))) bad();
  body = body.replace(/_/g, '');
  let v: bigint;
  if (/^0[xX]/.test(body)) v = BigInt(body);
  else if (/^0[oO]/.test(body)) v = BigInt('0o' + body.slice(2));
  else if (/^0[bB]/.test(body)) v = BigInt(body);
  else if (body.length > 1 && body.startsWith('0')) v = BigInt('0o' + body.slice(1));
  else v = BigInt(body);
  if (m[1] === '-') v = -v;
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) bad();
  return Number(v);
}

/** notary's getTargetHashes: the length (in bytes of the argument) first, then the hex digits. */
function parseHex(hex: string, bytes: number, alg: string): Buffer {
  if (Buffer.byteLength(hex, 'utf8') !== bytes * 2) throw new CliError('INVALID_HASH', `invalid ${alg} hex contents provided`, `a ${alg} digest is ${bytes * 2} hex characters`);
  const raw = Buffer.from(hex, 'utf8');
  const bad = raw.findIndex((b) => !((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)));
  if (bad >= 0) {
    // Go's InvalidByteError prints the offending byte with %#U (a byte, not a character).
    const b = raw[bad]!;
    const printable = (b >= 0x20 && b < 0x7f) || (b >= 0xa1 && b !== 0xad);
    const shown = `U+${b.toString(16).toUpperCase().padStart(4, '0')}${printable ? ` '${String.fromCharCode(b)}'` : ''}`;
    throw new CliError('INVALID_HASH', `encoding/hex: invalid byte: ${shown}`, `--${alg} takes the hex digest`);
  }
  return Buffer.from(hex, 'hex');
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
