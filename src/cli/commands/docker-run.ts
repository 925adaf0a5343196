// The docker trust verbs (cli.md §11) with docker's arguments, questions and output; the
// workflows are in docker/ (sign.ts, inspect.ts, revoke.ts, signers.ts, signer-keys.ts), wired by
// cli/docker-session.ts. Without a Docker engine:
//  - the image reference maps to GUN and tag exactly as docker maps it;
//  - `sign` signs the manifest the registry holds for the tag (its sha256 and length, fetched over
//    the Registry HTTP API v2 with docker's credentials), or --digest/--size, and always shows the
//    digest it signs;
//  - docker's environment: DOCKER_CONTENT_TRUST_SERVER, the two passphrase variables, DOCKER_CONFIG;
//  - docker's quirks fixed (cli.md §12 #2, #28-#32): the changelist is never wiped (changes staged
//    with notary stay staged and are not published), a repository owner without a signer key is
//    told what to do, signer remove works as in docker ≤ v25 and also when nothing was released,
//    http trust servers are accepted, and a missing registry login does not break initialisation.

import { describeError } from '../../client/errors.js';
import { DockerError } from '../../docker/errors.js';
import { dockerPassphraseError, requirePassphrase } from '../../docker/passphrases.js';
import { VALID_NAME, parseImageReference } from '../../docker/reference.js';
import { inspectJson, prettyInspect, trustRepoJson } from '../../docker/format.js';
import { trustInfo } from '../../docker/inspect.js';
import { revokeImage } from '../../docker/revoke.js';
import { addSigner, readSignerKeys, removeSigner } from '../../docker/signers.js';
import { generateSignerKey, loadSignerKey } from '../../docker/signer-keys.js';
import { signImage, type SignTarget } from '../../docker/sign.js';
import type { DockerKeys } from '../../docker/repository.js';
import type { Ctx } from '../app.js';
import { dockerKeys, openDockerRepo } from '../docker-session.js';
import { CliError, UsageError } from '../errors.js';
import { TerminalPrompt } from '../prompt.js';

type Opts = Record<string, unknown>;
const opts = (ctx: Ctx): Opts => ctx.cmd.opts();

// ---------------------------------------------------------------------------------------------
// Arguments and answers

