// Entry point: builds the command tree and runs it. Commands load their implementation lazily
// so that start-up only pays for what the command needs (design principle 7).

import { Command, CommanderError } from 'commander';
import { versionBlock, versionLine } from './version.js';

export async function main(argv: string[], invokedAs = 'dtrust'): Promise<number> {
  const name = invokedAs === 'notary' ? 'notary' : 'dtrust';
  const program = new Command(name);
  program
    .description(
      'Notary allows the creation and management of collections of signed targets, allowing the signing and validation of arbitrary content.',
    )
    .option('--version', 'Print the version number of notary')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stdout.write(s) })
    .action(() => {
      if (program.opts().version) process.stdout.write(versionLine(name) + '\n');
      else program.outputHelp();
    });

  program
    .command('version')
    .description('Print the version number of notary')
    .action(() => {
      process.stdout.write(versionBlock(name));
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1;
    process.stdout.write(`\n* fatal: ${(e as Error).message}\n`);
    return 1;
  }
}
