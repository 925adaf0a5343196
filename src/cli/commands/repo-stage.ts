// The staging commands (cli.md §9.2-§9.4, §9.12): add, addhash, remove and witness, with
// notary's messages, and the batches of `add --from` and `addhash --from` (targetlist.ts). They
// are offline and short: this module loads only the changelist, the lock and the payload
// encoding; the publish code loads for `-p` only.

import { createReadStream, read } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { targetChanges } from '../../client/changes.js';
import { parseJson, type Json } from '../../tuf/json.js';
import type { FileMeta } from '../../tuf/metadata.js';
import { isDelegationName } from '../../tuf/roles.js';
import type { Ctx } from '../app.js';
import { CliError, openError, UsageError } from '../errors.js';
import { locked, openSession, type Session } from '../session.js';
import { lineError, listLines, type ListLine } from '../targetlist.js';

type Opts = Record<string, unknown>;
const opts = (ctx: Ctx): Opts => ctx.cmd.opts();

interface Target {
  name: string;
  meta: FileMeta;
}

export async function add(ctx: Ctx, args: string[]): Promise<void> {
  const o = opts(ctx);
  if (typeof o.from === 'string') return addFrom(ctx, args, o.from);
  if (args.length < 3) throw new UsageError('Must specify a GUN, target, and path to target data');
  const [gun, target, file] = args as [string, string, string];
  const s = await openSession(ctx, gun);
  const custom = await readCustom(ctx, o);
  const meta = await fileMeta(resolve(ctx.app.cwd, file), file, custom);
  const roles = rolesOf(o);
  checkName(target);
  await stage(s, [{ name: target, meta }], roles);
  ctx.app.output.out(addMessage(target, s.gun));
  if (o.publish) await publishAfter(s);
}

export async function addhash(ctx: Ctx, args: string[]): Promise<void> {
  const o = opts(ctx);
  // As notary: an empty --sha256 "" counts as not given.
  const h256 = typeof o.sha256 === 'string' && o.sha256 !== '' ? o.sha256 : undefined;
  const h512 = typeof o.sha512 === 'string' && o.sha512 !== '' ? o.sha512 : undefined;
  if (typeof o.from === 'string') {
    if (h256 !== undefined || h512 !== undefined) throw new UsageError('--sha256 and --sha512 do not go with --from: the hashes come from the list', false);
    return addhashFrom(ctx, args, o.from);
  }
  if (args.length < 3 || (h256 === undefined && h512 === undefined)) throw new UsageError('Must specify a GUN, target, byte size of target data, and at least one hash');
  const [gun, target, size] = args as [string, string, string];
  // notary's order of checks: configuration and GUN, custom data, size, hashes.
  const s = await openSession(ctx, gun);
  const custom = await readCustom(ctx, o);
  const meta = hashMeta(size, h256, h512, custom);
  const roles = rolesOf(o);
  checkName(target);
  await stage(s, [{ name: target, meta }], roles);
  ctx.app.output.out(addhashMessage(target, meta, s.gun));
  if (o.publish) await publishAfter(s);
}

export async function remove(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 2) throw new UsageError('Must specify a GUN and target', false);
  const [gun, target] = args as [string, string];
  const s = await openSession(ctx, gun);
  const o = opts(ctx);
  const roles = rolesOf(o);
  await locked(s, () => s.changelist.addAll(roles.map((role) => ({ action: 'delete', scope: role, type: 'target', path: target, data: null }))), true);
  ctx.app.output.out(`Removal of ${target} from ${s.gun} staged for next publish.\n`);
  if (o.publish) await publishAfter(s);
}

export async function witness(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 2) throw new UsageError('Please provide a GUN and at least one role to witness');
  const [gun, ...roles] = args as [string, ...string[]];
  const s = await openSession(ctx, gun);
  for (const role of roles) {
    if (role !== 'targets' && !isDelegationName(role)) {
      throw new CliError('INVALID_ROLE', `cannot witness ${JSON.stringify(role)}: only targets and delegation roles (targets/...) can be witnessed`, { hint: 'root, snapshot and timestamp are re-signed by key rotation, not by witnessing' });
    }
  }
  await locked(s, () => s.changelist.addAll(roles.map((role) => ({ action: 'update', scope: role, type: 'witness', path: '', data: null }))), true);
  ctx.app.output.out(`The following roles were successfully marked for witnessing on the next publish:\n${roles.map((r) => `\t- ${r}\n`).join('')}`);
  if (opts(ctx).publish) await publishAfter(s);
}

