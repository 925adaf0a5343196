// `archive GUN... -o FILE` and `archive verify FILE` (docs/commands/archive.md): verifiable
// trust archives. Implementations in archive-run.ts, loaded lazily.

import type { Command } from 'commander';
import type { App } from '../app.js';

const run = () => import('./archive-run.js');

function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerArchive(program: Command, app: App): void {
  const archive = program
    .command('archive')
    .usage('GUN... -o FILE | --from FILE -o FILE | verify FILE')
    .description('Write the trust data of repositories, as served and verified, to one archive that can be checked offline')
    .argument('[guns...]')
    .option('-o, --output <file>', 'The archive to write')
    .option('--from <file>', 'Read the repositories (GUNs or image names) from this file, one per line ("-" for stdin)')
    .option('-j, --jobs <n>', 'Repositories fetched at once', '8')
    .action(app.action(async (ctx, guns: string[]) => (await run()).archive(ctx, guns), { docker: true }));
  archive
    .command('verify')
    .usage('FILE [--root-key ID | --root-cert FILE] [--json]')
    .description('Verify every repository of an archive offline, as of its capture time')
    .argument('[args...]')
    .option('--root-key <id>', 'Root key ID each repository root must be signed with (no trust on first use); repeatable', repeatable)
    .option('--root-cert <file>', 'PEM root certificate, or CA certificate, the repository roots must match')
    .option('--json', 'Print the summary as JSON')
    .action(app.action(async (ctx, args: string[]) => (await run()).archiveVerify(ctx, args), { docker: true }));
}
