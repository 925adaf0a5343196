// Entry point: builds the command tree and runs it. Commands load their implementation lazily
// so that start-up only pays for what the command needs (design principle 7).

import { Command, CommanderError } from 'commander';
import { versionBlock, versionLine } from './version.js';

/** Runs one command line; returns the process exit code (0 or 1, as notary). */
export async function main(argv: string[], invokedAs = 'dtrust'): Promise<number> {
  const name = invokedAs === 'notary' ? 'notary' : 'dtrust';
  const program = new Command(name);
  program
    .description(
      `${name === 'notary' ? 'Notary' : 'dtrust'} allows the creation and management of collections of signed targets, allowing the signing and validation of arbitrary content.`,
    )
    .option('--version', `Print the version number of ${name}`)
    .argument('[command]')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stdout.write(s) })
    .action((command: string | undefined) => {
      if (command !== undefined) throw new UsageError(`unknown command "${command}" for "${name}"`);
      if (program.opts().version) process.stdout.write(versionLine(name) + '\n');
      else program.outputHelp();
    });

  program
    .command('version')
    .description(`Print the version number of ${name}`)
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

class UsageError extends Error {}
