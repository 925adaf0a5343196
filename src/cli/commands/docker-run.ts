// The docker trust verbs (cli.md §11), without a Docker engine:
//  - the image reference maps to GUN and tag exactly as docker maps it;
//  - `sign` signs the manifest the registry holds for the tag (its sha256 and length, fetched over
//    the Registry HTTP API v2 with docker's credentials), or --digest/--size, and always shows the
//    digest it signs;
//  - docker's environment: DOCKER_CONTENT_TRUST_SERVER, the two passphrase variables, DOCKER_CONFIG;
//  - docker's quirks fixed (cli.md §12 #2, #28-#32): the changelist is never wiped (changes staged
//    with notary stay staged and are not published), a repository owner without a signer key is
//    told what to do, signer remove works as in docker ≤ v25 and also when nothing was released,
//    http trust servers are accepted, and a missing registry login does not break initialisation.

import { readFile, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { KeyAccess } from '../../client/keys.js';
import { encodeDelegationData, encodeTargetData } from '../../client/changes.js';
import { delegationKeyFromPem } from '../../client/delegation.js';
import { publish as publishRepo } from '../../client/publish.js';
import { update } from '../../client/update.js';
import { decodePemBlocks, encodePem } from '../../crypto/pem.js';
import { isPrivateKeyBlock } from '../../crypto/keyfile.js';
import { DockerError, isDockerError } from '../../docker/errors.js';
import { initDockerRepository, repositoryMissing } from '../../docker/init.js';
import {
  VALID_NAME,
  credentialServer,
  defaultTrustServer,
  isLoopbackHost,
  parseImageReference,
  registryEndpoints,
  type ImageReference,
} from '../../docker/reference.js';
import { inspectJson, prettyInspect, trustRepoJson, type InspectData } from '../../docker/format.js';
import {
  RELEASES_ROLE,
  adminKeys,
  delegationRoles,
  holdsTargetsKey,
  releasedSignatures,
  roleHasTarget,
  roleSignatures,
  signableRoles,
  signerKeys,
  targetsByName,
} from '../../docker/trustdata.js';
import type { FileKeyStore } from '../../keystore/filestore.js';
import { importKeys } from '../../keystore/importexport.js';
import { KeyStoreError, isKeyStoreError } from '../../keystore/errors.js';
import { PassphraseRetriever } from '../../keystore/passphrase.js';
import { KeyService } from '../../keystore/service.js';
import type { KeyRecord } from '../../keystore/types.js';
import { certsDirectory, DOCKER_CERTS_D } from '../../remote/certsdir.js';
import { dockerConfigCredentials, dockerConfigDir, type CredentialProvider, type Credentials } from '../../remote/credentials.js';
import { RemoteError } from '../../remote/errors.js';
import { NotaryRemote } from '../../remote/notary.js';
import { RegistryClient } from '../../remote/registry.js';
import type { StagedChange } from '../../storage/changelist.js';
import type { TrustedCollectionBuilder } from '../../tuf/builder.js';
import { TrustError, isTrustError } from '../../tuf/errors.js';
import type { PublicKey } from '../../tuf/keys.js';
import { sameFileMeta } from '../../tuf/repo.js';
import { isDelegationName } from '../../tuf/roles.js';
import type { Ctx } from '../app.js';
import { CliError, UsageError, describeError } from '../errors.js';
import { keyAccessOver, openKeyService } from '../keys.js';
import { TerminalPrompt } from '../prompt.js';
import { locked, openSession, type Session } from '../session.js';
import { savePending } from './repo-run.js';

type Opts = Record<string, unknown>;
const opts = (ctx: Ctx): Opts => ctx.cmd.opts();

/** docker's names for passphrase aliases in prompts. */
const DOCKER_ALIASES: Readonly<Record<string, string>> = { root: 'root', targets: 'repository', snapshot: 'repository' };
const ROOT_VAR = 'DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE';
const REPO_VAR = 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE';
/** Extra registries docker would treat as insecure (its daemon's insecure-registries), comma-separated host[:port]. */
export const INSECURE_REGISTRIES_VARIABLE = 'DTRUST_INSECURE_REGISTRIES';

// ---------------------------------------------------------------------------------------------
// Shared plumbing

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

interface DockerKeys {
  access: KeyAccess;
  service: KeyService;
  files: FileKeyStore;
  passphrases: PassphraseRetriever;
  records: KeyRecord[];
}

/** The key stores as every command opens them, with docker's prompt names. */
async function dockerKeys(ctx: Ctx): Promise<DockerKeys> {
  const keys = await openKeyService(ctx, { displayAliases: DOCKER_ALIASES });
  const access = await keyAccessOver(keys);
  return { access, service: keys.service, files: keys.files, passphrases: keys.passphrases, records: access.records };
}

function hasVar(ctx: Ctx, names: readonly string[]): boolean {
  return names.some((n) => (ctx.app.env[n] ?? '') !== '');
}

/**
 * Without a terminal, a passphrase can only come from the environment: say which variable is
 * missing before anything is fetched, created or published.
 */
function requirePassphrase(ctx: Ctx, keys: DockerKeys, which: 'repository' | 'root', why: string): void {
  if (keys.passphrases.interactive) return;
  if (which === 'root' ? hasVar(ctx, [ROOT_VAR, 'NOTARY_ROOT_PASSPHRASE']) : hasVar(ctx, [REPO_VAR, 'NOTARY_TARGETS_PASSPHRASE', 'NOTARY_DELEGATION_PASSPHRASE'])) return;
  const variable = which === 'root' ? ROOT_VAR : REPO_VAR;
  throw new KeyStoreError('NO_PASSPHRASE', `no passphrase for the ${which === 'root' ? 'root' : 'repository and signer'} keys ${why}: ${variable} is not set and stdin is not a terminal`, {
    variable,
    hint:
      which === 'root'
        ? `set ${ROOT_VAR} to the root key's passphrase (a new root key gets it), or run on a terminal to be prompted`
        : `set ${REPO_VAR} to the passphrase of the repository (targets) and signer keys (new keys get it), or run on a terminal to be prompted`,
  });
}

/** KeyStore messages name notary's variable first; docker users set docker's. */
function dockerPassphraseError(e: unknown): unknown {
  if (!isKeyStoreError(e) || (e.code !== 'NO_PASSPHRASE' && e.code !== 'WRONG_PASSPHRASE' && e.code !== 'BAD_NEW_PASSPHRASE')) return e;
  const v = e.variable;
  if (v === undefined || !v.startsWith('NOTARY_')) return e;
  const docker = v === 'NOTARY_ROOT_PASSPHRASE' ? ROOT_VAR : REPO_VAR;
  return new KeyStoreError(e.code, e.message.split(v).join(docker), {
    variable: docker,
    ...(e.keyId !== undefined ? { keyId: e.keyId } : {}),
    ...(e.role !== undefined ? { role: e.role } : {}),
    hint: e.hint?.split(v).join(docker),
  }, e);
}

/** Same error class semantics for the renderer: code and hint kept, message prefixed (docker's errors.Wrap). */
function wrap(e: unknown, prefix: string): unknown {
  const inner = dockerPassphraseError(e);
  if (inner instanceof UsageError) return inner;
  const { message, hint, code } = describeError(inner);
  return new CliError(code ?? 'ERROR', `${prefix}: ${message}`, { hint }, inner);
}

interface DockerRepo {
  ref: ImageReference;
  s: Session;
  serverUrl: string;
  serverFrom: string;
  credentials: CredentialProvider;
}

function memo(p: CredentialProvider): CredentialProvider {
  let v: Promise<Credentials | undefined> | undefined;
  return () => (v ??= p());
}

/** Session, trust server and credentials for one image (cli.md §11.1). */
async function openRepo(ctx: Ctx, ref: ImageReference): Promise<DockerRepo> {
  const s = await openSession(ctx, ref.name);
  const env = ctx.app.env;
  let serverUrl: string;
  let serverFrom: string;
  if (ctx.flags.server) {
    serverUrl = s.cfg.serverUrl;
    serverFrom = '-s';
  } else if (env['DOCKER_CONTENT_TRUST_SERVER']) {
    serverUrl = env['DOCKER_CONTENT_TRUST_SERVER'];
    serverFrom = 'DOCKER_CONTENT_TRUST_SERVER';
  } else if (s.cfg.serverUrlFrom === 'config') {
    serverUrl = s.cfg.serverUrl;
    serverFrom = `remote_server.url in ${s.cfg.configFile}`;
  } else {
    serverUrl = defaultTrustServer(ref.domain);
    serverFrom = `docker's default for ${ref.domain}`;
  }
  return { ref, s, serverUrl, serverFrom, credentials: memo(dockerConfigCredentials(credentialServer(ref.domain), env)) };
}

function serverIsLoopback(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).host);
  } catch {
    return false;
  }
}

