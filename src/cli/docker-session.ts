// The docker verbs' wiring (cli.md §11.1), beside session.ts: one image's trust repository with
// the trust server docker would use (-s, DOCKER_CONTENT_TRUST_SERVER, the config file, docker's
// default for the registry), docker's registry credentials (sent to the trust server too), TLS
// from the flags and configuration or docker's `$DOCKER_CONFIG/tls/<host:port>`, the registry's
// endpoints, and the key stores with docker's prompt names.

import { join } from 'node:path';
import type { DockerKeys, DockerRepo } from '../docker/repository.js';
import { DOCKER_ALIASES } from '../docker/passphrases.js';
import { credentialServer, defaultTrustServer, isLoopbackHost, registryEndpoints, type ImageReference } from '../docker/reference.js';
import type { CredentialProvider, Credentials } from '../remote/credentials.js';
import { certsDirectory, DOCKER_CERTS_D } from '../remote/certsdir.js';
import { dockerConfigCredentials, dockerConfigDir } from '../remote/credentials.js';
import { RemoteError } from '../remote/errors.js';
import { NotaryRemote } from '../remote/notary.js';
import { RegistryClient } from '../remote/registry.js';
import type { Ctx } from './app.js';
import { keyAccessOver, openKeyService } from './keys.js';
import { locked, openSession, type Session } from './session.js';

/** Extra registries docker would treat as insecure (its daemon's insecure-registries), comma-separated host[:port]. */
export const INSECURE_REGISTRIES_VARIABLE = 'DTRUST_INSECURE_REGISTRIES';

export async function openDockerRepo(ctx: Ctx, ref: ImageReference): Promise<DockerRepo> {
  const s = await openSession(ctx, ref.name);
  const env = ctx.app.env;
  const { serverUrl, serverFrom } = trustServer(ctx, s, ref);
  const d: DockerRepo = {
    ref,
    gun: s.gun,
    now: ctx.app.now,
    env,
    cache: s.cache,
    changelist: s.changelist,
    pinning: s.cfg.trustPinning,
    serverUrl,
    serverFrom,
    credentials: memo(dockerConfigCredentials(credentialServer(ref.domain), env)),
    connect: (scope) => connectNotary(s, d, scope),
    registry: () => openRegistry(ctx, d),
    locked: (fn) => locked(s, fn),
    log: (level, msg) => ctx.app.output.log(level, msg),
  };
  return d;
}

/** The key stores as every verb opens them, with docker's prompt names. */
export async function dockerKeys(ctx: Ctx): Promise<DockerKeys> {
  const keys = await openKeyService(ctx, { displayAliases: DOCKER_ALIASES });
  const access = await keyAccessOver(keys);
  return { access, service: keys.service, files: keys.files, passphrases: keys.passphrases, records: access.records };
}

function trustServer(ctx: Ctx, s: Session, ref: ImageReference): { serverUrl: string; serverFrom: string } {
  const fromEnv = ctx.app.env['DOCKER_CONTENT_TRUST_SERVER'];
  if (ctx.flags.server) return { serverUrl: s.cfg.serverUrl, serverFrom: '-s' };
  if (fromEnv) return { serverUrl: fromEnv, serverFrom: 'DOCKER_CONTENT_TRUST_SERVER' };
  if (s.cfg.serverUrlFrom === 'config') return { serverUrl: s.cfg.serverUrl, serverFrom: `remote_server.url in ${s.cfg.configFile}` };
  return { serverUrl: defaultTrustServer(ref.domain), serverFrom: `docker's default for ${ref.domain}` };
}

function memo(p: CredentialProvider): CredentialProvider {
  let v: Promise<Credentials | undefined> | undefined;
  return () => (v ??= p());
}

function serverIsLoopback(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).host);
  } catch {
    return false;
  }
}

async function connectNotary(s: Session, d: DockerRepo, scope: 'pull' | 'push,pull'): Promise<NotaryRemote> {
  const t = s.cfg.tls;
  const configDir = dockerConfigDir(d.env);
  const tls =
    t.caFile || t.certFile || t.keyFile || configDir === undefined || !d.serverUrl.startsWith('https:')
      ? t
      : { ...(await certsDirectory(join(configDir, 'tls', new URL(d.serverUrl).host), d.serverUrl, d.env['NODE_EXTRA_CA_CERTS'])), skipVerify: t.skipVerify };
  try {
    return await NotaryRemote.connect({
      baseUrl: d.serverUrl,
      gun: d.gun,
      env: d.env,
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

function openRegistry(ctx: Ctx, d: DockerRepo): Promise<RegistryClient> {
  const env = d.env;
  const insecure = (env[INSECURE_REGISTRIES_VARIABLE] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  return RegistryClient.connect({
    endpoints: registryEndpoints(d.ref.domain, insecure),
    repository: d.ref.path,
    credentials: d.credentials,
    allowInsecureAuth: isLoopbackHost(d.ref.domain) || insecure.includes(d.ref.domain),
    onFallback: (from, e) => ctx.app.output.log('info', `${from}: ${e.message}; trying the next endpoint`),
    certsDir: DOCKER_CERTS_D,
    nodeExtraCaCerts: env['NODE_EXTRA_CA_CERTS'],
  });
}
