// docker's trust verbs (cli.md §11) with docker's syntax, flags and output, twice:
//   dtrust trust sign|inspect|revoke|signer add|signer remove|key generate|key load   (as `docker trust …`)
//   dtrust sign|inspect|revoke|signer add|signer remove|key load                       (short forms)
// `key load` joins notary's `key` group (notary has no `load`); docker's `key generate NAME` is
// `dtrust trust key generate NAME` (the rule for `dtrust key generate X` is in docker/keygen.ts).
// Under either program name they use docker's trust directory, as `docker trust` does.
// Implementations load lazily from docker-run.ts.

import type { Command } from 'commander';
import { group, type App } from '../app.js';

const run = () => import('./docker-run.js');
const DOCKER = { docker: true };

/** pflag ListOpts: every occurrence of the flag adds one value (no comma splitting). */
function list(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerDocker(program: Command, app: App): void {
  const trust = group(program, 'trust', 'Manage trust on Docker images (the docker trust verbs, without a Docker engine).');
  addSign(trust, app);
  addInspect(trust, app);
  addRevoke(trust, app);
  addSigner(group(trust, 'signer', 'Manage entities who can sign Docker images.'), app);
  const trustKey = group(trust, 'key', 'Manage keys for signing Docker images.');
  addKeyGenerate(trustKey, app);
  addKeyLoad(trustKey, app);

  addSign(program, app);
  addInspect(program, app);
  addRevoke(program, app);
  addSigner(program.commands.find((c) => c.name() === 'signer') ?? group(program, 'signer', 'Manage entities who can sign Docker images.'), app);
  addKeyLoad(program.commands.find((c) => c.name() === 'key') ?? group(program, 'key', 'Operates on keys.'), app);
}

function addSign(parent: Command, app: App): void {
  parent
    .command('sign')
    .usage('[OPTIONS] IMAGE:TAG')
    .description('Sign an image: the manifest the registry holds for IMAGE:TAG, or --digest/--size.')
    .argument('[args...]')
    .option('--digest <digest>', 'Sign this manifest digest (sha256:<hex>) instead of asking the registry (needs --size)')
    .option('--size <bytes>', 'Byte size of the manifest given with --digest')
    .option('--local', 'Sign a locally tagged image (needs a Docker engine: not supported by dtrust)')
    .action(app.action(async (ctx, args: string[]) => (await run()).sign(ctx, args), DOCKER));
}

function addInspect(parent: Command, app: App): void {
  parent
    .command('inspect')
    .usage('[OPTIONS] IMAGE[:TAG] [IMAGE[:TAG]...]')
    .description('Return low-level information about keys and signatures')
    .argument('[args...]')
    .option('--pretty', 'Print the information in a human friendly format')
    .action(app.action(async (ctx, args: string[]) => (await run()).inspect(ctx, args), DOCKER));
}

function addRevoke(parent: Command, app: App): void {
  parent
    .command('revoke')
    .usage('[OPTIONS] IMAGE[:TAG]')
    .description('Remove trust for an image')
    .argument('[args...]')
    .option('-y, --yes', 'Do not prompt for confirmation')
    .action(app.action(async (ctx, args: string[]) => (await run()).revoke(ctx, args), DOCKER));
}

function addSigner(signer: Command, app: App): void {
  signer
    .command('add')
    .usage('OPTIONS NAME REPOSITORY [REPOSITORY...]')
    .description('Add a signer')
    .argument('[args...]')
    .option('--key <file>', "Path to the signer's public key file", list)
    .action(app.action(async (ctx, args: string[]) => (await run()).signerAdd(ctx, args), DOCKER));
  signer
    .command('remove')
    .usage('[OPTIONS] NAME REPOSITORY [REPOSITORY...]')
    .description('Remove a signer')
    .argument('[args...]')
    .option('-f, --force', 'Do not prompt for confirmation before removing the most recent signer')
    .action(app.action(async (ctx, args: string[]) => (await run()).signerRemove(ctx, args), DOCKER));
}

function addKeyGenerate(key: Command, app: App): void {
  key
    .command('generate')
    .usage('NAME')
    .description('Generate and load a signing key-pair')
    .argument('[args...]')
    .option('--dir <dir>', 'Directory to generate key in, defaults to current directory')
    .action(app.action(async (ctx, args: string[]) => (await run()).keyGenerate(ctx, args), DOCKER));
}

function addKeyLoad(key: Command, app: App): void {
  key
    .command('load')
    .usage('[OPTIONS] KEYFILE')
    .description('Load a private key file for signing')
    .argument('[args...]')
    .option('--name <name>', 'Name for the loaded key', 'signer')
    .action(app.action(async (ctx, args: string[]) => (await run()).keyLoad(ctx, args), DOCKER));
}