/**
 * The notary server, with the registry's credentials as docker sends them, and TLS from the
 * flags or configuration, else as docker: `$DOCKER_CONFIG/tls/<host:port>`.
 */
async function connectNotary(d: DockerRepo, scope: 'pull' | 'push,pull'): Promise<NotaryRemote> {
  const t = d.s.cfg.tls;
  const configDir = dockerConfigDir(d.s.ctx.app.env);
  const tls =
    t.caFile || t.certFile || t.keyFile || configDir === undefined || !d.serverUrl.startsWith('https:')
      ? t
      : { ...(await certsDirectory(join(configDir, 'tls', new URL(d.serverUrl).host), d.serverUrl, d.s.ctx.app.env['NODE_EXTRA_CA_CERTS'])), skipVerify: t.skipVerify };
  try {
    return await NotaryRemote.connect({
      baseUrl: d.serverUrl,
      gun: d.s.gun,
      env: d.s.ctx.app.env,
      scope,
      tls,
      credentials: d.credentials,
      allowInsecureAuth: serverIsLoopback(d.serverUrl),
    });
  } catch (e) {
    if (e instanceof RemoteError && (e.code === 'OFFLINE' || e.code === 'TIMEOUT')) {
      throw new RemoteError(e.code, `error contacting notary server: ${e.message}`, {
        url: e.url,
        hint: `the trust server is ${d.serverUrl} (from ${d.serverFrom}); set DOCKER_CONTENT_TRUST_SERVER to your notary server's URL`,
      }, e);
    }
    throw e;
  }
}

