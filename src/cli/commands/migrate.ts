// `migrate` (issue 17): DCT-verified digests re-signed as cosign signatures, and the cosign key
// pair it signs with (`migrate key generate NAME`). Implementations load lazily from
// migrate-run.ts; the Sigstore libraries load only when a signature is made or checked.

import type { Command } from 'commander';
import type { App } from '../app.js';

const run = () => import('./migrate-run.js');
const DOCKER = { docker: true };

export function registerMigrate(program: Command, app: App): void {
  const migrate = program
    .command('migrate')
    .usage('[OPTIONS] IMAGE[:TAG]|GUN... | migrate key generate NAME')
    .description("Re-sign what Docker Content Trust verifies as cosign signatures (Sigstore bundles, cosign's registry layout).")
    .argument('[args...]')
    .option('--key <file>', 'cosign private key to sign with (cosign.key; passphrase from COSIGN_PASSWORD or a prompt)')
    .option('--from <file>', 'Read more images (one per line, # comments) from FILE ("-" for stdin)')
    .option('--require-signer <name>', 'Only migrate tags this DCT signer signs with the trusted digest')
    .option('--format <format>', 'bundle (cosign 3, default) or legacy (cosign 1-2 .sig tag)', 'bundle')
    .option('--dry-run', 'Print the plan; push nothing')
    .option('--json', 'Print the report as JSON')
    .option('--jobs <n>', 'Registry requests in flight at once', '8')
    .action(app.action(async (ctx, args: string[]) => (await run()).migrate(ctx, args), DOCKER));
  const key = migrate.command('key').description('cosign key pairs for the migration');
  key
    .command('generate')
    .usage('[OPTIONS] NAME')
    .description("Write NAME.key (cosign's encrypted private key) and NAME.pub; passphrase from COSIGN_PASSWORD or a prompt")
    .argument('[args...]')
    .option('--dir <dir>', 'Directory to write the key pair in, defaults to the working directory')
    .action(app.action(async (ctx, args: string[]) => (await run()).keyGenerate(ctx, args), DOCKER));
}
