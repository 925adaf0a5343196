// The command lines of the staging commands (add, addhash, remove, witness) as stage.ts reads
// them without commander, so that a script's loop of short commands does not pay for loading and
// building the command tree. It reads the plain forms only: known flags, each as `--flag value`,
// `--flag=value` or `-f value` (a value that does not start with `-`), and operands that do not
// start with `-`. Anything else (help, -p, an unknown or combined flag, `--`, an operand that
// starts with `-`) reads as undefined: the whole program then runs the command with commander.
// test/property/stage-args.test.ts checks that every line read here commander reads the same way.

import { collect } from './argv.js';

export const STAGING_WORDS = ['add', 'addhash', 'remove', 'witness'] as const;
export type StagingWord = (typeof STAGING_WORDS)[number];

export interface StageLine {
  word: StagingWord;
  /** The operands after the command word. */
  args: string[];
  /** The command's own flags, as commander's opts() has them. */
  opts: Record<string, string | string[]>;
  /** The global flags, as commander's optsWithGlobals() adds them. */
  globals: Record<string, string | true>;
}

/** Global flags that take a value, by the name commander gives their value. */
const GLOBAL_VALUES: Readonly<Record<string, string>> = {
  '-c': 'configFile',
  '--configFile': 'configFile',
  '-s': 'server',
  '--server': 'server',
  '--tlscacert': 'tlscacert',
  '--tlscert': 'tlscert',
  '--tlskey': 'tlskey',
  '-d': 'trustDir',
  '--trustDir': 'trustDir',
  '--pkcs11-module': 'pkcs11Module',
};
const GLOBAL_SWITCHES: Readonly<Record<string, string>> = { '-D': 'debug', '--debug': 'debug', '-v': 'verbose', '--verbose': 'verbose' };
const ROLES = { '-r': 'roles', '--roles': 'roles' };
/** Each command's flags that take a value (repo.ts declares them); -p is left to the whole program. */
const COMMAND_VALUES: Readonly<Record<StagingWord, Readonly<Record<string, string>>>> = {
  add: { ...ROLES, '--custom': 'custom', '--from': 'from' },
  addhash: { ...ROLES, '--sha256': 'sha256', '--sha512': 'sha512', '--custom': 'custom', '--from': 'from' },
  remove: ROLES,
  witness: {},
};

function isStagingWord(w: string): w is StagingWord {
  return (STAGING_WORDS as readonly string[]).includes(w);
}

/** The staging command line `argv` (already normalised, argv.ts), or undefined for commander to read. */
export function readStageLine(argv: readonly string[]): StageLine | undefined {
  let word: StagingWord | undefined;
  const args: string[] = [];
  const opts: Record<string, string | string[]> = {};
  const globals: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    if (!a.startsWith('-')) {
      if (word !== undefined) args.push(a);
      else if (isStagingWord(a)) word = a;
      else return undefined;
      continue;
    }
    let value: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 2) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const toggle = GLOBAL_SWITCHES[a];
    if (toggle !== undefined) {
      if (value !== undefined) return undefined;
      globals[toggle] = true;
      continue;
    }
    const global = GLOBAL_VALUES[a];
    const own = word === undefined ? undefined : COMMAND_VALUES[word][a];
    if (global === undefined && own === undefined) return undefined;
    if (value === undefined) {
      // A value that looks like a flag is read differently at each level of commander's tree
      // (the program may take it as its own flag): left to commander.
      if (i + 1 === argv.length || argv[i + 1]!.startsWith('-')) return undefined;
      value = argv[++i]!;
    }
    if (global !== undefined) globals[global] = value;
    else if (own === 'roles') opts[own] = collect(value, opts[own] as string[] | undefined);
    else opts[own!] = value;
  }
  return word === undefined ? undefined : { word, args, opts, globals };
}