async function refreshWith(d: DockerRepo, remote: NotaryRemote | null, offlineCause?: Error): Promise<TrustedCollectionBuilder> {
  try {
    const { builder } = await update({
      gun: d.s.gun,
      now: d.s.ctx.app.now,
      cache: d.s.cache,
      remote,
      ...(offlineCause ? { offlineCause } : {}),
      pinning: d.s.cfg.trustPinning,
      warn: (m) => d.s.ctx.app.output.log('warning', m),
    });
    return builder;
  } catch (e) {
    if (e instanceof RemoteError && e.code === 'NOT_FOUND') {
      const repo = d.ref.original.replace(/[:@][^/]*$/, '');
      throw new RemoteError('NOT_FOUND', `remote trust data does not exist for ${d.s.gun} on ${d.serverUrl}`, {
        url: e.url,
        hint: `nothing was signed for it yet: sign a tag (dtrust sign ${repo}:<tag>) or add a signer (dtrust signer add --key <name>.pub <name> ${repo}); the trust server comes from ${d.serverFrom}`,
      }, e);
    }
    throw e;
  }
}

/** docker discards changes staged with notary for the GUN; dtrust keeps them, and says so. */
async function noteStaged(d: DockerRepo): Promise<void> {
  const { changes, corrupt } = await d.s.changelist.list();
  const n = changes.length + corrupt.length;
  if (n === 0) return;
  d.s.ctx.app.output.log(
    'warning',
    `${n} unpublished change${n === 1 ? ' is' : 's are'} staged for ${d.s.gun}; ${n === 1 ? 'it is' : 'they are'} kept as ${n === 1 ? 'it is' : 'they are'} and not part of this command (docker would discard ${n === 1 ? 'it' : 'them'}): see dtrust status ${d.s.gun}`,
  );
}

function change(c: Omit<StagedChange, 'file' | 'index'>, n: number): StagedChange {
  return { ...c, file: `(docker change ${n})`, index: n };
}

function targetChanges(roles: readonly string[], tag: string, sha: Buffer, size: number, action: 'create' | 'delete'): StagedChange[] {
  const data = action === 'create' ? encodeTargetData({ length: size, hashes: new Map([['sha256', sha]]) }) : null;
  return roles.map((role, i) => change({ action, scope: role, type: 'target', path: tag, data }, 100 + i));
}

/** docker's addStagedSigner: the keys with all paths, in targets/<name> and in targets/releases. */
function signerChanges(role: string, keys: PublicKey[]): StagedChange[] {
  const out: StagedChange[] = [];
  for (const r of [role, RELEASES_ROLE]) {
    out.push(change({ action: 'create', scope: r, type: 'delegation', path: '', data: encodeDelegationData({ threshold: 1, addKeys: keys }) }, out.length));
    out.push(change({ action: 'create', scope: r, type: 'delegation', path: '', data: encodeDelegationData({ addPaths: [''] }) }, out.length));
  }
  return out;
}

async function publishChanges(d: DockerRepo, remote: NotaryRemote, keys: DockerKeys, changes: StagedChange[]): Promise<void> {
  try {
    await publishRepo({
      gun: d.s.gun,
      now: d.s.ctx.app.now,
      cache: d.s.cache,
      changelist: d.s.changelist,
      remote,
      keys: keys.access,
      pinning: d.s.cfg.trustPinning,
      warn: (m) => d.s.ctx.app.output.log('warning', m),
      staged: false,
      extraChanges: changes,
      savePartial: (role, bytes) => savePending(d.s, role, bytes),
    });
  } catch (e) {
    throw explainPublish(e, d);
  }
}