function commandPath(ctx: Ctx): string {
  const names: string[] = [];
  for (let c: typeof ctx.cmd | null = ctx.cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function requireArgs(ctx: Ctx, args: readonly string[], min: number, exact = false): void {
  if (exact ? args.length === min : args.length >= min) return;
  const what = min === 1 ? 'argument' : 'arguments';
  throw new UsageError(`"${commandPath(ctx)}" requires ${exact ? 'exactly' : 'at least'} ${min} ${what}.`);
}

function validateName(kind: 'signer' | 'key', name: string): void {
  if (!VALID_NAME.test(name)) {
    throw new DockerError(
      'INVALID_NAME',
      `${kind} name "${name}" must start with lowercase alphanumeric characters and can include "-" or "_" after the first character`,
      { hint: `use a name such as alice, ci-bot or release_2` },);
  }
}

function yesAnswer(answer: string | null): boolean {
  if (answer === null) return false;
  const t = answer.trim().toLowerCase();
  return t === 'y' || t === 'yes';
}

// ---------------------------------------------------------------------------------------------
// sign

function pinnedTarget(o: Opts): SignTarget | undefined {
  const digest = typeof o.digest === 'string' ? o.digest : undefined;
  const size = typeof o.size === 'string' ? o.size : undefined;
  if (digest === undefined && size === undefined) return undefined;
  if (digest === undefined || size === undefined) {
    throw new DockerError('USAGE', '--digest and --size go together', { hint: 'pass both: --digest sha256:<64 hex> --size <manifest bytes>, or neither to read them from the registry' });
  }
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m) throw new DockerError('USAGE', `invalid --digest ${JSON.stringify(digest)}: expected sha256:<64 lowercase hex characters>`, { hint: 'docker inspect, docker push and skopeo inspect print the manifest digest in this form' });
  if (!/^\d+$/.test(size) || Number(size) < 1 || !Number.isSafeInteger(Number(size))) {
    throw new DockerError('USAGE', `invalid --size ${JSON.stringify(size)}: expected the manifest's size in bytes`, { hint: 'the size of the manifest (not of the image): skopeo inspect --raw docker://IMAGE:TAG | wc -c' });
  }
  return { sha256: Buffer.from(m[1]!, 'hex'), size: Number(size), source: '--digest' };
}

/** `sign` (docker/sign.ts): the digest it signs is always shown. */
export async function sign(ctx: Ctx, args: string[]): Promise<void> {
  requireArgs(ctx, args, 1, true);
  const o = opts(ctx);
  const image = args[0]!;
  if (o.local) {
    throw new DockerError(
      'USAGE',
      '--local signs an image in the local Docker engine, which dtrust does not use',
      { hint: `push the image first (docker push, skopeo copy, ...), then run: dtrust sign ${image} (it signs the manifest the registry holds)` },);
  }
  const ref = parseImageReference(image);
  if (ref.tag === undefined) {
    if (ref.digest !== undefined) throw new DockerError('TAG_REQUIRED', 'cannot use a digest reference for IMAGE:TAG', { hint: 'sign a tag: IMAGE:TAG' });
    throw new DockerError('TAG_REQUIRED', `no tag specified for ${image}`, { hint: `name the tag to sign: ${image}:<tag>` });
  }
  const tag = ref.tag;
  const pinned = pinnedTarget(o);
  const keys = await dockerKeys(ctx);
  requirePassphrase(keys.passphrases.interactive, ctx.app.env, 'repository', 'needed to sign');
  const d = await openDockerRepo(ctx, ref);
  const out = ctx.app.output;
  const signed = await signImage(d, keys, pinned, {
    target: (t) => {
      out.out(`${tag}: digest: sha256:${t.sha256.toString('hex')} size: ${t.size}${pinned ? ' (from --digest, not checked against the registry)' : ''}\n`);
      if (!pinned) out.log('info', `manifest read from ${t.source}`);
    },
    publishing: () => out.out(`Signing and pushing trust metadata for ${image}\n`),
    existing: (first) => out.out(`Existing signatures for tag ${first.tag} digest ${first.digest} from:\n${[...first.signers].sort().join(', ')}\n`),
  });
  if (signed.kind === 'created-with-signer') out.out(`Created signer: ${signed.signer}\nFinished initializing signed repository for ${image}\n`);
  else if (signed.kind === 'created') out.out(`Finished initializing "${d.gun}"\n`);
  else if (signed.kind === 'unchanged') out.out(`${tag} is already signed with this digest in ${signed.roles.join(', ')}; nothing to publish\n`);
  out.out(`Successfully signed ${ref.name}:${tag}\n`);
}

// ---------------------------------------------------------------------------------------------
// inspect

export async function inspect(ctx: Ctx, args: string[]): Promise<void> {
  requireArgs(ctx, args, 1);
  const out = ctx.app.output;
  if (opts(ctx).pretty) {
    for (let i = 0; i < args.length; i++) {
      out.out(prettyInspect(args[i]!, await trustInfo(await openDockerRepo(ctx, parseImageReference(args[i]!)))));
      if (i < args.length - 1) out.out('\n\n');
    }
    return;
  }
  const ok = [];
  const errors: { message: string; hint?: string }[] = [];
  for (const arg of args) {
    try {
      ok.push(trustRepoJson(arg, await trustInfo(await openDockerRepo(ctx, parseImageReference(arg)))));
    } catch (e) {
      if (!isExpectedError(e)) throw e;
      errors.push(describeError(e));
    }
  }
  out.out(inspectJson(ok));
  if (errors.length > 0) {
    throw new CliError('INSPECT', errors.map((e) => e.message).join('\n'), { hint: errors.map((e) => e.hint).filter((h) => h !== undefined).join('\n  hint: ') || undefined });
  }
}

// ---------------------------------------------------------------------------------------------
// revoke

export async function revoke(ctx: Ctx, args: string[]): Promise<void> {
  requireArgs(ctx, args, 1, true);
  const o = opts(ctx);
  const image = args[0]!;
  const ref = parseImageReference(image);
  const out = ctx.app.output;
  if (ref.tag === undefined && ref.digest !== undefined) throw new DockerError('TAG_REQUIRED', 'cannot use a digest reference for IMAGE:TAG', { hint: 'revoke a tag (IMAGE:TAG), or every tag (IMAGE)' });
  if (ref.tag === undefined && !o.yes) {
    out.out(`Confirm you would like to delete all signature data for ${image}? [y/N] `);
    const answer = await new TerminalPrompt().readLine();
    if (answer === null) out.out('\n');
    if (!yesAnswer(answer)) throw new DockerError('CANCELLED', 'trust revoke has been cancelled', { hint: 'pass -y to revoke every signed tag without the question' });
  }
  const keys = await dockerKeys(ctx);
  requirePassphrase(keys.passphrases.interactive, ctx.app.env, 'repository', 'needed to revoke');
  await revokeImage(await openDockerRepo(ctx, ref), keys);
  out.out(`Successfully deleted signature for ${image}\n`);
}

// ---------------------------------------------------------------------------------------------
// signer add / remove

function printRepoError(ctx: Ctx, e: unknown): void {
  const { message, hint } = describeError(dockerPassphraseError(e));
  ctx.app.output.err(`${message}\n${hint ? `  hint: ${hint}\n` : ''}\n`);
  if (ctx.flags.debug && e instanceof Error && e.stack) ctx.app.output.log('debug', e.stack);
}

function isExpectedError(e: unknown): boolean {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string';
}

export async function signerAdd(ctx: Ctx, args: string[]): Promise<void> {
  requireArgs(ctx, args, 2);
  const [name, ...repos] = args as [string, ...string[]];
  validateName('signer', name);
  if (name === 'releases') throw new DockerError('INVALID_NAME', 'releases is a reserved keyword, use a different signer name', { hint: 'targets/releases holds the keys of every signer; name the signer after a person or a machine' });
  const files = Array.isArray(opts(ctx).key) ? (opts(ctx).key as string[]) : [];
  if (files.length === 0) throw new DockerError('USAGE', 'path to a public key must be provided using the `--key` flag', { hint: `e.g. dtrust signer add --key ${name}.pub ${name} ${repos[0]}` });
  const pubKeys = await readSignerKeys(ctx.app.cwd, ctx.app.now, files);
  const keys = await dockerKeys(ctx);
  requirePassphrase(keys.passphrases.interactive, ctx.app.env, 'repository', 'needed to add a signer (the repository key signs the delegation)');
  const out = ctx.app.output;
  const failed: string[] = [];
  for (const repo of repos) {
    out.out(`Adding signer "${name}" to ${repo}...\n`);
    try {
      await addSigner(await openDockerRepo(ctx, parseImageReference(repo)), keys, name, pubKeys, {
        initializing: () => out.out(`Initializing signed repository for ${repo}...\n`),
        initialized: () => out.out(`Successfully initialized "${repo}"\n`),
      });
      out.out(`Successfully added signer: ${name} to ${repo}\n\n`);
    } catch (e) {
      if (!isExpectedError(e)) throw e;
      printRepoError(ctx, e);
      failed.push(repo);
    }
  }
  if (failed.length > 0) throw new DockerError('PARTIAL', `failed to add signer to: ${failed.join(', ')}`, { hint: 'the reason for each repository is printed above' });
}

export async function signerRemove(ctx: Ctx, args: string[]): Promise<void> {
  requireArgs(ctx, args, 2);
  const [name, ...repos] = args as [string, ...string[]];
  const force = opts(ctx).force === true;
  const out = ctx.app.output;
  let keys: DockerKeys | undefined;
  const failed: string[] = [];
  for (const repo of repos) {
    out.out(`Removing signer "${name}" from ${repo}...\n`);
    try {
      if (name === 'releases') throw new DockerError('INVALID_NAME', 'releases is a reserved keyword and cannot be removed', { hint: 'name a signer listed by: dtrust inspect --pretty ' + repo });
      keys ??= await dockerKeys(ctx);
      requirePassphrase(keys.passphrases.interactive, ctx.app.env, 'repository', 'needed to remove a signer (the repository key signs the delegation)');
      const d = await openDockerRepo(ctx, parseImageReference(repo));
      if (await removeSigner(d, keys, name, { force, confirm: () => confirmLastSigner(ctx, name, repo) })) out.out(`Successfully removed ${name} from ${repo}\n\n`);
    } catch (e) {
      if (!isExpectedError(e)) throw e;
      printRepoError(ctx, e);
      failed.push(repo);
    }
  }
  if (failed.length > 0) throw new DockerError('PARTIAL', `error removing signer from: ${failed.join(', ')}`, { hint: 'the reason for each repository is printed above' });
}

async function confirmLastSigner(ctx: Ctx, name: string, repo: string): Promise<boolean> {
  const out = ctx.app.output;
  out.out(`The signer "${name}" signed the last released version of ${repo}. Removing this signer will make ${repo} unpullable. Are you sure you want to continue? [y/N] `);
  const answer = await new TerminalPrompt().readLine();
  if (answer === null) out.out('\n');
  if (yesAnswer(answer)) return true;
  out.out('\nAborting action.\n');
  out.log('warning', `${name} was not removed from ${repo}; pass -f to remove it without the question`);
  return false;
}

// ---------------------------------------------------------------------------------------------
// key generate / load

export async function keyGenerate(ctx: Ctx, args: string[]): Promise<void> {
  requireArgs(ctx, args, 1, true);
  const dir = opts(ctx).dir;
  const name = args[0]!;
  validateName('key', name);
  const out = ctx.app.output;
  const pubShown = await generateSignerKey({
    name,
    cwd: ctx.app.cwd,
    ...(typeof dir === 'string' && dir !== '' ? { dir } : {}),
    keys: () => dockerKeys(ctx),
    onGenerating: () => out.out(`Generating key for ${name}...\n`),
  });
  out.out(`Successfully generated and loaded private key. Corresponding public key available: ${pubShown}\n`);
}

/** docker's `trust key load [--name NAME] KEYFILE` (cli.md §11.9). */
export async function keyLoad(ctx: Ctx, args: string[]): Promise<void> {
  requireArgs(ctx, args, 1, true);
  const file = args[0]!;
  const nameOpt = opts(ctx).name;
  const name = typeof nameOpt === 'string' ? nameOpt : 'signer';
  if (name !== '') validateName('key', name);
  const out = ctx.app.output;
  out.out(`Loading key from "${file}"...\n`);
  await loadSignerKey({ file, cwd: ctx.app.cwd, name, keys: () => dockerKeys(ctx), log: (level, msg) => out.log(level, msg) });
  out.out(`Successfully imported key from ${file}\n`);
}
