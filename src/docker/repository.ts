// One image's trust repository as the docker verbs use it (cli.md §11.1): the GUN's cache and
// changelist, the trust server docker would use, docker's registry credentials and the key stores
// (cli/docker-session.ts wires them), and the steps the verbs share: refresh, publish docker's
// changes, say what stays staged, find a signer's key.

import type { KeyAccess } from '../client/keys.js';
import { savePending } from '../client/pending.js';
import { publish } from '../client/publish.js';
import { update } from '../client/update.js';
import type { FileKeyStore } from '../keystore/filestore.js';
import type { PassphraseRetriever } from '../keystore/passphrase.js';
import type { KeyService } from '../keystore/service.js';
import type { KeyRecord } from '../keystore/types.js';
import type { CredentialProvider } from '../remote/credentials.js';
import { RemoteError } from '../remote/errors.js';
import type { NotaryRemote } from '../remote/notary.js';
import type { RegistryClient } from '../remote/registry.js';
import type { MetadataCache } from '../storage/cache.js';
import type { Changelist, StagedChange } from '../storage/changelist.js';
import type { TrustedCollectionBuilder } from '../tuf/builder.js';
import { TrustError, isTrustError } from '../tuf/errors.js';
import type { PublicKey } from '../tuf/keys.js';
import type { TrustPinning } from '../tuf/rootcerts.js';
import type { ImageReference } from './reference.js';

export interface DockerRepo {
  ref: ImageReference;
  gun: string;
  now: number;
  env: Readonly<Record<string, string | undefined>>;
  cache: MetadataCache;
  changelist: Changelist;
  pinning: TrustPinning | undefined;
  /** The trust server, and where its URL came from (a flag, the environment, the config file, docker's default). */
  serverUrl: string;
  serverFrom: string;
  /** docker's credentials for the image's registry (the trust server gets them too). */
  credentials: CredentialProvider;
  /** The trust server, with docker's credentials and TLS. */
  connect(scope: 'pull' | 'push,pull'): Promise<NotaryRemote>;
  /** The image's registry, through docker's endpoints in order. */
  registry(): Promise<RegistryClient>;
  /** Runs `fn` under the GUN's lock. */
  locked<T>(fn: () => Promise<T>): Promise<T>;
  log(level: 'warning' | 'info', msg: string): void;
}

/** The key stores as every verb opens them, with docker's prompt names. */
export interface DockerKeys {
  access: KeyAccess;
  service: KeyService;
  files: FileKeyStore;
  passphrases: PassphraseRetriever;
  /** The keys at hand; kept current as keys are generated. */
  records: KeyRecord[];
}

export async function refreshRepo(d: DockerRepo, remote: NotaryRemote | null, offlineCause?: Error): Promise<TrustedCollectionBuilder> {
  try {
    const { builder } = await update({
      gun: d.gun,
      now: d.now,
      cache: d.cache,
      remote,
      ...(offlineCause ? { offlineCause } : {}),
      pinning: d.pinning,
      warn: (m) => d.log('warning', m),
    });
    return builder;
  } catch (e) {
    if (e instanceof RemoteError && e.code === 'NOT_FOUND') {
      const repo = d.ref.original.replace(/[:@][^/]*$/, '');
      throw new RemoteError('NOT_FOUND', `remote trust data does not exist for ${d.gun} on ${d.serverUrl}`, {
        url: e.url,
        hint: `nothing was signed for it yet: sign a tag (dtrust sign ${repo}:<tag>) or add a signer (dtrust signer add --key <name>.pub <name> ${repo}); the trust server comes from ${d.serverFrom}`,
      }, e);
    }
    throw e;
  }
}

/** docker discards changes staged with notary for the GUN; dtrust keeps them, and says so. */
export async function noteStaged(d: DockerRepo): Promise<void> {
  const { changes, corrupt } = await d.changelist.list();
  const n = changes.length + corrupt.length;
  if (n === 0) return;
  d.log(
    'warning',
    `${n} unpublished change${n === 1 ? ' is' : 's are'} staged for ${d.gun}; ${n === 1 ? 'it is' : 'they are'} kept as ${n === 1 ? 'it is' : 'they are'} and not part of this command (docker would discard ${n === 1 ? 'it' : 'them'}): see dtrust status ${d.gun}`,
  );
}

/** Publishes docker's changes alone (the staged ones stay staged). */
export async function publishChanges(d: DockerRepo, remote: NotaryRemote, keys: DockerKeys, changes: StagedChange[]): Promise<void> {
  try {
    await publish({
      gun: d.gun,
      now: d.now,
      cache: d.cache,
      changelist: d.changelist,
      remote,
      keys: keys.access,
      pinning: d.pinning,
      warn: (m) => d.log('warning', m),
      staged: false,
      extraChanges: changes,
      savePartial: (role, bytes) => savePending(d.cache, role, bytes),
    });
  } catch (e) {
    throw explainPublish(e, d);
  }
}

function explainPublish(e: unknown, d: DockerRepo): unknown {
  if (isTrustError(e, 'NO_SIGNING_KEY') && e.fields.role === 'targets') {
    return new TrustError('NO_SIGNING_KEY', `this machine does not hold the repository (targets) key of ${d.gun}: ${e.message}`, {
      ...e.fields,
      hint: `run this where the repository owner's keys are, or import the targets key there first (dtrust key import <key.pem> --role targets --gun ${d.gun})`,
    }, e);
  }
  if (e instanceof RemoteError && e.code === 'REJECTED' && e.serverError?.code === 'VERSION') {
    return new RemoteError(e.code, 'the trust server has newer metadata than this command was based on (someone published in between)', { url: e.url, hint: 'run the same command again' }, e);
  }
  return e;
}

/** docker's registry username for this image (the signer name of a new repository). */
export async function registryUsername(d: DockerRepo): Promise<string | undefined> {
  try {
    return (await d.credentials())?.username;
  } catch {
    return undefined;
  }
}

/** docker's getOrGenerateNotaryKey for a signer: the lowest-sorted key with that role, else a new one. */
export async function signerKey(keys: DockerKeys, name: string): Promise<PublicKey> {
  const existing = keys.records.filter((r) => r.role === name).map((r) => r.id).sort()[0];
  if (existing !== undefined) return (await keys.service.signer(existing)).publicKey;
  return (await keys.access.generate(name, '')).publicKey;
}