function explainPublish(e: unknown, d: DockerRepo): unknown {
  if (isTrustError(e, 'NO_SIGNING_KEY') && e.fields.role === 'targets') {
    return new TrustError('NO_SIGNING_KEY', `this machine does not hold the repository (targets) key of ${d.s.gun}: ${e.message}`, {
      ...e.fields,
      hint: `run this where the repository owner's keys are, or import the targets key there first (dtrust key import <key.pem> --role targets --gun ${d.s.gun})`,
    }, e);
  }
  if (e instanceof RemoteError && e.code === 'REJECTED' && e.serverError?.code === 'VERSION') {
    return new RemoteError(e.code, 'the trust server has newer metadata than this command was based on (someone published in between)', { url: e.url, hint: 'run the same command again' }, e);
  }
  return e;
}

/** docker's registry username for this image (the signer name of a new repository). */
async function registryUsername(d: DockerRepo): Promise<string | undefined> {
  try {
    return (await d.credentials())?.username;
  } catch {
    return undefined;
  }
}

/** docker's getOrGenerateNotaryKey for a signer: the lowest-sorted key with that role, else a new one. */
async function signerKey(keys: DockerKeys, name: string): Promise<PublicKey> {
  const existing = keys.records.filter((r) => r.role === name).map((r) => r.id).sort()[0];
  if (existing !== undefined) return (await keys.service.signer(existing)).publicKey;
  return (await keys.access.generate(name, '')).publicKey;
}

function validateName(kind: 'signer' | 'key', name: string): void {
  if (!VALID_NAME.test(name)) {
    throw new DockerError(
      'INVALID_NAME',
      `${kind} name "${name}" must start with lowercase alphanumeric characters and can include "-" or "_" after the first character`,
      { hint: `use a name such as alice, ci-bot or release_2` },
    );
  }
}

function yesAnswer(answer: string | null): boolean {
  if (answer === null) return false;
  const t = answer.trim().toLowerCase();
  return t === 'y' || t === 'yes';
}

// ---------------------------------------------------------------------------------------------
// sign

interface SignTarget {
  sha256: Buffer;
  size: number;
  source: string;
}

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

