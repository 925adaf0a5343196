// Per-command wiring of the layers for one GUN: cache, changelist, lock and server connection.
// Concrete implementations meet here and beside it: keys.ts (key stores), docker-session.ts (an
// image's repository for the docker verbs), main.ts (the App). The server code loads when a
// command connects: staging commands never initialise it.

import type { Config } from '../config/config.js';
import type { NotaryRemote, RemoteOptions } from '../remote/notary.js';
import { MetadataCache } from '../storage/cache.js';
import { Changelist } from '../storage/changelist.js';
import { withGunLock } from '../storage/lock.js';
import { validateGun } from '../storage/paths.js';
import type { RepoContext } from '../client/publish.js';
import type { Updated } from '../client/update.js';
import type { Ctx } from './app.js';
import { UsageError } from './errors.js';
import { shellLine } from '../shellwords.js';
import { noteRepository, noteUpload } from './interrupt.js';

export type Scope = 'pull' | 'push,pull' | '*';

export interface Session {
  ctx: Ctx;
  cfg: Config;
  gun: string;
  cache: MetadataCache;
  changelist: Changelist;
}

export async function openSession(ctx: Ctx, gun: string | undefined, missing = 'Must specify a GUN'): Promise<Session> {
  if (gun === undefined || gun === '') throw new UsageError(missing);
  validateGun(gun);
  const cfg = await ctx.config();
  noteRepository(cfg.trustDir, gun);
  return { ctx, cfg, gun, cache: new MetadataCache(cfg.trustDir, gun), changelist: new Changelist(cfg.trustDir, gun) };
}

/** Runs a writing command under the GUN's lock (SEC-C1); `leaf`: `fn` takes no lock itself (storage/lock.ts). */
export function locked<T>(s: Session, fn: () => Promise<T>, leaf = false): Promise<T> {
  return withGunLock(s.cfg.trustDir, s.gun, fn, { leaf, onNotice: (msg: string) => s.ctx.app.output.log('warning', msg) });
}

/** Connects to the server (after its ping answered). */
export async function connect(s: Session, scope: Scope): Promise<NotaryRemote> {
  const { NotaryRemote } = await import('../remote/notary.js');
  const remote = await NotaryRemote.connect(remoteOptions(s, scope));
  const publish = remote.publish.bind(remote);
  remote.publish = async (files) => {
    noteUpload('sending');
    await publish(files);
    noteUpload('sent');
  };
  return remote;
}

/** The server of a command that may have no GUN (`doctor`): opened for `gun`, its ping under way. */
export async function openServer(ctx: Ctx, cfg: Config, gun: string): Promise<NotaryRemote> {
  const { NotaryRemote } = await import('../remote/notary.js');
  return NotaryRemote.open(remoteOptions({ ctx, cfg, gun }, 'pull'));
}

function remoteOptions(s: Pick<Session, 'ctx' | 'cfg' | 'gun'>, scope: Scope): RemoteOptions {
  return {
    baseUrl: s.cfg.serverUrl,
    gun: s.gun,
    env: s.ctx.app.env,
    scope,
    tls: s.cfg.tls,
    // Credentials may cross plain http only to this machine (a local test or proxy).
    allowInsecureAuth: isLoopback(s.cfg.serverUrl),
    ...(s.cfg.logLevel === 'debug' ? { trace: (line: string) => s.ctx.app.output.log('debug', line) } : {}),
  };
}

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

/** The repository, its server and the warning line, as the write workflows take them. */
export function repoContext(s: Session, remote: NotaryRemote): RepoContext {
  return {
    gun: s.gun,
    now: s.ctx.app.now,
    cache: s.cache,
    changelist: s.changelist,
    remote,
    pinning: s.cfg.trustPinning,
    warn: (m) => s.ctx.app.output.log('warning', m),
  };
}

export interface RefreshOptions {
  /** Roles whose expiry is tolerated (`renew`, `expiry`); no expiry warnings are printed then. */
  allowExpired?: ReadonlySet<string> | 'all';
  /** Read the verified cache only, without asking the server (`expiry --offline`). */
  offline?: boolean;
}

/**
 * The verified repository for reads: online when possible, else from the verified cache. The
 * first downloads go out with the ping (update waits for its verdict before using them). Roles
 * and certificates near their end are warned about here, once each per command.
 */
export async function refresh(s: Session, o: RefreshOptions = {}): Promise<Updated> {
  const log = s.ctx.app.output;
  const [{ NotaryRemote }, { RemoteError }, { redactUrl }, { update }] = await Promise.all([
    import('../remote/notary.js'),
    import('../remote/errors.js'),
    import('../remote/url.js'),
    import('../client/update.js'),
  ]);
  // Never the user:password@ part of -s or remote_server.url (CLI-09).
  const shown = redactUrl(s.cfg.serverUrl);
  const common = { gun: s.gun, now: s.ctx.app.now, cache: s.cache, pinning: s.cfg.trustPinning, warn: (m: string) => log.log('warning', m), allowExpired: o.allowExpired };
  if (o.offline) {
    const offlineCause = new RemoteError('OFFLINE', `no verified copy of ${s.gun} is cached in ${s.cfg.trustDir}`, { url: shown, hint: `run without --offline once the server is reachable, or check the trust directory (-d)` });
    return update({ ...common, remote: null, offlineCause, offlineByChoice: true });
  }
  const remote = await NotaryRemote.open(remoteOptions(s, 'pull'));
  let updated: Updated;
  try {
    updated = await update({
      ...common,
      remote,
      // As notary: a server that cannot be reached (or does not answer the ping) means offline mode for reads.
      unreachable: (e) => {
        log.log('error', `could not reach ${shown}: ${e.message}`);
        log.log('info', 'continuing in offline mode');
        return new RemoteError('OFFLINE', 'client is offline', { url: shown, hint: `check that ${shown} is reachable, or pass the server with -s` });
      },
    });
  } finally {
    remote.close();
  }
  if (!o.allowExpired) await warnExpiry(s, updated.builder);
  return updated;
}

/** The expiry warnings of a read (client/expiry.ts), each role or certificate once per command. */
export async function warnExpiry(s: Session, b: Updated['builder']): Promise<void> {
  const windowMs = s.cfg.expiryWarningMs;
  if (windowMs <= 0) return;
  const { expiryWarnings } = await import('../client/expiry.js');
  const { fileKeyIds } = await import('./keys.js');
  const ids = fileKeyIds(s.cfg.trustDir);
  const app = s.ctx.app;
  for (const line of expiryWarnings(b, { gun: s.gun, now: app.now, windowMs, held: (id) => (ids.has(id) ? 'file' : undefined), seen: app.expiryWarned })) {
    app.output.log('warning', line);
  }
}

/** The program name and the global flags the user gave, for command lines in hints. */
export function commandPrefix(ctx: Ctx): string {
  const f = ctx.flags;
  const words: string[] = [ctx.app.program];
  const add = (flag: string, v: string | undefined): void => {
    if (v !== undefined && v !== '') words.push(flag, v);
  };
  add('-c', f.configFile);
  add('-s', f.server);
  add('-d', f.trustDir);
  add('--tlscacert', f.tlscacert);
  add('--tlscert', f.tlscert);
  add('--tlskey', f.tlskey);
  add('--pkcs11-module', f.pkcs11Module);
  return shellLine(words);
}
