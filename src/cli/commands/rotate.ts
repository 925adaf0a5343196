// `key rotate` (cli.md §9.15), registered into the `key` group.

import type { Command } from 'commander';
import { group, type App } from '../app.js';
import { collect } from '../argv.js';

export function registerRotate(program: Command, app: App): void {
  const key = program.commands.find((c) => c.name() === 'key') ?? group(program, 'key', 'Operates on keys.');
  key
    .command('rotate')
    .usage('[ GUN ] [ key role ] [flags]')
    .description('Rotate a signing (non-root) key of the given type for the given Globally Unique Name and role.')
    .argument('[args...]')
    .option('-r, --server-managed', 'Signing and key management will be handled by the remote server (no key will be generated or stored locally). Required for timestamp role, optional for snapshot role')
    .option('-k, --key <files>', 'New key(s) to rotate to. If not specified, one will be generated.', collect)
    .option('-l, --legacy <n>', "Number of old version's root roles to sign with to support old clients", (v) => {
      if (!/^-?\d+$/.test(v)) throw new Error(`invalid argument "${v}" for "-l, --legacy" flag: strconv.ParseInt: parsing "${v}": invalid syntax`);
      return Number(v);
    })
    .option('-y, --yes', 'Rotate the root key without asking for confirmation (beyond notary)')
    .action(app.action(async (ctx, args: string[]) => (await import('./rotate-run.js')).rotate(ctx, args)));
}