async function registryTarget(ctx: Ctx, d: DockerRepo): Promise<SignTarget> {
  const env = ctx.app.env;
  const insecure = (env[INSECURE_REGISTRIES_VARIABLE] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const endpoints = registryEndpoints(d.ref.domain, insecure);
  const client = await RegistryClient.connect({
    endpoints,
    repository: d.ref.path,
    credentials: d.credentials,
    allowInsecureAuth: isLoopbackHost(d.ref.domain) || insecure.includes(d.ref.domain),
    onFallback: (from, e) => ctx.app.output.log('info', `${from}: ${e.message}; trying the next endpoint`),
    certsDir: DOCKER_CERTS_D,
    nodeExtraCaCerts: env['NODE_EXTRA_CA_CERTS'],
  });
  try {
    const m = await client.manifest(d.ref.tag!);
    return { sha256: m.sha256, size: m.size, source: `${client.baseUrl} (${m.mediaType})` };
  } finally {
    client.close();
  }
}

export async function sign(ctx: Ctx, args: string[]): Promise<void> {
  requireArgs(ctx, args, 1, true);
  const o = opts(ctx);
  const image = args[0]!;
  if (o.local) {
    throw new DockerError(
      'USAGE',
      '--local signs an image in the local Docker engine, which dtrust does not use',
      { hint: `push the image first (docker push, skopeo copy, ...), then run: dtrust sign ${image} (it signs the manifest the registry holds)` },
    );
  }
  const ref = parseImageReference(image);
  if (ref.tag === undefined) {
    if (ref.digest !== undefined) throw new DockerError('TAG_REQUIRED', 'cannot use a digest reference for IMAGE:TAG', { hint: 'sign a tag: IMAGE:TAG' });
    throw new DockerError('TAG_REQUIRED', `no tag specified for ${image}`, { hint: `name the tag to sign: ${image}:<tag>` });
  }
  const tag = ref.tag;
  const pinned = pinnedTarget(o);
  const keys = await dockerKeys(ctx);
  requirePassphrase(ctx, keys, 'repository', 'needed to sign');
  const d = await openRepo(ctx, ref);
  await noteStaged(d);
  const out = ctx.app.output;

  const target = pinned ?? (await registryTarget(ctx, d));
  const hex = target.sha256.toString('hex');
  out.out(`${tag}: digest: sha256:${hex} size: ${target.size}${pinned ? ' (from --digest, not checked against the registry)' : ''}\n`);
  if (!pinned) out.log('info', `manifest read from ${target.source}`);

  const gunTag = `${ref.name}:${tag}`;
  const notes: string[] = [];
  try {
    await locked(d.s, async () => {
      const remote = await connectNotary(d, 'push,pull');
      try {
        if (await repositoryMissing(remote)) {
          requirePassphrase(ctx, keys, 'root', `to create the repository ${d.s.gun}`);
          const user = await registryUsername(d);
          const role = user !== undefined ? `targets/${user}` : undefined;
          if (role !== undefined && isDelegationName(role) && VALID_NAME.test(user!)) {
            await initDockerRepository({ gun: d.s.gun, now: ctx.app.now, cache: d.s.cache, remote, keys: keys.access });
            const key = await signerKey(keys, user!);
            out.out(`Signing and pushing trust metadata for ${image}\n`);
            await publishChanges(d, remote, keys, [...signerChanges(role, [key]), ...targetChanges([role, RELEASES_ROLE], tag, target.sha256, target.size, 'create')]);
            notes.push(`Created signer: ${user}\n`, `Finished initializing signed repository for ${image}\n`);
          } else {
            await initDockerRepository({ gun: d.s.gun, now: ctx.app.now, cache: d.s.cache, remote, keys: keys.access });
            out.out(`Signing and pushing trust metadata for ${image}\n`);
            await publishChanges(d, remote, keys, targetChanges(['targets'], tag, target.sha256, target.size, 'create'));
            notes.push(`Finished initializing "${d.s.gun}"\n`);
            out.log(
              'warning',
              user === undefined
                ? `no registry login for ${ref.domain}, so no signer was created: ${tag} is signed with the repository key (targets); add signers with dtrust signer add`
                : `the registry user name ${JSON.stringify(user)} cannot name a signer role, so no signer was created: ${tag} is signed with the repository key (targets); add signers with dtrust signer add`,
            );
          }
          return;
        }
        const builder = await refreshWith(d, remote);
        const { roles } = signableRoles(builder, tag, keys.access.has, { gun: d.s.gun, image, verb: 'sign' });
        const existing = releasedSignatures(targetsByName(builder, tag));
        out.out(`Signing and pushing trust metadata for ${image}\n`);
        const first = existing[0];
        if (first) out.out(`Existing signatures for tag ${first.tag} digest ${first.digest} from:\n${[...first.signers].sort().join(', ')}\n`);
        for (const row of existing) {
          if (row.digest !== hex) out.log('warning', `${tag} was signed for digest ${row.digest}; signing the new digest ${hex} replaces it in ${roles.join(', ')}`);
        }
        const meta = { length: target.size, hashes: new Map([['sha256', target.sha256]]) };
        const todo = roles.filter((r) => {
          const current = (r === 'targets' ? builder.targets : builder.delegations.get(r))?.meta.targets.get(tag);
          return !current || !sameFileMeta(current, meta);
        });
        if (todo.length === 0) {
          notes.push(`${tag} is already signed with this digest in ${roles.join(', ')}; nothing to publish\n`);
          return;
        }
        await publishChanges(d, remote, keys, targetChanges(todo, tag, target.sha256, target.size, 'create'));
      } finally {
        remote.close();
      }
    });
  } catch (e) {
    throw wrap(e, `failed to sign ${gunTag}`);
  }
  for (const n of notes) out.out(n);
  out.out(`Successfully signed ${gunTag}\n`);
}

// ---------------------------------------------------------------------------------------------
// inspect

async function trustInfo(ctx: Ctx, arg: string): Promise<InspectData> {
  const ref = parseImageReference(arg);
  const d = await openRepo(ctx, ref);
  let builder: TrustedCollectionBuilder;
  try {
    let remote: NotaryRemote | null = null;
    let offline: Error | undefined;
    try {
      remote = await connectNotary(d, 'pull');
    } catch (e) {
      if (!(e instanceof RemoteError && (e.code === 'OFFLINE' || e.code === 'TIMEOUT'))) throw e;
      ctx.app.output.log('warning', `${e.message}; using the cached trust data`);
      offline = e;
    }
    try {
      builder = await refreshWith(d, remote, offline);
    } finally {
      remote?.close();
    }
  } catch (e) {
    const { message, hint } = describeError(e);
    throw new DockerError('NOT_SIGNED', `no signatures or cannot access ${arg}`, { hint: `${message}${hint ? `; ${hint}` : ''}` }, e);
  }
  const rows = releasedSignatures(targetsByName(builder, ref.tag));
  const admin = adminKeys(builder);
  return { rows, signers: signerKeys(delegationRoles(builder)), rootKeyIds: admin.root, targetsKeyIds: admin.targets };
}

export async function inspect(ctx: Ctx, args: string[]): Promise<void> {
  requireArgs(ctx, args, 1);
  const out = ctx.app.output;
  if (opts(ctx).pretty) {
    for (let i = 0; i < args.length; i++) {
      out.out(prettyInspect(args[i]!, await trustInfo(ctx, args[i]!)));
      if (i < args.length - 1) out.out('\n\n');
    }
    return;
  }
  const ok = [];
  const errors: { message: string; hint?: string }[] = [];
  for (const arg of args) {
    try {
      ok.push(trustRepoJson(arg, await trustInfo(ctx, arg)));
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
  requirePassphrase(ctx, keys, 'repository', 'needed to revoke');
  const d = await openRepo(ctx, ref);
  await noteStaged(d);
  try {
    await locked(d.s, async () => {
      const remote = await connectNotary(d, 'push,pull');
      try {
        const builder = await refreshWith(d, remote);
        let names: string[];
        if (ref.tag !== undefined) {
          const e = builder.lookup(ref.tag, [RELEASES_ROLE]) ?? builder.lookup(ref.tag, ['targets']);
          if (!e) throw new DockerError('NOT_SIGNED', `No valid trust data for ${ref.tag}`, { hint: `see what is signed with: dtrust inspect --pretty ${image.slice(0, image.length - ref.tag.length - 1)}` });
          names = [ref.tag];
        } else {
          names = builder.listTargets([RELEASES_ROLE, 'targets']).map((e) => e.name);
          if (names.length === 0) throw new DockerError('NOT_SIGNED', 'no signed tags to remove', { hint: `see what is signed with: dtrust inspect --pretty ${image}` });
        }
        const changes: StagedChange[] = [];
        for (const name of names) {
          let roles: string[] = [];
          let noRole: unknown;
          try {
            roles = signableRoles(builder, name, keys.access.has, { gun: d.s.gun, image, verb: 'revoke' }).roles;
          } catch (e) {
            if (!isDockerError(e, 'NO_SIGNABLE_ROLE')) throw e;
            noRole = e;
          }
          const holding = roles.filter((r) => roleHasTarget(builder, r, name));
          // docker never touches targets once signers exist, so a tag the owner signed into targets
          // before stays pullable after "revoke": remove it there too when the targets key is here.
          if (!holding.includes('targets') && roleHasTarget(builder, 'targets', name) && holdsTargetsKey(builder, keys.access.has)) holding.push('targets');
          if (holding.length === 0 && noRole !== undefined) throw noRole;
          if (holding.length === 0) {
            const where = targetsByName(builder, name).map((t) => t.role);
            throw new DockerError(
              'NO_SIGNABLE_ROLE',
              `${name} is signed only in ${[...new Set(where)].join(', ')}, and this machine holds no key of ${where.length === 1 ? 'that role' : 'those roles'}`,
              { hint: 'revoke it where a key of those roles is, or load one: dtrust key load <key.pem> --name <signer>' },
            );
          }
          changes.push(...targetChanges(holding, name, Buffer.alloc(0), 0, 'delete'));
        }
        await publishChanges(d, remote, keys, changes);
      } finally {
        remote.close();
      }
    });
  } catch (e) {
    throw wrap(e, `could not remove signature for ${image}`);
  }
  out.out(`Successfully deleted signature for ${image}\n`);
}

// ---------------------------------------------------------------------------------------------
// signer add / remove

const MAX_PUBLIC_KEY_FILE = 1024 * 1024;

async function ingestPublicKeys(ctx: Ctx, files: readonly string[]): Promise<PublicKey[]> {
  const out: PublicKey[] = [];
  for (const f of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(resolve(ctx.app.cwd, f));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
      throw new DockerError('KEY_FILE', `unable to read public key from file: open ${f}: ${why}`, { hint: "pass the signer's public key file, e.g. the NAME.pub that dtrust key generate NAME wrote" });
    }
    const text = bytes.subarray(0, MAX_PUBLIC_KEY_FILE).toString('latin1');
    try {
      out.push(delegationKeyFromPem(text, f, ctx.app.now));
    } catch (e) {
      const { message, hint } = describeError(e);
      throw new DockerError('KEY_FILE', `could not parse public key from file: ${f}: ${message.replace(/^unable to parse valid public key certificate from PEM file \S+: /, '')}`, { hint: hint ?? 'pass a PEM file with a PUBLIC KEY or CERTIFICATE block' });
    }
  }
  return out;
}

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
  const pubKeys = await ingestPublicKeys(ctx, files);
  const keys = await dockerKeys(ctx);
  requirePassphrase(ctx, keys, 'repository', 'needed to add a signer (the repository key signs the delegation)');
  const out = ctx.app.output;
  const failed: string[] = [];
  for (const repo of repos) {
    out.out(`Adding signer "${name}" to ${repo}...\n`);
    try {
      await addSignerToRepo(ctx, keys, name, repo, pubKeys);
      out.out(`Successfully added signer: ${name} to ${repo}\n\n`);
    } catch (e) {
      if (!isExpectedError(e)) throw e;
      printRepoError(ctx, e);
      failed.push(repo);
    }
  }
  if (failed.length > 0) throw new DockerError('PARTIAL', `failed to add signer to: ${failed.join(', ')}`, { hint: 'the reason for each repository is printed above' });
}

async function addSignerToRepo(ctx: Ctx, keys: DockerKeys, name: string, repo: string, pubKeys: PublicKey[]): Promise<void> {
  const ref = parseImageReference(repo);
  const d = await openRepo(ctx, ref);
  await noteStaged(d);
  const out = ctx.app.output;
  await locked(d.s, async () => {
    const remote = await connectNotary(d, 'push,pull');
    try {
      if (await repositoryMissing(remote)) {
        out.out(`Initializing signed repository for ${repo}...\n`);
        requirePassphrase(ctx, keys, 'root', `to create the repository ${d.s.gun}`);
        await initDockerRepository({ gun: d.s.gun, now: ctx.app.now, cache: d.s.cache, remote, keys: keys.access });
        out.out(`Successfully initialized "${repo}"\n`);
      } else {
        await refreshWith(d, remote);
      }
      try {
        await publishChanges(d, remote, keys, signerChanges(`targets/${name}`, pubKeys));
      } catch (e) {
        throw wrap(e, `could not add signer to repo: ${name}`);
      }
    } finally {
      remote.close();
    }
  });
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
      requirePassphrase(ctx, keys, 'repository', 'needed to remove a signer (the repository key signs the delegation)');
      await removeSingleSigner(ctx, keys, name, repo, force);
    } catch (e) {
      if (!isExpectedError(e)) throw e;
      printRepoError(ctx, e);
      failed.push(repo);
    }
  }
  if (failed.length > 0) throw new DockerError('PARTIAL', `error removing signer from: ${failed.join(', ')}`, { hint: 'the reason for each repository is printed above' });
}

