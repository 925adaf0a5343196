// Entry point of the whole program (dist/dtrust.cjs): builds the command tree and runs it.
// Command modules only declare commands; their implementations load lazily so that start-up pays
// only for what runs (principle 7). The staging commands also have a faster entry, stage.ts.

import { Command, CommanderError } from 'commander';
import { processApp, type App } from './app.js';
import { commandWord, normaliseArgv } from './argv.js';
import { registerArchive } from './commands/archive.js';
import { registerDelegation } from './commands/delegation.js';
import { registerDocker } from './commands/docker.js';
import { registerExpiry } from './commands/expiry.js';
import { registerKey } from './commands/key.js';
import { registerMigrate } from './commands/migrate.js';
import { registerRepo } from './commands/repo.js';
import { registerRotate } from './commands/rotate.js';
import { registerVerifyImage } from './commands/verify-image.js';
import { registerCompletion } from './commands/completion.js';
import { UsageError } from './errors.js';
import { configureHelpLayout, unknownCommandMessage } from './help.js';
import { installInterruptHandlers } from './interrupt.js';
import { versionBlock, versionLine } from './version.js';

export { outputFlushed } from './output.js';

export async function main(argv: string[], invokedAs = 'dtrust'): Promise<number> {
  const app = processApp(invokedAs);
  const name = app.program;
  const args = normaliseArgv(argv);
  if (args[0] === '__complete') return completeWords(app, argv.slice(1));
  installInterruptHandlers(name);
  const program = buildProgram(app, commandWord(args));
  // pflag reads every argument before `--` that starts with `-` as a flag; commander takes a
  // negative number for an operand (`addhash GUN t -5` must fail as notary's does).
  const flagged = new Set(args.includes('--') ? args.slice(0, args.indexOf('--')) : args);
  program.hook('preAction', (_root, action) => {
    const flag = action.args.find((a) => /^-./.test(a) && flagged.has(a));
    if (flag !== undefined) throw new UsageError(`unknown shorthand flag: '${flag[1]}' in ${flag}`, false);
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0;
      app.fail(new UsageError(commanderMessage(e, name), false), undefined, false);
    } else app.fail(e, undefined, false);
  }
  return app.exitCode;
}

/**
 * The help of the command in `argv`, which stage.ts (it has no commander) prints with an error
 * that shows the usage: the same text this program prints.
 */
export function usage(argv: string[], invokedAs: string): string {
  const args = normaliseArgv(argv);
  const word = commandWord(args);
  const program = buildProgram(processApp(invokedAs), word);
  return (program.commands.find((c) => c.name() === word) ?? program).helpInformation();
}

/** `__complete WORD...`: the candidates for the last word, from the whole tree (cli/completion.ts). */
async function completeWords(app: App, words: string[]): Promise<number> {
  const c = await import('./completion.js');
  const names = await c.trustDirNames(async () => {
    try {
      const { loadConfig } = await import('../config/config.js');
      return (await loadConfig(c.trustDirFlags(words), app.env, app.cwd, app.program)).trustDir;
    } catch {
      return undefined;
    }
  });
  app.output.out(c.formatCandidates(c.complete(buildProgram(app), words, names)));
  return 0;
}

/** The command tree; with `word`, only the modules that declare that top-level command. */
export function buildProgram(app: App, word?: string): Command {
  const name = app.program;
  const program = new Command(name);
  program
    .description(
      `${name === 'notary' ? 'Notary' : 'dtrust'} allows the creation and management of collections of signed targets, allowing the signing and validation of arbitrary content.`,
    )
    .option('-c, --configFile <path>', 'Path to the configuration file to use')
    .option('-D, --debug', 'Debug output')
    .option('-v, --verbose', 'Verbose output')
    .option('-s, --server <url>', 'Remote trust server location')
    .option('--tlscacert <path>', 'Trust certs signed only by this CA')
    .option('--tlscert <path>', 'TLS certificate file')
    .option('--tlskey <path>', 'TLS key file')
    .option('-d, --trustDir <path>', 'Directory where the trust data is persisted to')
    .option('--pkcs11-module <path>', 'PKCS#11 library holding root keys on a token (YubiKey); "none" turns tokens off')
    .option('--version', `Print the version number of ${name}`)
    .usage('[command] [flags]')
    .argument('[command]')
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({ writeOut: (s) => app.output.out(s), writeErr: (s) => app.output.out(s), outputError: () => {} })
    .action(
      app.action(async (ctx, command: string | undefined) => {
        if (command === 'help') {
          const sub = ctx.cmd.args.slice(1);
          let target: Command = ctx.cmd;
          for (const w of sub) target = target.commands.find((c) => c.name() === w) ?? target;
          target.outputHelp();
          return;
        }
        if (command !== undefined) throw new UsageError(unknownCommandMessage(command, ctx.cmd), false);
        if (ctx.cmd.opts().version) app.output.out(versionLine(name) + '\n');
        else ctx.cmd.outputHelp();
      }),
    );

  program
    .command('version')
    .description(`Print the version number of ${name}`)
    .action(() => app.output.out(versionBlock(name)));

  const known = word === 'version' || COMMAND_MODULES.some((m) => m.names.includes(word ?? ''));
  for (const m of COMMAND_MODULES) if (!known || m.names.includes(word ?? '')) m.register(program, app, known ? word : undefined);
  propagateSettings(program, app);
  configureHelpLayout(program);
  return program;
}

/** Declares a module's commands; with `word` (the command word), a module may declare only that one. */
type Register = (program: Command, app: App, word?: string) => void;

/**
 * Each module declares one part of the command tree, under these top-level names (`key` has
 * subcommands from three modules). A command registers only its own modules: building the whole
 * tree is a millisecond of every run. Help, an unknown word or no word get the whole tree.
 */
export const COMMAND_MODULES: { names: readonly string[]; register: Register }[] = [
  { names: ['init', 'add', 'addhash', 'remove', 'list', 'lookup', 'verify', 'publish', 'status', 'reset', 'delete', 'witness'], register: registerRepo },
  { names: ['delegation'], register: registerDelegation },
  { names: ['key'], register: registerKey },
  { names: ['key'], register: registerRotate },
  { names: ['trust', 'sign', 'inspect', 'revoke', 'signer', 'key'], register: registerDocker },
  { names: ['verify-image'], register: registerVerifyImage },
  { names: ['archive'], register: registerArchive },
  { names: ['migrate'], register: registerMigrate },
  { names: ['expiry', 'renew', 'doctor'], register: registerExpiry },
  { names: ['completion', '__complete'], register: registerCompletion },
];

function propagateSettings(cmd: Command, app: App): void {
  for (const sub of cmd.commands) {
    sub.exitOverride().configureOutput({ writeOut: (s) => app.output.out(s), writeErr: (s) => app.output.out(s), outputError: () => {} });
    configureHelpLayout(sub);
    propagateSettings(sub, app);
  }
}

/** commander's messages in pflag/cobra words, as notary users see them. */
function commanderMessage(e: CommanderError, name: string): string {
  const opt = /unknown option '([^']+)'/.exec(e.message);
  if (opt) {
    const flag = opt[1]!;
    return flag.startsWith('--') ? `unknown flag: ${flag}` : `unknown shorthand flag: '${flag.slice(1, 2)}' in ${flag}`;
  }
  const cmd = /unknown command '([^']+)'/.exec(e.message);
  if (cmd) return `unknown command "${cmd[1]}" for "${name}"`;
  return e.message.replace(/^error: /, '');
}