// ---------------------------------------------------------------------------------------------
// --from: every line is checked (and every file of `add` hashed) before anything is staged; the
// whole list is then staged under one lock, and `-p` publishes once at the end.

async function addFrom(ctx: Ctx, args: string[], from: string): Promise<void> {
  const o = opts(ctx);
  const s = await openSession(ctx, fromGun(args));
  const custom = await readCustom(ctx, o);
  const roles = rolesOf(o);
  const { lines, source } = await readList(ctx, from);
  const targets: Target[] = [];
  for (const l of lines) {
    if (l.fields.length !== 2) throw lineError(source, l.line, `expected NAME PATH, found ${fieldCount(l)}`);
    const [name, path] = l.fields as [string, string];
    checkName(name, source, l.line);
    let meta: FileMeta;
    try {
      meta = await fileMeta(resolve(ctx.app.cwd, path), path, custom);
    } catch (e) {
      throw onLine(e, source, l.line);
    }
    targets.push({ name, meta });
  }
  await stageList(s, targets, roles, source, (t) => addMessage(t.name, s.gun));
}

async function addhashFrom(ctx: Ctx, args: string[], from: string): Promise<void> {
  const o = opts(ctx);
  const s = await openSession(ctx, fromGun(args));
  const custom = await readCustom(ctx, o);
  const roles = rolesOf(o);
  const { lines, source } = await readList(ctx, from);
  const targets: Target[] = [];
  for (const l of lines) {
    if (l.fields.length !== 3 && l.fields.length !== 4) throw lineError(source, l.line, `expected NAME SIZE SHA256 [SHA512], found ${fieldCount(l)}`);
    const [name, size, h256, h512] = l.fields as [string, string, string, string | undefined];
    checkName(name, source, l.line);
    try {
      targets.push({ name, meta: hashMeta(size, h256, h512, custom) });
    } catch (e) {
      throw onLine(e, source, l.line);
    }
  }
  await stageList(s, targets, roles, source, (t) => addhashMessage(t.name, t.meta, s.gun));
}

async function stageList(s: Session, targets: Target[], roles: string[], source: string, message: (t: Target) => string): Promise<void> {
  const out = s.ctx.app.output;
  if (targets.length === 0) out.log('warning', `no targets in ${source}; nothing staged`);
  else {
    await stage(s, targets, roles);
    out.out(targets.map(message).join(''));
  }
  if (opts(s.ctx).publish) await publishAfter(s);
}

function fromGun(args: string[]): string {
  if (args.length > 1) throw new UsageError('With --from, give only the GUN: the targets come from the list', false);
  if (args.length === 0) throw new UsageError('Must specify a GUN');
  return args[0]!;
}

function fieldCount(l: ListLine): string {
  return l.fields.length === 1 ? '1 field' : `${l.fields.length} fields`;
}

/** The error of one line, named by its number (the hint says nothing was staged). */
function onLine(e: unknown, source: string, line: number): unknown {
  return e instanceof CliError ? lineError(source, line, e.message) : e;
}

/** The list of `--from`: a file, or stdin for `-`. */
async function readList(ctx: Ctx, from: string): Promise<{ lines: ListLine[]; source: string }> {
  if (from === '-') return { lines: listLines(await readStdin(), 'stdin'), source: 'stdin' };
  let bytes: Buffer;
  try {
    bytes = await readFile(resolve(ctx.app.cwd, from));
  } catch (e) {
    throw openError(e, from);
  }
  return { lines: listLines(bytes, from), source: from };
}

/** All of stdin; a non-blocking descriptor (EAGAIN) is read through Node's stream instead. */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let n: number;
    try {
      n = await new Promise<number>((res, rej) => read(0, chunk, 0, chunk.length, null, (e, k) => (e ? rej(e) : res(k))));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw new CliError('STDIN', `cannot read stdin: ${(e as Error).message}`);
      for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
      break;
    }
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
  }
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------------
// targets

async function stage(s: Session, targets: readonly Target[], roles: readonly string[]): Promise<void> {
  const changes = targetChanges(targets, roles);
  await locked(s, () => s.changelist.addAll(changes), true);
}