async function removeSingleSigner(ctx: Ctx, keys: DockerKeys, name: string, repo: string, force: boolean): Promise<void> {
  const ref = parseImageReference(repo);
  const d = await openRepo(ctx, ref);
  await noteStaged(d);
  const out = ctx.app.output;
  const role = `targets/${name}`;
  const removed = await locked(d.s, async () => {
    const remote = await connectNotary(d, 'push,pull');
    try {
      let builder: TrustedCollectionBuilder;
      try {
        builder = await refreshWith(d, remote);
      } catch (e) {
        throw wrap(e, `error retrieving signers for ${repo}`);
      }
      const delegations = delegationRoles(builder);
      const signer = delegations.find((r) => r.name === role);
      if (!signer) {
        const names = delegations.filter((r) => r.name !== RELEASES_ROLE).map((r) => r.name.slice('targets/'.length));
        throw new DockerError('NO_SUCH_SIGNER', `no signer ${name} for repository ${repo}`, { hint: names.length > 0 ? `its signers are: ${names.join(', ')}` : 'the repository has no signers' });
      }
      const releases = delegations.find((r) => r.name === RELEASES_ROLE);
      if (releases && !force && isLastSignerForReleases(builder, releases.threshold, signer.keyIds)) {
        out.out(
          `The signer "${name}" signed the last released version of ${repo}. Removing this signer will make ${repo} unpullable. Are you sure you want to continue? [y/N] `,
        );
        const answer = await new TerminalPrompt().readLine();
        if (answer === null) out.out('\n');
        if (!yesAnswer(answer)) {
          out.out('\nAborting action.\n');
          out.log('warning', `${name} was not removed from ${repo}; pass -f to remove it without the question`);
          return false;
        }
      }
      const changes: StagedChange[] = [];
      if (releases && releases.keyIds.some((id) => signer.keyIds.includes(id))) {
        changes.push(change({ action: 'update', scope: RELEASES_ROLE, type: 'delegation', path: '', data: encodeDelegationData({ removeKeys: signer.keyIds }) }, 0));
      }
      changes.push(change({ action: 'delete', scope: role, type: 'delegation', path: '', data: null }, 1));
      await publishChanges(d, remote, keys, changes);
      return true;
    } finally {
      remote.close();
    }
  });
  if (removed) out.out(`Successfully removed ${name} from ${repo}\n\n`);
}

