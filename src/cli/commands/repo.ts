// Repository commands, with notary's syntax and flags (cli.md §9.1-§9.12). Implementations load
// lazily: staging from repo-stage.ts, reads from repo-read.ts, the rest from repo-run.ts.

import type { Command } from 'commander';
import type { App } from '../app.js';
import { collect } from '../argv.js';

const PUBLISH_HELP = 'Automatically attempt to publish after staging the change. Will also publish existing staged changes.';

/** pflag int slices (comma-separated, repeatable), with pflag's message for `flag`. */
function ints(flag: string): (value: string, previous: number[] | undefined) => number[] {
  return (value, previous) => [
    ...(previous ?? []),
    ...value.split(',').map((v) => {
      if (!/^-?\d+$/.test(v.trim())) throw new Error(`invalid argument "${value}" for "${flag}" flag: strconv.Atoi: parsing "${v}": invalid syntax`);
      return Number(v);
    }),
  ];
}

const run = () => import('./repo-run.js');
const stage = () => import('./repo-stage.js');
const read = () => import('./repo-read.js');

/** One piece on purpose: the repository commands' declarations, in the order notary's help lists them. */
export function registerRepo(program: Command, app: App, word?: string): void {
  // With the command word known, only its command is declared.
  const command = (name: string): Command | undefined => (word === undefined || word === name ? program.command(name) : undefined);

  command('init')
    ?.usage('[ GUN ] [flags]')
    .summary('Initializes a local trusted collection.')
    .description(
      'Initializes a local trusted collection identified by the Globally Unique Name. This is an online operation: a GUN that already exists on the server is refused (delete it first with `delete --remote`).',
    )
    .argument('[gun]')
    .option('--rootkey <file>', 'Root key to initialize the repository with')
    .option('--rootcert <file>', 'Root certificate must match root key if a root key is supplied, otherwise it must match a key present in keystore')
    .option('-p, --publish', PUBLISH_HELP)
    .action(app.action(async (ctx, gun?: string) => (await run()).init(ctx, gun)));

  command('add')
    ?.usage('[ GUN ] <target> <file> [flags]')
    .summary('Adds the file as a target to the trusted collection.')
    .description(
      'Adds the file as a target to the local trusted collection identified by the Globally Unique Name. This is an offline operation.  Please then use `publish` to push the changes to the remote trusted collection.',
    )
    .argument('[args...]')
    .option('-r, --roles <roles>', 'Delegation roles to add this target to', collect)
    .option('--custom <file>', 'Path to the file containing custom data for this target')
    .option('--from <file>', 'Stage the targets listed in this file ("-" for stdin), one per line: NAME PATH')
    .option('-p, --publish', PUBLISH_HELP)
    .action(app.action(async (ctx, args: string[]) => (await stage()).add(ctx, args)));

  command('addhash')
    ?.usage('[ GUN ] <target> <byte size> <hashes> [flags]')
    .summary('Adds the byte size and hash(es) as a target to the trusted collection.')
    .description(
      'Adds the specified byte size and hash(es) as a target to the local trusted collection identified by the Globally Unique Name. The hashes are given with --sha256 and/or --sha512 (the <hashes> argument is ignored, as in notary). This is an offline operation.  Please then use `publish` to push the changes to the remote trusted collection.',
    )
    .argument('[args...]')
    .option('-r, --roles <roles>', 'Delegation roles to add this target to', collect)
    .option('--sha256 <hex>', 'hex encoded sha256 of the target to add')
    .option('--sha512 <hex>', 'hex encoded sha512 of the target to add')
    .option('--custom <file>', 'Path to the file containing custom data for this target')
    .option('--from <file>', 'Stage the targets listed in this file ("-" for stdin), one per line: NAME SIZE SHA256 [SHA512]')
    .option('-p, --publish', PUBLISH_HELP)
    .action(app.action(async (ctx, args: string[]) => (await stage()).addhash(ctx, args)));

  command('remove')
    ?.usage('[ GUN ] <target> [flags]')
    .summary('Removes a target from a trusted collection.')
    .description(
      'Removes a target from the local trusted collection identified by the Globally Unique Name. This is an offline operation.  Please then use `publish` to push the changes to the remote trusted collection.',
    )
    .argument('[args...]')
    .option('-r, --roles <roles>', 'Delegation roles to remove this target from', collect)
    .option('-p, --publish', PUBLISH_HELP)
    .action(app.action(async (ctx, args: string[]) => (await stage()).remove(ctx, args)));

  command('list')
    ?.usage('[ GUN ] [flags]')
    .summary('Lists targets for a remote trusted collection.')
    .description(
      'Lists all targets for a remote trusted collection identified by the Globally Unique Name. This is an online operation; when the server cannot be reached, the verified local copy is used.',
    )
    .argument('[gun]')
    .option('-r, --roles <roles>', 'Delegation roles to list targets for (only these roles and the roles they delegate to)', collect)
    .option('--json', 'Print the targets as JSON')
    .option('--archive <file>', 'Answer from a trust archive (dtrust archive), offline, as of its capture time')
    .action(app.action(async (ctx, gun?: string) => (await read()).list(ctx, gun)));

  command('lookup')
    ?.usage('[ GUN ] <target> [flags]')
    .summary('Looks up a specific target in a remote trusted collection.')
    .description('Looks up a specific target in a remote trusted collection identified by the Globally Unique Name.')
    .argument('[args...]')
    .option('--json', 'Print the target as JSON')
    .option('--archive <file>', 'Answer from a trust archive (dtrust archive), offline, as of its capture time')
    .action(app.action(async (ctx, args: string[]) => (await read()).lookup(ctx, args)));

  command('verify')
    ?.usage('[ GUN ] <target> [flags]')
    .summary('Verifies if the content is included in the remote trusted collection')
    .description(
      'Verifies if the data passed in STDIN (or with -i) is included in the remote trusted collection identified by the Globally Unique Name: its hashes and its length must match. The data is then written to STDOUT (or with -o).',
    )
    .argument('[args...]')
    .option('-i, --input <file>', 'Read from a file, instead of STDIN')
    .option('-o, --output <file>', 'Write to a file, instead of STDOUT')
    .option('-q, --quiet', 'No output except for errors')
    .option('--archive <file>', 'Answer from a trust archive (dtrust archive), offline, as of its capture time')
    .action(app.action(async (ctx, args: string[]) => (await read()).verify(ctx, args)));

  command('publish')
    ?.usage('[ GUN ] [flags]')
    .summary('Publishes the local trusted collection.')
    .description(
      'Publishes the local trusted collection identified by the Globally Unique Name, sending the local changes to a remote trusted server. The GUN must have been initialized with `init`; with nothing staged, nothing is sent.',
    )
    .argument('[gun]')
    .action(app.action(async (ctx, gun?: string) => (await run()).publish(ctx, gun)));

  command('status')
    ?.usage('[ GUN ] [flags]')
    .summary('Displays status of unpublished changes to the local trusted collection.')
    .description('Displays status of unpublished changes to the local trusted collection identified by the Globally Unique Name.')
    .argument('[gun]')
    .option('--unstage <numbers>', 'Unstage the changes with these numbers (as shown in the status list), then show the rest', ints('--unstage'))
    .option('--json', 'Print the changes as JSON')
    .action(app.action(async (ctx, gun?: string) => (await run()).status(ctx, gun)));

  command('reset')
    ?.usage('[ GUN ] [flags]')
    .summary('Resets unpublished changes for the local trusted collection.')
    .description('Resets unpublished changes for the local trusted collection identified by the Globally Unique Name.')
    .argument('[gun]')
    .option('--all', 'Reset all changes shown in the status list')
    .option('-n, --number <numbers>', 'Numbers of specific changes to exclusively reset, as shown in status list', ints('-n, --number'))
    .action(app.action(async (ctx, gun?: string) => (await run()).reset(ctx, gun)));

  command('delete')
    ?.usage('[ GUN ] [flags]')
    .summary('Deletes all content for a trusted collection')
    .description(
      'Deletes all local content (metadata and staged changes, not keys) for a trusted collection identified by the Globally Unique Name. Remote data can also be deleted with --remote; the server is asked first, so the local data is kept if that fails.',
    )
    .argument('[gun]')
    .option('--remote', 'Delete remote data for GUN in addition to local cache')
    .action(app.action(async (ctx, gun?: string) => (await run()).deleteRepo(ctx, gun)));

  command('witness')
    ?.usage('[ GUN ] <role> ... [flags]')
    .summary("Marks roles to be re-signed the next time they're published")
    .description(
      "Marks roles to be re-signed the next time they're published. Currently will always bump version and expiry for role. Only targets and delegation roles (targets/...) can be witnessed.",
    )
    .argument('[args...]')
    .option('-p, --publish', PUBLISH_HELP)
    .action(app.action(async (ctx, args: string[]) => (await stage()).witness(ctx, args)));
}
