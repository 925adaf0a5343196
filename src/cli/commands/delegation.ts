// `delegation` commands with notary's syntax (cli.md §9.20-§9.23), plus `--threshold`.

import type { Command } from 'commander';
import { group, type App } from '../app.js';
import { collect } from '../argv.js';

const PUBLISH_HELP = 'Automatically attempt to publish after staging the change. Will also publish existing staged changes.';
const run = () => import('./delegation-run.js');

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new Error(`invalid argument "${value}" for "--threshold" flag: must be a whole number of at least 1`);
  return Number(value);
}

export function registerDelegation(program: Command, app: App): void {
  const d = group(program, 'delegation', 'Operates on delegations.');

  d.command('list')
    .usage('[ GUN ] [flags]')
    .description('Lists delegations for the Global Unique Name.')
    .argument('[args...]')
    .option('--json', 'Print the delegations as JSON')
    .action(app.action(async (ctx, args: string[]) => (await run()).list(ctx, args)));

  d.command('add')
    .usage('[ GUN ] [ Role ] <X509 file path 1> ... [flags]')
    .description('Add keys to a delegation using the provided public key X509 certificates.')
    .argument('[args...]')
    .option('--paths <paths>', 'List of paths to add', collect)
    .option('--all-paths', 'Add all paths to this delegation')
    .option('--threshold <n>', 'Number of signatures the role needs (default 1 for a new role; beyond notary)', positiveInt)
    .option('-p, --publish', PUBLISH_HELP)
    .action(app.action(async (ctx, args: string[]) => (await run()).add(ctx, args)));

  d.command('remove')
    .usage('[ GUN ] [ Role ] <KeyID 1> ... [flags]')
    .description('Remove KeyID(s) from the specified Role delegation.')
    .argument('[args...]')
    .option('--paths <paths>', 'List of paths to remove', collect)
    .option('--all-paths', 'Remove all paths from this delegation')
    .option('-y, --yes', 'Answer yes to the removal question (no confirmation)')
    .option('-p, --publish', PUBLISH_HELP)
    .action(app.action(async (ctx, args: string[]) => (await run()).remove(ctx, args)));

  d.command('cosign')
    .usage('[ GUN ] [ Role ] <file> [flags]')
    .description('Add your signatures to a delegation role signed by fewer keys than its threshold (beyond notary).')
    .argument('[args...]')
    .option('-o, --output <file>', 'Write the co-signed role here instead of back into <file>')
    .option('-p, --publish', 'Publish the role once its threshold is met')
    .action(app.action(async (ctx, args: string[]) => (await run()).cosign(ctx, args)));

  d.command('purge')
    .usage('[ GUN ] [flags]')
    .description('Remove KeyID(s) from all delegation roles in the given GUN.')
    .argument('[args...]')
    .option('--key <ids>', 'Delegation key IDs to be removed from the GUN', collect)
    .option('-p, --publish', PUBLISH_HELP)
    .action(app.action(async (ctx, args: string[]) => (await run()).purge(ctx, args)));
}