/**
 * docker's isLastSignerForReleases, except that a targets/releases that was never signed is no
 * reason to refuse (cli.md §12 #30): the signatures left once this signer's keys are gone fall
 * below the role's threshold.
 */
function isLastSignerForReleases(builder: TrustedCollectionBuilder, threshold: number, signerIds: readonly string[]): boolean {
  const sigs = roleSignatures(builder, RELEASES_ROLE);
  if (sigs.length === 0) return false;
  const left = sigs.filter((s) => !signerIds.includes(s.canonicalId)).length;
  return left < threshold;
}

// ---------------------------------------------------------------------------------------------
// key generate / load

export async function keyGenerate(ctx: Ctx, args: string[]): Promise<void> {
  requireArgs(ctx, args, 1, true);
  const dir = opts(ctx).dir;
  await dockerKeyGenerate(ctx, args[0]!, typeof dir === 'string' && dir !== '' ? { dir } : {});
}

/**
 * docker's `trust key generate NAME [--dir DIR]` (cli.md §11.9): an ECDSA P-256 key in the trust
 * directory with role NAME and no GUN, and `<DIR>/<NAME>.pub` (PUBLIC KEY PEM with a `role`
 * header, mode 0600) to give to the repository owner for `signer add`. DIR defaults to the
 * working directory.
 */
