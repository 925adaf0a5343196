// Delegation commands (cli.md §9.20-§9.23): notary's arguments and messages over client/delegations.ts
// (staged changes, the list) and client/cosign.ts.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { cosignRole } from '../../client/cosign.js';
import { delegationKeyFromPem, hasCachedPaths, listDelegations, stageDelegationAdd, stageDelegationDelete, stageDelegationRemove, stageKeyPurge } from '../../client/delegations.js';
import type { PublicKey } from '../../tuf/keys.js';
import { isDelegationName } from '../../tuf/roles.js';
import type { Ctx } from '../app.js';
import { CliError, UsageError } from '../errors.js';
import { isYes, TerminalPrompt } from '../prompt.js';
import { formatTable } from '../table.js';
import { autoPublish, pushChanges } from '../publishing.js';
import { locked, openSession, refresh } from '../session.js';
import { keyAccess } from '../keys.js';

type Opts = Record<string, unknown>;
const opts = (ctx: Ctx): Opts => ctx.cmd.opts();

export async function list(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length !== 1) throw new UsageError('Please provide a Global Unique Name as an argument to list');
  const s = await openSession(ctx, args[0]);
  const roles = listDelegations((await refresh(s)).builder);
  const out = ctx.app.output;
  if (opts(ctx).json) {
    out.out(JSON.stringify(roles.map((r) => ({ role: r.name, paths: r.paths, keyIds: r.keyIds, threshold: r.threshold })), null, 2) + '\n');
    return;
  }
  if (roles.length === 0) {
    out.out('\n\nNo delegations present in this repository.\n\n\n');
    return;
  }
  const rows: string[][] = [];
  for (const r of roles) {
    const paths = r.paths.map((p) => (p === '' ? '"" <all paths>' : p));
    const n = Math.max(1, paths.length, r.keyIds.length);
    for (let i = 0; i < n; i++) {
      rows.push([i === 0 ? r.name : '', paths[i] ?? '', r.keyIds[i] ?? '', i === 0 ? String(r.threshold) : '']);
    }
  }
  out.out('\n' + formatTable(['ROLE', 'PATHS', 'KEY IDS', 'THRESHOLD'], rows) + '\n');
}

export async function add(ctx: Ctx, args: string[]): Promise<void> {
  const o = opts(ctx);
  const paths = pathList(o);
  if (args.length < 2 || (args.length === 2 && paths.length === 0 && o.threshold === undefined)) {
    throw new UsageError(
      'must specify the Global Unique Name and the role of the delegation along with the public key certificate paths and/or a list of paths to add',
    );
  }
  const [gun, role, ...files] = args as [string, string, ...string[]];
  if (!isDelegationName(role)) {
    throw new CliError('INVALID_ROLE', `failed to create delegation: tuf: invalid role ${role}. invalid delegation role name`, { hint: 'delegation roles are named targets/<name>, e.g. targets/releases, using a-z, 0-9, -, _ and /' });
  }
  const s = await openSession(ctx, gun);
  const keys: PublicKey[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(resolve(ctx.app.cwd, f), 'utf8');
    } catch {
      throw new CliError('KEY_FILE', `file for public key does not exist: ${f}`, { hint: 'pass the path of the collaborator\'s certificate (cert.pem) or public key' });
    }
    keys.push(delegationKeyFromPem(text, f, ctx.app.now));
  }
  const threshold = typeof o.threshold === 'number' ? o.threshold : undefined;
  if (threshold !== undefined && keys.length > 0 && threshold > keys.length) {
    ctx.app.output.log('warning', `role ${role} needs ${threshold} signatures but only ${keys.length} keys are being added; add more keys before it can sign`);
  }
  await locked(s, () => stageDelegationAdd(s.changelist, role, { keys, paths, threshold }));
  if (keys.length > 0 && paths.length === 0 && !(await hasCachedPaths(s.cache, role))) {
    ctx.app.output.log('warning', `role ${role} has no paths yet, so it cannot sign any target; add them with --paths or --all-paths`);
  }
  const ids = keys.map((k) => k.canonicalId);
  let msg = `\nAddition of delegation role ${role}`;
  if (ids.length > 0) msg += ` with keys [${ids.join(' ')}],`;
  if (paths.length > 0) msg += ` with paths [${printPaths(ctx, paths)}],`;
  if (threshold !== undefined) msg += ` with threshold ${threshold},`;
  ctx.app.output.out(`${msg} to repository "${s.gun}" staged for next publish.\n\n`);
  if (o.publish) await autoPublish(s);
}

