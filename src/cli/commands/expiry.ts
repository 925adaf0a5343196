// `expiry`, `renew` and `doctor` (beyond notary, docs/commands/expiry.md, renew.md, doctor.md):
// when a repository's roles and certificates end, renewing them, and the set-up a command uses.

import type { Command } from 'commander';
import type { App } from '../app.js';

const run = () => import('./expiry-run.js');

function collectRoles(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').filter((r) => r !== '')];
}

export function registerExpiry(program: Command, app: App, word?: string): void {
  const command = (name: string): Command | undefined => (word === undefined || word === name ? program.command(name) : undefined);

  command('expiry')
    ?.usage('GUN... [flags]')
    .description(
      'Shows when each role of the repositories expires (root, targets, snapshot, timestamp, every delegation), who renews it, the keys that sign it and their certificates. Exits 3 when something expires within the window, 4 when something has already expired.',
    )
    .argument('[guns...]')
    .option('--within <duration>', 'Window of the check, e.g. 30d, 12h, 90m', '30d')
    .option('--offline', 'Read the verified cache only, without asking the server')
    .option('--json', 'Print the report as JSON')
    .action(app.action(async (ctx, guns: string[]) => (await run()).expiry(ctx, guns)));

  command('renew')
    ?.usage('GUN [flags]')
    .description(
      'Re-signs the roles held here that expire within the window (targets and delegations staged as witness does; the snapshot and, with the root key at hand, the root at publish), with a new expiry.',
    )
    .argument('[gun]')
    .option('--within <duration>', 'Renew what expires within this window, e.g. 30d, 90d', '30d')
    .option('--role <role>', 'Renew this role whatever its expiry (repeatable, comma-separated)', collectRoles)
    .option('--expires <duration>', 'New lifetime of the renewed roles, e.g. 365d (default: notary\'s per role); needs -p')
    .option('-p, --publish', 'Publish the renewal (with any other staged changes) at once; a root certificate within the window is renewed by rotating the root key')
    .option('-y, --yes', 'Rotate the root key without asking for confirmation')
    .action(app.action(async (ctx, gun?: string) => (await run()).renew(ctx, gun)));

  command('doctor')
    ?.usage('[GUN] [flags]')
    .description('Shows the set-up commands use (program, trust directory, configuration, server, keys, token, code cache) and, with a GUN, its expiry and the roles this machine can sign; every problem comes with its fix.')
    .argument('[gun]')
    .option('--json', 'Print the report as JSON')
    .action(app.action(async (ctx, gun?: string) => (await import('./doctor-run.js')).doctor(ctx, gun)));
}
