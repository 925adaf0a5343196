// `verify-image IMAGE[:TAG|@DIGEST]`: the deploy and admission gate (docs/commands/verify-image.md).
// Its failures have their own exit codes, so that a pipeline can tell "do not deploy" from "could
// not ask". Implementation in verify-image-run.ts, loaded lazily.

import type { Command } from 'commander';
import type { App } from '../app.js';
import { GATE_EXIT } from '../exit-codes.js';

/** Every occurrence of a repeatable flag adds one value. */
function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}



export function registerVerifyImage(program: Command, app: App, word?: string): void {
  if (word === 'verify-image') {
    // Set before parsing: a bad command line exits with the usage code too.
    app.exitCodeOf = (e) => {
      const code = (e as { code?: unknown } | undefined)?.code;
      return code === 'USAGE' ? GATE_EXIT.usage : GATE_EXIT.error;
    };
  }
  program
    .command('verify-image')
    .usage('[OPTIONS] IMAGE[:TAG|@DIGEST]')
    .description('Resolve an image to its one trusted digest (as docker pull with content trust), check the registry serves it, print REPO@sha256:...')
    .argument('[args...]')
    .option('--json', 'Print one JSON object (docs/admission.md has its schema)')
    .option('--strict', 'Fail when the trust server cannot be reached instead of using the cached trust data')
    .option('--no-registry', 'Do not ask the registry whether it still serves the trusted digest')
    .option('--root-key <id>', 'Root key ID the repository root must be signed with (no trust on first use); repeatable', repeatable)
    .option('--root-cert <file>', 'PEM root certificate, or CA certificate, the repository root must match (no trust on first use)')
    .option('--require-role <role>', 'A role that must sign the trusted digest (targets, targets/releases, targets/NAME); repeatable', repeatable)
    .option('--require-signer <name>', 'A docker signer (targets/NAME) that must sign the trusted digest; repeatable', repeatable)
    .option('--cosign-key <file>', 'Also require a cosign signature attached to the trusted digest that verifies with this public key (cosign.pub)')
    .option('--archive <file>', 'Answer from a trust archive (dtrust archive) instead of the trust server, as of its capture time')
    .action(app.action(async (ctx, args: string[]) => (await import('./verify-image-run.js')).verifyImage(ctx, args), { docker: true }));
}