function addMessage(target: string, gun: string): string {
  return `Addition of target "${target}" to repository "${gun}" staged for next publish.\n`;
}

function addhashMessage(target: string, meta: FileMeta, gun: string): string {
  return `Addition of target "${target}" by ${[...meta.hashes.keys()].join(', ')} hash to repository "${gun}" staged for next publish.\n`;
}

async function publishAfter(s: Session): Promise<void> {
  await (await import('../publishing.js')).autoPublish(s);
}

function checkName(target: string, source?: string, line?: number): void {
  if (!/[\u0000-\u001f]/.test(target)) return;
  const why = `target name ${JSON.stringify(target)} contains a control character, which notary cannot publish`;
  if (source !== undefined && line !== undefined) throw lineError(source, line, why);
  throw new CliError('INVALID_TARGET', why, { hint: 'rename the target without control characters' });
}

function rolesOf(o: Opts): string[] {
  const roles = Array.isArray(o.roles) ? (o.roles as string[]).filter((r) => r !== '') : [];
  if (roles.length === 0) return ['targets'];
  for (const r of roles) {
    if (r !== 'targets' && !isDelegationName(r)) throw new CliError('INVALID_ROLE', `tuf: invalid role ${r}. cannot add targets to this role`, { hint: 'roles are "targets" or delegations such as "targets/releases"' });
  }
  return roles;
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

/** A file's length, sha256 and sha512, streamed (constant memory). `shown` is the name as the user gave it. */
async function fileMeta(path: string, shown: string, custom: Json | undefined): Promise<FileMeta> {
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
  const meta: FileMeta = { length, hashes: new Map([['sha256', h256.digest()], ['sha512', h512.digest()]]) };
  if (custom !== undefined) meta.custom = custom;
  return meta;
}

/** addhash's target: notary's order of checks, the size, then each hash. */
function hashMeta(size: string, h256: string | undefined, h512: string | undefined, custom: Json | undefined): FileMeta {
  const length = parseGoInt(size);
  const hashes = new Map<string, Buffer>();
  if (h256 !== undefined) hashes.set('sha256', parseHex(h256, 32, 'sha256'));
  if (h512 !== undefined) hashes.set('sha512', parseHex(h512, 64, 'sha512'));
  const meta: FileMeta = { length, hashes };
  if (custom !== undefined) meta.custom = custom;
  return meta;
}

/** Go's strconv.ParseInt(s, 0, 64): base prefixes and underscores. */
function parseGoInt(s: string): number {
  const refuse = (why: string): never => {
    throw new CliError('INVALID_SIZE', `strconv.ParseInt: parsing ${JSON.stringify(s)}: ${why}`, { hint: 'the byte size is a whole number, e.g. 1024 or 0x400' });
  };
  const bad = (): never => refuse('invalid syntax');
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
  if (v < 0n) refuse('the byte size cannot be negative');
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) refuse(`the byte size is larger than 2^53 - 1 (${Number.MAX_SAFE_INTEGER}), the largest dtrust represents exactly`);
  return Number(v);
}

/** notary's getTargetHashes: the length (in bytes of the argument) first, then the hex digits. */
function parseHex(hex: string, bytes: number, alg: string): Buffer {
  if (Buffer.byteLength(hex, 'utf8') !== bytes * 2) throw new CliError('INVALID_HASH', `invalid ${alg} hex contents provided`, { hint: `a ${alg} digest is ${bytes * 2} hex characters` });
  const raw = Buffer.from(hex, 'utf8');
  const bad = raw.findIndex((b) => !((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)));
  if (bad >= 0) {
    // Go's InvalidByteError prints the offending byte with %#U (a byte, not a character).
    const b = raw[bad]!;
    const printable = (b >= 0x20 && b < 0x7f) || (b >= 0xa1 && b !== 0xad);
    const shown = `U+${b.toString(16).toUpperCase().padStart(4, '0')}${printable ? ` '${String.fromCharCode(b)}'` : ''}`;
    throw new CliError('INVALID_HASH', `encoding/hex: invalid byte: ${shown}`, { hint: `--${alg} takes the hex digest` });
  }
  return Buffer.from(hex, 'hex');
}
