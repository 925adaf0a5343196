// Delegation command implementations (cli.md §9.20-§9.23).

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { encodeDelegationData } from '../../client/changes.js';
import { delegationKeyFromPem } from '../../client/delegation.js';
import type { PublicKey } from '../../tuf/keys.js';
import { isDelegationName } from '../../tuf/roles.js';
import type { Ctx } from '../app.js';
import { CliError, UsageError } from '../errors.js';
import { isYes, TerminalPrompt } from '../prompt.js';
import { formatTable } from '../table.js';
import { locked, openSession, refresh, type Session } from '../session.js';
import { autoPublish, publishPrepared } from './repo-run.js';
import { keyAccess } from '../keys.js';
import { parseEnvelope, signingBytes } from '../../tuf/envelope.js';
import { isTrustError } from '../../tuf/errors.js';
import { parseTargets, toJson } from '../../tuf/metadata.js';
import { signMetadata } from '../../tuf/sign.js';
import { verifyThreshold } from '../../tuf/verify.js';

type Opts = Record<string, unknown>;
const opts = (ctx: Ctx): Opts => ctx.cmd.opts();

export async function list(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length !== 1) throw new UsageError('Please provide a Global Unique Name as an argument to list');
  const s = await openSession(ctx, args[0]);
  const { builder } = await refresh(s);
  const roles: { name: string; paths: string[]; keyIds: string[]; threshold: number }[] = [];
  for (const parent of ['targets', ...builder.delegations.keys()]) {
    const file = parent === 'targets' ? builder.targets : builder.delegations.get(parent);
    if (!file) continue;
    for (const r of file.meta.delegations.roles) {
      const keyIds = (r.keyids ?? []).map((id) => canonical(file.meta.delegations.keys.get(id), id));
      roles.push({ name: r.name, paths: [...r.paths].sort(), keyIds, threshold: r.threshold });
    }
  }
  roles.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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