async function dockerKeyGenerate(ctx: Ctx, name: string, o: { dir?: string } = {}): Promise<void> {
  validateName('key', name);
  const dirShown = o.dir ?? ctx.app.cwd;
  const dir = isAbsolute(dirShown) ? dirShown : resolve(ctx.app.cwd, dirShown);
  try {
    await stat(dir);
  } catch {
    throw new DockerError('FILE', `public key path does not exist: "${dirShown}"`, { hint: 'create the directory first, or leave out --dir to write to the working directory' });
  }
  const pubShown = join(dirShown, `${name}.pub`);
  const pubPath = join(dir, `${name}.pub`);
  if (await exists(pubPath)) throw new DockerError('FILE', `public key file already exists: "${pubShown}"`, { hint: 'choose another name, or move the old file away' });
  const out = ctx.app.output;
  out.out(`Generating key for ${name}...\n`);
  let publicKey: PublicKey;
  try {
    const keys = await dockerKeys(ctx);
    ({ publicKey } = await keys.service.create({ role: name }));
  } catch (e) {
    throw wrap(e, `failed to generate key for ${name}`);
  }
  const pem = encodePem({ type: 'PUBLIC KEY', headers: new Map([['role', name]]), bytes: publicKey.pub });
  try {
    await writeFile(pubPath, pem, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    throw new DockerError('FILE', `failed to write public key to ${pubShown}: ${(e as Error).message}`, { hint: 'the private key is in the trust directory already; write its public key with: dtrust key export' });
  }
  out.out(`Successfully generated and loaded private key. Corresponding public key available: ${pubShown}\n`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

const MAX_PRIVATE_KEY_FILE = 1024 * 1024;

/** docker's `trust key load [--name NAME] KEYFILE` (cli.md §11.9). */
export async function keyLoad(ctx: Ctx, args: string[]): Promise<void> {
  requireArgs(ctx, args, 1, true);
  const file = args[0]!;
  const nameOpt = opts(ctx).name;
  const name = typeof nameOpt === 'string' ? nameOpt : 'signer';
  if (name !== '') validateName('key', name);
  const out = ctx.app.output;
  out.out(`Loading key from "${file}"...\n`);
  const path = resolve(ctx.app.cwd, file);
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DockerError('KEY_FILE', `refusing to load key from ${file}: stat ${file}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`, { hint: 'pass the path of a private key file (PEM)' });
  }
  if ((st.mode & 0o077) !== 0) {
    throw new DockerError('KEY_FILE', `refusing to load key from ${file}: private key file ${file} must not be readable or writable by others`, { hint: `run: chmod 600 ${file}` });
  }
  if (st.size > MAX_PRIVATE_KEY_FILE) throw new DockerError('KEY_FILE', `refusing to load key from ${file}: it is larger than 1 MiB`, { hint: 'pass a PEM private key file' });
  const text = (await readFile(path)).toString('latin1');
  if (!decodePemBlocks(text).some(isPrivateKeyBlock)) {
    throw new DockerError(
      'KEY_FILE',
      `error importing key from ${file}: provided file ${file} is not a supported private key - to add a signer's public key use dtrust signer add`,
      { hint: 'key load takes a private key (BEGIN PRIVATE KEY, ENCRYPTED PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)' },
    );
  }
  const keys = await dockerKeys(ctx);
  let result;
  try {
    result = await importKeys(keys.files, [{ name: file, text }], {
      role: name === '' ? 'signer' : name,
      passphrases: keys.passphrases,
      log: (level, msg) => out.log(level, msg),
    });
  } catch (e) {
    if (isKeyStoreError(e, 'WRONG_PASSPHRASE')) {
      throw wrap(new KeyStoreError('WRONG_PASSPHRASE', `cannot load key from provided file ${file}: could not decrypt key`, { ...(e.variable ? { variable: e.variable } : {}), hint: e.hint }, e), `error importing key from ${file}`);
    }
    throw wrap(e, `error importing key from ${file}`);
  }
  if (result.imported.length === 0 && result.unchanged.length === 0) {
    const why = result.rejected.map((r) => r.reason).join('; ');
    throw new DockerError('KEY_FILE', `error importing key from ${file}: ${why}`, { hint: 'key load takes an ECDSA, RSA or Ed25519 private key in PEM form' });
  }
  out.out(`Successfully imported key from ${file}\n`);
}
