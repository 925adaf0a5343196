// The command tree is built from the modules that own the command being run: each module must
// declare exactly the top-level names it registers, or a command would go missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { App } from '../../src/cli/app.js';
import { buildProgram, COMMAND_MODULES } from '../../src/cli/main.js';
import { commandWord } from '../../src/cli/argv.js';
import type { Output } from '../../src/cli/output.js';

const quiet: Output = { out: () => undefined, drain: async () => undefined, err: () => undefined, log: () => undefined, setLevel: () => undefined };
const app = (): App => new App('dtrust', quiet, {}, '/', 0);
const names = (c: Command): string[] => c.commands.map((s) => s.name()).sort();

test('each command module declares exactly the top-level commands it registers', () => {
  for (const m of COMMAND_MODULES) {
    const root = new Command('dtrust');
    m.register(root, app());
    assert.deepEqual(names(root), [...new Set(m.names)].sort(), m.register.name);
  }
});

test('a known command builds only its part of the tree, with every subcommand it has', () => {
  const full = buildProgram(app());
  for (const word of [...new Set(COMMAND_MODULES.flatMap((m) => m.names))]) {
    const part = buildProgram(app(), word);
    const mine = part.commands.find((c) => c.name() === word)!;
    const whole = full.commands.find((c) => c.name() === word)!;
    assert.deepEqual(names(mine), names(whole), word);
    assert.ok(part.commands.length < full.commands.length, word);
  }
  assert.deepEqual(names(buildProgram(app(), 'version')), ['version']);
  for (const w of [undefined, 'help', 'lsit']) assert.deepEqual(names(buildProgram(app(), w)), names(full), String(w));
});

test('the command word skips global flags and their values', () => {
  assert.equal(commandWord(['-s', 'https://x', '-d', '/t', '-D', 'list', 'gun']), 'list');
  assert.equal(commandWord(['--trustDir', 'key', 'key', 'list']), 'key');
  assert.equal(commandWord(['-sx', 'list']), 'list');
  assert.equal(commandWord(['--help']), undefined);
  assert.equal(commandWord(['--', 'list']), 'list');
});