function pathList(o: Opts): string[] {
  const raw = Array.isArray(o.paths) ? (o.paths as string[]) : [];
  if (o.allPaths || raw.includes('')) return [''];
  return raw;
}

function printPaths(ctx: Ctx, paths: string[]): string {
  const shown = paths.map((p) => (p === '' ? '"" <all paths>' : p));
  return shown.join(ctx.app.program === 'notary' ? '\n' : ', ');
}

export async function remove(ctx: Ctx, args: string[]): Promise<void> {
  const o = opts(ctx);
  if (args.length < 2) {
    throw new UsageError('must specify the Global Unique Name and the role of the delegation along with optional keyIDs and/or a list of paths to remove');
  }
  const [gun, role, ...keyIds] = args as [string, string, ...string[]];
  if (!isDelegationName(role)) throw new CliError('INVALID_ROLE', `invalid delegation name ${role}`, { hint: 'delegation roles are named targets/<name>' });
  const s = await openSession(ctx, gun);
  const removePaths = Array.isArray(o.paths) ? (o.paths as string[]) : [];
  const out = ctx.app.output;
  if (keyIds.length === 0 && removePaths.length === 0 && !o.allPaths) {
    out.out('\nAre you sure you want to remove all data for this delegation? (yes/no)\n');
    if (o.yes) out.out('Confirmed `yes` from flag\n');
    else if (!isYes(await new TerminalPrompt().readLine())) throw new CliError('ABORTED', 'Aborting action.', { hint: 'pass -y to confirm without a question' });
    await locked(s, () => stageDelegationDelete(s.changelist, role));
    out.out(`\nForced removal (including all keys and paths) of delegation role ${role} to repository "${s.gun}" staged for next publish.\n\n`);
  } else {
    await locked(s, () => stageDelegationRemove(s.changelist, role, { keyIds, paths: removePaths, allPaths: o.allPaths === true }));
    let msg = `\nRemoval of delegation role ${role}`;
    if (keyIds.length > 0) msg += ` with keys [${keyIds.join(' ')}],`;
    if (o.allPaths) msg += ' with all paths,';
    else if (removePaths.length > 0) msg += ` with paths [${printPaths(ctx, removePaths)}],`;
    out.out(`${msg} to repository "${s.gun}" staged for next publish.\n\n`);
  }
  if (o.publish) await autoPublish(s);
}

export async function purge(ctx: Ctx, args: string[]): Promise<void> {
  const o = opts(ctx);
  if (args.length !== 1) throw new UsageError('Please provide a single Global Unique Name as an argument to remove');
  const keys = Array.isArray(o.key) ? (o.key as string[]).filter((k) => k !== '') : [];
  if (keys.length === 0) throw new UsageError('Please provide at least one key ID to be removed using the --key flag');
  const s = await openSession(ctx, args[0]);
  await locked(s, () => stageKeyPurge(s.changelist, keys));
  ctx.app.output.out(`Removal of the following keys from all delegations in ${s.gun} staged for next publish:\n${keys.map((k) => `\t- ${k}\n`).join('')}`);
  if (o.publish) await autoPublish(s);
}

/** `delegation cosign` (client/cosign.ts): adds this machine's signatures, says who signs next, publishes once the threshold is met. */
export async function cosign(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 3) throw new UsageError('must specify the Global Unique Name, the delegation role and the file to co-sign');
  const [gun, role, file] = args as [string, string, string];
  if (!isDelegationName(role)) throw new CliError('INVALID_ROLE', `invalid delegation name ${role}`, { hint: 'delegation roles are named targets/<name>' });
  const o = opts(ctx);
  const s = await openSession(ctx, gun);
  const path = resolve(ctx.app.cwd, file);
  const dest = typeof o.output === 'string' ? resolve(ctx.app.cwd, o.output) : path;
  const r = await cosignRole({
    gun: s.gun,
    role,
    path,
    shown: file,
    dest,
    publish: o.publish === true,
    refresh: async () => (await refresh(s)).builder,
    keys: () => keyAccess(ctx),
  });
  if (r.signedHere) {
    const out = ctx.app.output;
    out.out(`${role} version ${r.version} now carries ${r.valid} of the ${r.threshold} signatures it needs; saved to ${dest}\n`);
    if (r.valid < r.threshold) {
      out.out(`Give ${dest} to the next signer of ${role}, who runs: dtrust delegation cosign ${s.gun} ${role} <file> --publish\n`);
      return;
    }
    if (!o.publish) {
      out.out(`The threshold is met; publish it with: dtrust delegation cosign ${s.gun} ${role} ${dest} --publish\n`);
      return;
    }
  }
  await pushChanges(s, new Map([[role, r.bytes]]));
}