function canonical(key: PublicKey | undefined, id: string): string {
  try {
    return key ? key.canonicalId : id;
  } catch {
    return id;
  }
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
  await locked(s, async () => {
    // (Threshold alone: the update below creates the role too when it does not exist.)
    if (keys.length > 0) {
      await s.changelist.add({ action: 'create', scope: role, type: 'delegation', path: '', data: encodeDelegationData({ threshold: threshold ?? 1, addKeys: keys }) });
    }
    if (paths.length > 0) {
      await s.changelist.add({ action: 'create', scope: role, type: 'delegation', path: '', data: encodeDelegationData({ addPaths: paths }) });
    }
    // A create only sets the threshold of a new role; an update changes an existing one.
    if (threshold !== undefined) {
      await s.changelist.add({ action: 'update', scope: role, type: 'delegation', path: '', data: encodeDelegationData({ threshold }) });
    }
  });
  if (keys.length > 0 && paths.length === 0 && !(await hasCachedPaths(s, role))) {
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

/** True when the cached parent already gives `role` paths (adding a key to it is then enough). */
async function hasCachedPaths(s: Session, role: string): Promise<boolean> {
  const parent = role.slice(0, role.lastIndexOf('/'));
  try {
    const bytes = await s.cache.read(parent, 100 * 1024 * 1024);
    if (!bytes) return false;
    const decl = parseTargets(parseEnvelope(bytes, parent).signed, parent).delegations.roles.find((r) => r.name === role);
    return (decl?.paths.length ?? 0) > 0;
  } catch {
    return false;
  }
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
    await stage(s, { action: 'delete', data: null, role });
    out.out(`\nForced removal (including all keys and paths) of delegation role ${role} to repository "${s.gun}" staged for next publish.\n\n`);
  } else {
    await locked(s, async () => {
      if (o.allPaths) await s.changelist.add({ action: 'update', scope: role, type: 'delegation', path: '', data: encodeDelegationData({ clearPaths: true }) });
      else if (removePaths.length > 0) await s.changelist.add({ action: 'update', scope: role, type: 'delegation', path: '', data: encodeDelegationData({ removePaths }) });
      if (keyIds.length > 0) await s.changelist.add({ action: 'update', scope: role, type: 'delegation', path: '', data: encodeDelegationData({ removeKeys: keyIds }) });
    });
    let msg = `\nRemoval of delegation role ${role}`;
    if (keyIds.length > 0) msg += ` with keys [${keyIds.join(' ')}],`;
    if (o.allPaths) msg += ' with all paths,';
    else if (removePaths.length > 0) msg += ` with paths [${printPaths(ctx, removePaths)}],`;
    out.out(`${msg} to repository "${s.gun}" staged for next publish.\n\n`);
  }
  if (o.publish) await autoPublish(s);
}

async function stage(s: Session, c: { action: 'delete'; data: null; role: string }): Promise<void> {
  await locked(s, () => s.changelist.add({ action: c.action, scope: c.role, type: 'delegation', path: '', data: c.data }).then(() => undefined));
}

export async function purge(ctx: Ctx, args: string[]): Promise<void> {
  const o = opts(ctx);
  if (args.length !== 1) throw new UsageError('Please provide a single Global Unique Name as an argument to remove');
  const keys = Array.isArray(o.key) ? (o.key as string[]).filter((k) => k !== '') : [];
  if (keys.length === 0) throw new UsageError('Please provide at least one key ID to be removed using the --key flag');
  const s = await openSession(ctx, args[0]);
  await locked(s, async () => {
    await s.changelist.add({ action: 'update', scope: 'targets/*', type: 'delegation', path: '', data: encodeDelegationData({ removeKeys: keys }) });
  });
  ctx.app.output.out(`Removal of the following keys from all delegations in ${s.gun} staged for next publish:\n${keys.map((k) => `\t- ${k}\n`).join('')}`);
  if (o.publish) await autoPublish(s);
}

/**
 * Co-signing a role whose threshold one signer cannot meet: adds this machine's signatures to a
 * role file signed elsewhere (same bytes, same version), saves it for the next signer, and
 * publishes it once the threshold is met.
 */
export async function cosign(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 3) throw new UsageError('must specify the Global Unique Name, the delegation role and the file to co-sign');
  const [gun, role, file] = args as [string, string, string];
  if (!isDelegationName(role)) throw new CliError('INVALID_ROLE', `invalid delegation name ${role}`, { hint: 'delegation roles are named targets/<name>' });
  const o = opts(ctx);
  const s = await openSession(ctx, gun);
  const path = resolve(ctx.app.cwd, file);
  const bytes = await readFile(path);
  const env = parseEnvelope(bytes, role);
  const meta = parseTargets(env.signed, role);
  if (!signingBytes(toJson(meta)).equals(env.canonical)) {
    throw new CliError('COSIGN', `${file} does not hold ${role} in the form dtrust and notary write, so signatures over it would not match`, { hint: 'ask the first signer for the file dtrust saved' });
  }
  const { builder } = await refresh(s);
  const parent = role.slice(0, role.lastIndexOf('/'));
  const parentFile = parent === 'targets' ? builder.targets : builder.delegations.get(parent);
  const decl = parentFile?.meta.delegations.roles.find((r) => r.name === role);
  if (!parentFile || !decl) throw new CliError('COSIGN', `${role} is not a delegation of ${s.gun}`, { hint: `list them with: dtrust delegation list ${s.gun}` });
  const keys = await keyAccess(ctx);
  const existing = env.signatures.filter((sig) => (decl.keyids ?? []).includes(sig.keyid));
  const signers = [];
  for (const id of decl.keyids ?? []) {
    const key = parentFile.meta.delegations.keys.get(id);
    if (!key || existing.some((sig) => sig.keyid === id)) continue;
    if (keys.has(key.canonicalId)) signers.push(await keys.signer(key.canonicalId, key, role));
  }
  const validSignatures = (b: Buffer): number => {
    try {
      return verifyThreshold(parseEnvelope(b, role), role, parentFile.meta.delegations.keys, decl).validKeyIds.length;
    } catch (e) {
      if (!isTrustError(e, 'THRESHOLD_NOT_MET')) throw e;
      return Number(e.fields.found ?? 0);
    }
  };
  if (signers.length === 0) {
    // Already signed here (e.g. `cosign` without --publish, then the printed `--publish` command).
    if (o.publish && validSignatures(bytes) >= decl.threshold) {
      await publishPrepared(s, new Map([[role, bytes]]));
      return;
    }
    throw new CliError('COSIGN', `this machine holds none of the keys of ${role} that have not signed yet`, { hint: `import your ${role} key first: dtrust key import <key.pem> -r ${role}` });
  }
  const signed = await signMetadata(meta, signers, existing);
  const valid = validSignatures(signed.bytes);
  const out = ctx.app.output;
  const dest = typeof o.output === 'string' ? resolve(ctx.app.cwd, o.output) : path;
  const { writeFileAtomic } = await import('../../storage/atomic.js');
  await writeFileAtomic(dest, signed.bytes);
  out.out(`${role} version ${meta.version} now carries ${valid} of the ${decl.threshold} signatures it needs; saved to ${dest}\n`);
  if (valid < decl.threshold) {
    out.out(`Give ${dest} to the next signer of ${role}, who runs: dtrust delegation cosign ${s.gun} ${role} <file> --publish\n`);
    return;
  }
  if (!o.publish) {
    out.out(`The threshold is met; publish it with: dtrust delegation cosign ${s.gun} ${role} ${dest} --publish\n`);
    return;
  }
  await publishPrepared(s, new Map([[role, signed.bytes]]));
}
