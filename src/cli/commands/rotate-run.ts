// `key rotate` (cli.md §9.15): the checks of notary's command line, the root question, and what
// the rotation does (client/rotation.ts), printed before it is published.

import { resolve } from 'node:path';
import { rotateKey, type RotatableRole, type RotationPlan } from '../../client/rotation.js';
import type { Ctx } from '../app.js';
import { CliError, UsageError } from '../errors.js';
import { keyAccess } from '../keys.js';
import { isYes, TerminalPrompt } from '../prompt.js';
import { connect, locked, openSession } from '../session.js';

export async function rotate(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 2) throw new UsageError('Must specify a GUN and a key role to rotate');
  const [gun, role] = args as [string, string];
  const o = ctx.cmd.opts() as { serverManaged?: boolean; key?: string[]; legacy?: number; yes?: boolean };
  const out = ctx.app.output;
  if (role === 'root' && !o.yes) {
    out.out('Warning: you are about to rotate your root key.\n\nYou must use your old key to sign this root rotation.\nAre you sure you want to proceed?  (yes/no)  ');
    if (!isYes(await new TerminalPrompt().readLine())) {
      out.out('\nAborting action.\n');
      return;
    }
  }
  if (!isRotatable(role)) {
    throw new CliError('INVALID_ROLE', `notary does not currently permit rotating the ${role} key`, { hint: 'delegation keys change with: dtrust delegation add / delegation remove' });
  }
  if (o.serverManaged && (role === 'root' || role === 'targets')) {
    throw new CliError('INVALID_ROLE', `notary does not permit the server managing the ${role} key`, { hint: `rotate it without -r: dtrust key rotate ${gun} ${role}` });
  }
  if (role === 'timestamp' && !o.serverManaged) {
    throw new CliError('INVALID_ROLE', 'notary does not permit the client managing the timestamp key', { hint: `the server holds it: dtrust key rotate ${gun} timestamp -r` });
  }
  const s = await openSession(ctx, gun);
  await locked(s, async () => {
    const keys = await keyAccess(ctx);
    const remote = await connect(s, '*');
    try {
      await rotateKey({
        gun: s.gun,
        now: ctx.app.now,
        cache: s.cache,
        changelist: s.changelist,
        remote,
        keys,
        pinning: s.cfg.trustPinning,
        warn: (m) => out.log('warning', m),
        role,
        serverManaged: o.serverManaged === true,
        keyFiles: (o.key ?? []).map((f) => resolve(ctx.app.cwd, f)),
        legacyRootVersions: o.legacy,
        onPlan: (plan) => out.err(describePlan(plan, gun, role, o)),
      });
    } finally {
      remote.close();
    }
  });
  out.out(`Successfully rotated ${role} key for repository ${gun}\n`);
}

function isRotatable(role: string): role is RotatableRole {
  return ['root', 'targets', 'snapshot', 'timestamp'].includes(role);
}

function describePlan(plan: RotationPlan, gun: string, role: string, o: { serverManaged?: boolean; legacy?: number }): string {
  return (
    `Rotating the ${role} key of ${gun}: ${plan.oldIds.join(', ') || '(none)'} -> ${plan.newIds.join(', ')}` +
    (o.serverManaged ? ' (held by the server)' : '') +
    `\nroot version ${plan.rootVersion} will be signed by the root keys ${plan.rootSigners.join(', ')}` +
    (o.legacy ? `, and by the root keys held here of ${o.legacy < 0 ? 'every earlier root version' : `the ${o.legacy} root version(s) before that`} (-l)` : '') +
    '\n'
  );
}
