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
import type { Updated } from '../client/update.js';
import type { Ctx } from './app.js';
import { UsageError } from './errors.js';

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
  return { ctx, cfg, gun, cache: new MetadataCache(cfg.trustDir, gun), changelist: new Changelist(cfg.trustDir, gun) };
}

/** Runs a writing command under the GUN's lock (SEC-C1). */
export function locked<T>(s: Session, fn: () => Promise<T>): Promise<T> {
  return withGunLock(s.cfg.trustDir, s.gun, fn, { onNotice: (msg: string) => s.ctx.app.output.log('warning', msg) });
}

/** Connects to the server (after its ping answered). */
export async function connect(s: Session, scope: Scope): Promise<NotaryRemote> {
  const { NotaryRemote } = await import('../remote/notary.js');
  return NotaryRemote.connect(remoteOptions(s, scope));
}

function remoteOptions(s: Session, scope: Scope): RemoteOptions {
  return {
    baseUrl: s.cfg.serverUrl,
    gun: s.gun,
    env: s.ctx.app.env,
    scope,
    tls: s.cfg.tls,
    // Credentials may cross plain http only to this machine (a local test or proxy).
    allowInsecureAuth: isLoopback(s.cfg.serverUrl),
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

/**
 * The verified repository for reads: online when possible, else from the verified cache. The
 * first downloads go out with the ping (update waits for its verdict before using them).
 */
export async function refresh(s: Session): Promise<Updated> {
  const log = s.ctx.app.output;
  const [{ NotaryRemote }, { RemoteError }, { update }] = await Promise.all([import('../remote/notary.js'), import('../remote/errors.js'), import('../client/update.js')]);
  const remote = await NotaryRemote.open(remoteOptions(s, 'pull'));
  try {
    return await update({
      gun: s.gun,
      now: s.ctx.app.now,
      cache: s.cache,
      remote,
      // As notary: a server that cannot be reached (or does not answer the ping) means offline mode for reads.
      unreachable: (e) => {
        log.log('error', `could not reach ${s.cfg.serverUrl}: ${e.message}`);
        log.log('info', 'continuing in offline mode');
        return new RemoteError('OFFLINE', 'client is offline', { url: s.cfg.serverUrl, hint: `check that ${s.cfg.serverUrl} is reachable, or pass the server with -s` });
      },
      pinning: s.cfg.trustPinning,
      warn: (m) => log.log('warning', m),
    });
  } finally {
    remote.close();
  }
}
