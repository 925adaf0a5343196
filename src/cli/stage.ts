// Entry point of the staging commands alone (dist/stage.cjs): add, addhash, remove and witness,
// which scripts run once per target. bin/dtrust loads this small bundle for them instead of the
// whole program: no commander and no command tree, only what staging runs. The command line is
// read by stage-args.ts; what it does not read (help, -p, anything unusual) is handed to the whole
// program before anything is done. The implementations are the whole program's (repo-stage.ts).
// The build cuts every module this code reaches only through import() out of the bundle, except
// those staging loads (scripts/build.mjs).

import type { Command } from 'commander';
import { processApp, type Ctx } from './app.js';
import { normaliseArgv } from './argv.js';
import { add, addhash, remove, witness } from './commands/repo-stage.js';
import { installInterruptHandlers } from './interrupt.js';
import { readStageLine, type StageLine, type StagingWord } from './stage-args.js';

export { outputFlushed } from './output.js';

const ACTIONS: Record<StagingWord, (ctx: Ctx, args: string[]) => Promise<void>> = { add, addhash, remove, witness };

/** What stage.ts needs of dist/dtrust.cjs: the help text of a command (main.ts). */
export interface WholeProgram {
  usage(argv: string[], invokedAs: string): string;
}

/**
 * Runs a staging command; undefined when the whole program must run it instead (nothing has been
 * done then). `whole` loads dist/dtrust.cjs, for the usage an error may print.
 */
export async function main(argv: string[], invokedAs: string, whole: () => WholeProgram): Promise<number | undefined> {
  const line = readStageLine(normaliseArgv(argv));
  if (line === undefined) return undefined;
  const app = processApp(invokedAs);
  installInterruptHandlers(app.program);
  await app.action(ACTIONS[line.word])(line.args, line.opts, lineCommand(line, () => whole().usage(argv, invokedAs)));
  return app.exitCode;
}

/** The part of commander's Command that actions and App read, for a line commander never parsed. */
function lineCommand(line: StageLine, usage: () => string): Command {
  const reading: Pick<Command, 'opts' | 'optsWithGlobals' | 'helpInformation'> = {
    opts: <T>() => ({ ...line.opts }) as T,
    optsWithGlobals: <T>() => ({ ...line.globals, ...line.opts }) as T,
    helpInformation: usage,
  };
  return reading as Command;
}
