// `expiry` (docs/commands/expiry.md): the report of client/expiry.ts for each GUN, as a table or
// JSON, and its exit code.

import { formatDuration, parseDuration } from '../../config/duration.js';
import { EXIT_EXPIRED, EXIT_WITHIN, exitCodeOf, expiryJson, expiryTableRows, repoExpiry, type RepoExpiry } from '../../client/expiry.js';
import { planRenewal, renewal, stageRenewal, type RenewPlan } from '../../client/renew.js';
import { rotateKey } from '../../client/rotation.js';
import type { Ctx } from '../app.js';
import { UsageError } from '../errors.js';
import { heldKeys, keyAccess } from '../keys.js';
import { confirm, TerminalPrompt } from '../prompt.js';
import { shellLine } from '../../shellwords.js';
import { autoPublish } from '../publishing.js';
import { connect, locked, openSession, refresh, repoContext, type Session } from '../session.js';
import { formatTable } from '../table.js';

type Opts = Record<string, unknown>;
const opts = (ctx: Ctx): Opts => ctx.cmd.opts();

export async function expiry(ctx: Ctx, guns: string[]): Promise<void> {
  if (guns.length === 0) throw new UsageError('Must specify at least one GUN');
  const o = opts(ctx);
  const withinMs = parseDuration(String(o.within ?? '30d'), '--within');
  const now = ctx.app.now;
  const held = await heldKeys(ctx);
  const reports: RepoExpiry[] = [];
  for (const gun of guns) {
    const s = await openSession(ctx, gun);
    // Expired roles are shown, not refused: every other check of a read still applies.
    const { builder, offline } = await refresh(s, { allowExpired: 'all', offline: o.offline === true });
    reports.push(repoExpiry(gun, builder, offline, { now, withinMs, held }));
  }
  const out = ctx.app.output;
  if (o.json) out.out(JSON.stringify(reports.map((r) => expiryJson(r, now, withinMs)), null, 2) + '\n');
  else {
    for (const r of reports) {
      const source = r.source === 'server' ? 'from the server' : o.offline ? 'offline, from the verified cache' : 'from the verified cache: the server could not be reached';
      out.out(`\n${r.gun} (${source}; window ${String(o.within ?? '30d')}):\n\n`);
      out.out(formatTable(['ROLE', 'VERSION', 'EXPIRES (UTC)', 'LEFT', 'STATUS', 'RENEWED BY', 'KEYS (held here; certificate end)'], expiryTableRows(r, now)));
    }
    out.out('\n');
  }
  const code = exitCodeOf(reports);
  if (code === EXIT_WITHIN) out.err(`something expires within ${String(o.within ?? '30d')}: renew it with dtrust renew GUN (exit ${EXIT_WITHIN})\n`);
  if (code === EXIT_EXPIRED) out.err(`something has expired: see the EXPIRED rows (exit ${EXIT_EXPIRED})\n`);
  ctx.app.exitCode = code;
}

const utc = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export async function renew(ctx: Ctx, gun: string | undefined): Promise<void> {
  const o = opts(ctx);
  const within = String(o.within ?? '30d');
  const withinMs = parseDuration(within, '--within');
  const lifetimeMs = o.expires === undefined ? undefined : parseDuration(String(o.expires), '--expires');
  if (lifetimeMs !== undefined && !o.publish) {
    throw new UsageError('--expires applies when renew publishes: add -p (a staged change cannot carry an expiry)', false);
  }
  if (lifetimeMs === 0) throw new UsageError('--expires must be longer than 0', false);
  const s = await openSession(ctx, gun);
  const now = ctx.app.now;
  const held = await heldKeys(ctx);
  // The plan is read with expired roles tolerated: renewing them is the point.
  const { builder } = await refresh(s, { allowExpired: 'all' });
  const plan = planRenewal(builder, { gun: s.gun, now, withinMs, roles: Array.isArray(o.role) ? (o.role as string[]) : undefined, held });
  const out = ctx.app.output;
  out.out(planText(s.gun, plan, now, within));
  if (plan.items.length > 0) {
    const staged = await locked(s, () => stageRenewal(s.changelist, plan));
    if (!o.publish) {
      if (staged.length > 0) out.out(`Staged for re-signing on the next publish: ${staged.join(', ')}\n`);
      const atPublish = plan.items.map((i) => i.role).filter((r) => r === 'root' || r === 'snapshot');
      if (atPublish.length > 0) out.out(`${atPublish.join(' and ')} ${atPublish.length > 1 ? 'are' : 'is'} re-signed only by a publish: run dtrust renew ${s.gun} -p\n`);
    } else await autoPublish(s, renewal(plan, lifetimeMs));
  }
  if (plan.rotateRoot && o.publish) await rotateRoot(s, o.yes === true);
}

/** A root certificate near its end: the root key is rotated as `key rotate GUN root` does, after a confirmation. */
async function rotateRoot(s: Session, yes: boolean): Promise<void> {
  const out = s.ctx.app.output;
  if (!yes) {
    out.out(`The root certificate of ${s.gun} ends soon: renewing it rotates the root key (a new key and certificate, signed by the old key).\nAre you sure you want to proceed?  (yes/no)  `);
    const piped = `echo yes | ${shellLine([s.ctx.app.program, 'renew', s.gun, '-p'])}`;
    if (!(await confirm(new TerminalPrompt(), { flag: '-y', action: 'rotate the root key', piped }))) {
      out.out('\nNot rotating the root key; run dtrust renew ' + s.gun + ' -p -y, or dtrust key rotate ' + s.gun + ' root\n');
      return;
    }
  }
  await locked(s, async () => {
    const keys = await keyAccess(s.ctx);
    const remote = await connect(s, '*');
    try {
      await rotateKey({
        ...repoContext(s, remote),
        keys,
        role: 'root',
        serverManaged: false,
        keyFiles: [],
        onPlan: (p) => out.out(`Rotating the root key of ${s.gun}: ${p.oldIds.join(', ')} -> ${p.newIds.join(', ')}; root version ${p.rootVersion} is signed by ${p.rootSigners.join(', ')}\n`),
      });
    } finally {
      remote.close();
    }
  });
  out.out(`Successfully rotated root key for repository ${s.gun}\n`);
}

function planText(gun: string, plan: RenewPlan, now: number, within: string): string {
  const when = (ms: number): string => `${ms < now ? 'expired' : 'expires'} ${utc(ms)} (${ms < now ? formatDuration(now - ms) + ' ago' : 'in ' + formatDuration(ms - now)})`;
  let t = '';
  if (plan.items.length === 0 && plan.skipped.length === 0 && plan.certs.length === 0) return `Nothing of ${gun} that this machine renews expires within ${within}\n`;
  if (plan.items.length > 0) {
    t += `Renewing in ${gun}:\n`;
    for (const i of plan.items) t += `  ${i.role}: ${when(i.expires)}\n`;
  } else t += `Nothing of ${gun} can be renewed here\n`;
  if (plan.skipped.length > 0) {
    t += 'Not renewed here:\n';
    for (const k of plan.skipped) t += `  ${k.role}: ${when(k.expires)}: ${k.why}\n`;
  }
  if (plan.certs.length > 0) {
    t += 'Certificates (renewed by rotating the key):\n';
    for (const c of plan.certs) t += `  ${c.role} key ${c.keyId}: certificate ${when(c.expires)}: ${c.fix}\n`;
  }
  return t;
}
