// stage-args.ts reads the staging commands' lines without commander (bin/dtrust's fast path,
// stage.ts). Every line it reads, commander must read the same way: the same command, operands
// and flags. A line it does not read goes to the whole program, so only agreement is a property.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Command } from 'commander';
import { App } from '../../src/cli/app.js';
import { commandWord, normaliseArgv } from '../../src/cli/argv.js';
import { buildProgram } from '../../src/cli/main.js';
import type { Output } from '../../src/cli/output.js';
import { readStageLine, STAGING_WORDS } from '../../src/cli/stage-args.js';
import { property } from './budget.js';

const quiet: Output = { out: () => undefined, drain: async () => undefined, err: () => undefined, log: () => undefined, setLevel: () => undefined };

interface Read {
  word: string;
  args: string[];
  opts: Record<string, unknown>;
  all: Record<string, unknown>;
}

/** What commander makes of `argv`, as main.ts builds the tree; undefined when it refuses it. */
async function commanderReads(argv: string[]): Promise<Read | undefined> {
  const args = normaliseArgv(argv);
  const program = buildProgram(new App('dtrust', quiet, {}, '/', 0), commandWord(args));
  let read: Read | undefined;
  const capture = (c: Command): void => {
    c.action((...raw: unknown[]) => {
      const cmd = raw[raw.length - 1] as Command;
      read = { word: cmd.name(), args: cmd.args, opts: cmd.opts(), all: cmd.optsWithGlobals() };
    });
  };
  capture(program);
  for (const c of program.commands) capture(c);
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch {
    return undefined;
  }
  return read;
}

/** Global flags with their values, as scripts write them. */
const globalFlag = fc.constantFrom<string[]>(
  ['-d', '/tmp/t'],
  ['--trustDir', '/x'],
  ['--trustDir=/x'],
  ['-d=/y'],
  ['-s', 'https://h'],
  ['--server=https://s'],
  ['-c', 'c.json'],
  ['--configFile', 'd.json'],
  ['--tlscacert', 'ca.pem'],
  ['--tlscert=c.pem'],
  ['--tlskey', 'k.pem'],
  ['--pkcs11-module', 'none'],
  ['-D'],
  ['--debug'],
  ['-v'],
  ['--verbose'],
);
/** The staging commands' own flags with their values, and operands. */
const commandPart = fc.constantFrom<string[]>(
  ['-r', 'targets/a,targets/b'],
  ['--roles', 'targets/r'],
  ['--roles=targets/c'],
  ['-r=targets/d'],
  ['--sha256', 'abc'],
  ['--sha256='],
  ['--sha512', 'def'],
  ['--custom', 'custom.json'],
  ['--from', 'list.txt'],
  ['--from=-'],
  ['example.com/app'],
  ['t'],
  ['3'],
  [''],
  ['addhash'],
  ['list'],
);
/** Tokens that commander reads otherwise, or refuses. */
const odd = fc.constantFrom('-d', '-r', '--sha256', '--from', '-', '--', '-p', '--publish', '-h', '--help', '--version', '-5', '-vD', '-dX', '--debug=1', '--unknown', '--=x', '-x', 'bogus');
const units = (part: fc.Arbitrary<string[]>, n: number): fc.Arbitrary<string[]> =>
  fc.array(fc.oneof({ weight: 12, arbitrary: part }, { weight: 1, arbitrary: odd.map((t) => [t]) }), { maxLength: n }).map((u) => u.flat());
/** Mostly lines with a staging word, so that most are read; some with none. */
const line = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(units(globalFlag, 3), fc.constantFrom(...STAGING_WORDS), units(fc.oneof(globalFlag, commandPart), 7)).map(([a, w, b]) => [...a, w, ...b]) },
  { weight: 1, arbitrary: units(fc.oneof(globalFlag, commandPart), 8) },
);

property(
  'stage-args/read-as-commander-reads',
  fc.asyncProperty(line, async (argv) => {
    const mine = readStageLine(normaliseArgv(argv));
    if (mine === undefined) return;
    const theirs = await commanderReads(argv);
    assert.ok(theirs !== undefined, `commander refuses ${JSON.stringify(argv)}, which stage-args reads as ${JSON.stringify(mine)}`);
    assert.deepEqual(
      { word: theirs.word, args: theirs.args, opts: { ...theirs.opts }, all: { ...theirs.all } },
      { word: mine.word, args: mine.args, opts: mine.opts, all: { ...mine.globals, ...mine.opts } },
      JSON.stringify(argv),
    );
  }),
);

test('the property is not empty: most generated lines are read, with flags of both levels', () => {
  const lines = fc.sample(line, 2000);
  const read = lines.map((a) => readStageLine(normaliseArgv(a))).filter((r) => r !== undefined);
  assert.ok(read.length > lines.length / 3, `${read.length} of ${lines.length} read`);
  assert.ok(read.filter((r) => Object.keys(r.opts).length > 0 && Object.keys(r.globals).length > 0).length > lines.length / 20);
});

test('what commander reads otherwise is left to it', () => {
  for (const argv of [
    ['addhash', 'g', 't', '3', '--sha256', 'x', '-p'],
    ['addhash', '--help'],
    ['-h', 'add'],
    ['addhash', 'g', 't', '-5'],
    ['addhash', '--', 'g'],
    ['add', '-r', '-dX'],
    ['add', '-vD', 'g'],
    ['--sha256', 'x', 'addhash'],
    ['list', 'g'],
    [],
  ]) {
    assert.equal(readStageLine(normaliseArgv(argv)), undefined, JSON.stringify(argv));
  }
  assert.deepEqual(readStageLine(normaliseArgv(['-s', 'https://h', '-d=/t', 'addhash', 'g', 't', '3', '--sha256', 'ab', '-r', 'targets/a,targets/b', '--roles=targets/c'])), {
    word: 'addhash',
    args: ['g', 't', '3'],
    opts: { sha256: 'ab', roles: ['targets/a', 'targets/b', 'targets/c'] },
    globals: { server: 'https://h', trustDir: '/t' },
  });
});
