// archive and archive verify: arguments, the progress line, the summary.

import { readFile } from 'node:fs/promises';
import { isatty } from 'node:tty';
import { resolve } from 'node:path';
import { captureArchive, partialFailure, type ArchiveSource } from '../../client/archive-capture.js';
import { verifyArchiveFile, type VerifiedArchive } from '../../client/archive-read.js';
import { describeError } from '../../client/errors.js';
import { parseImageReference } from '../../docker/reference.js';
import type { Ctx } from '../app.js';
import { openDockerRepo } from '../docker-session.js';
import { openError, UsageError } from '../errors.js';
import { rootOfTrust } from '../root-of-trust.js';
import { connect, openSession } from '../session.js';
import { VERSION } from '../version.js';

type Opts = Record<string, unknown>;

export async function archive(ctx: Ctx, args: string[]): Promise<void> {
  const o: Opts = ctx.cmd.opts();
  const out = typeof o.output === 'string' ? resolve(ctx.app.cwd, o.output) : undefined;
  if (out === undefined) throw new UsageError('Must give the archive to write with -o FILE');
  const jobs = Number(o.jobs);
  if (!Number.isSafeInteger(jobs) || jobs < 1 || jobs > 256) throw new UsageError(`-j/--jobs ${JSON.stringify(o.jobs)}: expected a number of repositories from 1 to 256`, false);
  const names = [...args];
  if (typeof o.from === 'string') names.push(...(await listFile(ctx, o.from)));
  if (names.length === 0) throw new UsageError('Must specify at least one GUN (or --from FILE)');
  const sources = await sourcesOf(ctx, names);
  const log = ctx.app.output;
  const tty = isatty(2);
  let shown = false;
  const result = await captureArchive({
    sources,
    out,
    concurrency: jobs,
    dtrustVersion: VERSION,
    clock: () => Date.now(),
    anchor: { kind: 'config', pinning: (await ctx.config()).trustPinning },
    progress: tty
      ? (done, failed, total) => {
          shown = true;
          log.err(`\rarchiving: ${done + failed}/${total} repositories${failed > 0 ? ` (${failed} failed)` : ''}\x1b[K`);
        }
      : undefined,
    failed: (gun, e) => {
      const { message, hint } = describeError(e);
      if (shown) log.err('\r\x1b[K');
      log.err(`${gun}: ${message}\n${hint ? `  hint: ${hint}\n` : ''}`);
    },
  });
  if (shown) log.err('\r\x1b[K');
  const m = result.manifest;
  const targets = m.repositories.reduce((n, r) => n + r.targets.length, 0);
  log.out(
    `Archived ${m.repositories.length} ${m.repositories.length === 1 ? 'repository' : 'repositories'} (${targets} targets) to ${o.output as string}` +
      `${result.reused > 0 ? `, ${result.reused} of them from an earlier run` : ''}\n`,
  );
  if (result.failures.length > 0) throw partialFailure(result, o.output as string);
}

/** GUNs (or image names) of --from: one per line; blank lines and `#` comments are skipped. */
async function listFile(ctx: Ctx, from: string): Promise<string[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(from === '-' ? '/dev/stdin' : resolve(ctx.app.cwd, from));
  } catch (e) {
    throw openError(e, from);
  }
  return bytes
    .toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/**
 * Each name's GUN and trust server: an image name as the docker verbs read it (docker's trust
 * server for its registry, trust_servers, credentials and TLS), anything else as a notary GUN
 * on the configured server.
 */
async function sourcesOf(ctx: Ctx, names: string[]): Promise<ArchiveSource[]> {
  const seen = new Set<string>();
  const out: ArchiveSource[] = [];
  for (const name of names) {
    let src: ArchiveSource;
    let ref;
    try {
      ref = parseImageReference(name);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const d = await openDockerRepo(ctx, ref);
      src = { gun: d.gun, server: d.serverUrl, connect: () => d.connect('pull') };
    } else {
      const s = await openSession(ctx, name);
      src = { gun: s.gun, server: s.cfg.serverUrl, connect: () => connect(s, 'pull') };
    }
    if (seen.has(src.gun)) continue;
    seen.add(src.gun);
    out.push(src);
  }
  return out;
}

export async function archiveVerify(ctx: Ctx, args: string[]): Promise<void> {
  const o: Opts = ctx.cmd.opts();
  if (args.length !== 1) throw new UsageError('Must specify exactly one archive file');
  const anchor = await rootOfTrust(ctx, o);
  const v = await verifyArchiveFile(resolve(ctx.app.cwd, args[0]!), args[0]!, anchor);
  const out = ctx.app.output;
  if (o.json) {
    out.out(JSON.stringify(summaryJson(args[0]!, v), null, 2) + '\n');
    return;
  }
  const m = v.manifest;
  out.out(`${args[0]!}: captured ${m.capturedAt} by dtrust ${m.dtrustVersion} from ${m.servers.join(', ') || 'no server'}\n`);
  for (const r of v.repos) {
    const e = r.manifest;
    out.out(
      `${e.gun}: ${e.targets.length} targets, root version ${e.rootChain.length} (chain of ${e.rootChain.length}), root keys ${e.rootKeyIds.join(', ')}, ` +
        `${r.verdict.trust === 'pinned' ? `root pinned (${r.verdict.how})` : 'root trusted on first use'}, as of ${e.capturedAt}\n`,
    );
    for (const inv of e.invalidRoles) out.out(`  ${inv.role} was not valid at capture: ${inv.reason}\n`);
  }
  out.out(`Verified ${v.repos.length} ${v.repos.length === 1 ? 'repository' : 'repositories'} as of their capture time.\n`);
}

function summaryJson(file: string, v: VerifiedArchive): Record<string, unknown> {
  return {
    file,
    format: v.manifest.format,
    version: v.manifest.version,
    capturedAt: v.manifest.capturedAt,
    servers: v.manifest.servers,
    dtrustVersion: v.manifest.dtrustVersion,
    verified: true,
    repositories: v.repos.map((r) => ({
      gun: r.manifest.gun,
      server: r.manifest.server,
      capturedAt: r.manifest.capturedAt,
      rootVersion: r.manifest.rootChain.length,
      rootKeyIds: r.manifest.rootKeyIds,
      rootOfTrust: r.verdict.trust,
      targets: r.manifest.targets.length,
      roles: [...r.builder.targetsRoles.keys()],
      invalidRoles: r.manifest.invalidRoles,
    })),
  };
}
