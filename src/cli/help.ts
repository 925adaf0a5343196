// Help as notary prints it, read from the command tree (so that every command, whoever adds it,
// gets the same): argument names in the command list, a "Global Flags" section, the line on how
// to get help on one command, and the suggestion for an unknown command.

import type { Command, Help, Option } from 'commander';

const FLAG_WORDS = new Set(['[flags]', '[options]', '[OPTIONS]', 'OPTIONS', '[command]', '[subcommand]']);

/**
 * The argument names of a command from its usage line: `[ GUN ] <target> <file> [flags]` gives
 * `GUN TARGET FILE`; a group gives `COMMAND`.
 */
export function argumentNames(cmd: Command): string {
  if (cmd.commands.length > 0) return 'COMMAND';
  const usage = cmd.usage();
  const named = usage
    .replace(/\[ ([^\]]+?) \]/g, (_, n: string) => word(n))
    .replace(/<([^>]+)>/g, (_, n: string) => word(n));
  const words = named.split(/\s+/).filter((w) => w !== '' && !FLAG_WORDS.has(w));
  const out: string[] = [];
  for (const w of words) {
    const prev = out[out.length - 1];
    if (w === '...' && prev !== undefined) out[out.length - 1] = prev.endsWith('...') ? prev : `${prev}...`;
    else if (/^[a-z]+$/.test(w)) out.push(w.toUpperCase());
    else if (prev !== undefined && w === `${prev}...`) out[out.length - 1] = w;
    else out.push(w);
  }
  return out.join(' ');
}

function word(name: string): string {
  const trimmed = name.trim().replace(/ \.\.\.$/, '...').replace(/ \d+$/, '');
  return trimmed.toUpperCase().replace(/ /g, '-');
}

/** `add GUN TARGET FILE` in a command list. */
function subcommandTerm(cmd: Command): string {
  const args = argumentNames(cmd);
  return args === '' ? cmd.name() : `${cmd.name()} ${args}`;
}

/** The path of a command below the program (`key rotate`), with the program's name first. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Applies the help layout to a command (called for every command of the tree). */
export function configureHelpLayout(cmd: Command): void {
  cmd.configureHelp({
    showGlobalOptions: true,
    // `--version` belongs to the program alone, as in notary's Global Flags.
    visibleGlobalOptions(this: Help, c: Command) {
      return Object.getPrototypeOf(this).visibleGlobalOptions.call(this, c).filter((o: Option) => o.long !== '--version');
    },
    subcommandTerm,
    styleTitle: (title: string) => (title === 'Global Options:' ? 'Global Flags:' : title),
  } as Partial<Help>);
  if (cmd.commands.length > 0) {
    cmd.addHelpText('after', () => `\nUse "${commandPath(cmd)} [command] --help" for more information about a command.`);
  }
}

/** cobra's rule: names within 2 edits, or starting with what was typed. */
export function suggestions(typed: string, names: readonly string[]): string[] {
  const t = typed.toLowerCase();
  return names.filter((n) => distance(t, n.toLowerCase()) <= 2 || n.toLowerCase().startsWith(t));
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** cobra's unknown-command error, with its `Did you mean this?` list when something is close. */
export function unknownCommandMessage(typed: string, program: Command): string {
  const line = `unknown command "${typed}" for "${program.name()}"`;
  const close = suggestions(
    typed,
    program.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden).map((c) => c.name()),
  );
  return close.length === 0 ? line : `${line}\n\nDid you mean this?\n${close.map((n) => `\t${n}\n`).join('')}`;
}
