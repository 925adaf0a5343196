// Help and completion read from the command tree (issue 18 item 1): the completion scripts loaded
// in bash, zsh and fish (when installed) complete commands, flags, GUNs, roles and key IDs; help
// lists argument names and the global flags; an unknown command suggests the closest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { App } from '../../src/cli/app.js';
import { complete } from '../../src/cli/completion.js';
import { argumentNames, configureHelpLayout } from '../../src/cli/help.js';
import { buildProgram } from '../../src/cli/main.js';
import type { Output } from '../../src/cli/output.js';
import { DTRUST_BIN, NOTARY_BIN, runDtrust, runProcess } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { copyTrustDir, NOTARY07_TRUSTDIR } from './key-helpers.js';

const KEY_IDS = [
  '0d219c843fb79edde87000fa68ee3317c9d4a79c5a6f62299e0475103c2444b7',
  '620ae0a536cd7a434ffc2e643e7acabdb685fcf177d2d7a4858ef95eb293dff0',
  '797c7f5d44da4f3fe1b37af3dd108f0b8370626ea5a7e4463dafac3e0ecdd0f2',
  '8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846',
  'aca456b2672ed089d93a17c014ee6e89f4adf0a9cfc04c792a600cd5c6029577',
];

/** A PATH whose `dtrust` is this checkout's launcher, and a HOME with nothing in it. */
async function shellEnv(): Promise<Record<string, string>> {
  const dir = await tempDir('dtrust-completion-');
  await mkdir(join(dir, 'bin'));
  await mkdir(join(dir, 'home'));
  await symlink(DTRUST_BIN, join(dir, 'bin', 'dtrust'));
  return { PATH: `${join(dir, 'bin')}:${process.env['PATH']}`, HOME: join(dir, 'home') };
}

const has = (cmd: string): boolean => ['/usr/bin', '/bin', '/usr/local/bin'].some((d) => existsSync(join(d, cmd)));

/** The rows: words typed (the last one being completed) and what must be offered. */
function rows(trustDir: string): [string[], string[]][] {
  return [
    [['li'], ['list']],
    [['key', 'rem'], ['remove']],
    [['completion', ''], ['bash', 'zsh', 'fish']],
    [['add', '--ro'], ['--roles']],
    [['-d', trustDir, 'list', ''], ['example.com/test1']],
    [['-d', trustDir, 'key', 'remove', ''], KEY_IDS],
    [['-d', trustDir, 'key', 'rotate', 'example.com/test1', 'sn'], ['snapshot']],
    [['-d', trustDir, 'add', '-r', 't'], ['targets', 'timestamp']],
  ];
}

test('bash: the script completes commands, flags, GUNs, key IDs and roles', async () => {
  const env = await shellEnv();
  const trustDir = await copyTrustDir(NOTARY07_TRUSTDIR);
  for (const [words, want] of rows(trustDir)) {
    const line = ['dtrust', ...words].map((w) => `'${w}'`).join(' ');
    const script = `source <(dtrust completion bash); COMP_WORDS=(${line}); COMP_CWORD=${words.length}; __dtrust_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = await runProcess('bash', ['--norc', '-c', script], { env });
    assert.equal(r.stderr, '', words.join(' '));
    assert.equal(r.stdout, want.map((w) => `${w}\n`).join(''), words.join(' '));
  }
  // A path argument is left to the shell's file completion.
  const files = await runProcess('bash', ['--norc', '-c', `cd ${trustDir} && source <(dtrust completion bash); COMP_WORDS=(dtrust init --rootkey ec_); COMP_CWORD=3; __dtrust_complete; printf '%s\\n' "\${COMPREPLY[@]}"`], { env });
  assert.equal(files.stdout, 'ec_pkcs8.pem\n');
});

test('zsh: the script completes through compadd and _files', async (t) => {
  if (!has('zsh')) return t.skip('zsh is not installed');
  const env = await shellEnv();
  const trustDir = await copyTrustDir(NOTARY07_TRUSTDIR);
  for (const [words, want] of rows(trustDir)) {
    const line = ['dtrust', ...words].map((w) => `'${w}'`).join(' ');
    const script =
      'autoload -U compinit; compinit -u -D; source <(dtrust completion zsh); ' +
      'compadd() { [[ $1 == -Q ]] && shift; [[ $1 == -a ]] && print -l -- "${(@P)2}"; }; _files() { print "FILES $*"; }; ' +
      `words=(${line}); CURRENT=${words.length + 1}; __dtrust_complete`;
    const r = await runProcess('zsh', ['-f', '-c', script], { env });
    assert.equal(r.stdout, want.map((w) => `${w}\n`).join(''), words.join(' '));
  }
  const files = await runProcess('zsh', ['-f', '-c', "autoload -U compinit; compinit -u -D; source <(dtrust completion zsh); _files() { print \"FILES $*\"; }; words=(dtrust -d x init --rootkey ''); CURRENT=6; __dtrust_complete"], { env });
  assert.equal(files.stdout, 'FILES \n');
});

test('fish: the script completes with complete -C', async (t) => {
  if (!has('fish')) return t.skip('fish is not installed');
  const env = await shellEnv();
  const trustDir = await copyTrustDir(NOTARY07_TRUSTDIR);
  for (const [words, want] of rows(trustDir)) {
    const line = ['dtrust', ...words].join(' ');
    const r = await runProcess('fish', ['--no-config', '-c', `source (dtrust completion fish | psub); complete -C '${line}'`], { env });
    // fish orders candidates itself.
    assert.deepEqual(r.stdout.split('\n').slice(0, -1).sort(), [...want].sort(), line);
    assert.ok(r.stdout.endsWith('\n'), line);
  }
});

const quiet: Output = { out: () => undefined, drain: async () => undefined, err: () => undefined, log: () => undefined, setLevel: () => undefined };

test('a command added to the tree completes and is listed with its argument names without other edits', () => {
  const program = buildProgram(new App('dtrust', quiet, {}, '/', 0));
  const added = program.command('sunset').usage('[ GUN ] [ Role ] [flags]').summary('Shows when roles expire').option('--within <duration>', 'only roles expiring within');
  configureHelpLayout(added);
  const none = { guns: () => ['g/one'], roles: () => ['root', 'targets'], keyIds: () => [] };
  assert.deepEqual(complete(program, ['suns'], none).words, ['sunset']);
  assert.deepEqual(complete(program, ['sunset', ''], none).words, ['g/one']);
  assert.deepEqual(complete(program, ['sunset', 'g/one', 'r'], none).words, ['root']);
  assert.deepEqual(complete(program, ['sunset', '--wi'], none).words, ['--within']);
  assert.match(program.helpInformation(), /^ {2}sunset GUN ROLE +Shows when roles expire$/m);
});

test('argument names come from the usage lines', () => {
  const names = (usage: string): string => argumentNames(new Command('x').usage(usage));
  assert.equal(names('[ GUN ] <target> <file> [flags]'), 'GUN TARGET FILE');
  assert.equal(names('[ GUN ] <role> ... [flags]'), 'GUN ROLE...');
  assert.equal(names('[ GUN ] [ Role ] <X509 file path 1> ... [flags]'), 'GUN ROLE X509-FILE-PATH...');
  assert.equal(names('pemfile [ pemfile ... ] [flags]'), 'PEMFILE...');
  assert.equal(names('[OPTIONS] NAME REPOSITORY [REPOSITORY...]'), 'NAME REPOSITORY [REPOSITORY...]');
  assert.equal(names('[flags]'), '');
});

const GLOBAL_FLAGS = `Global Flags:
  -c, --configFile <path>  Path to the configuration file to use
  -D, --debug              Debug output
  -v, --verbose            Verbose output
  -s, --server <url>       Remote trust server location
  --tlscacert <path>       Trust certs signed only by this CA
  --tlscert <path>         TLS certificate file
  --tlskey <path>          TLS key file
  -d, --trustDir <path>    Directory where the trust data is persisted to
  --pkcs11-module <path>   PKCS#11 library holding root keys on a token
                           (YubiKey); "none" turns tokens off
`;

test('help COMMAND and COMMAND --help list the global flags; the command list shows argument names', async () => {
  const help = await runDtrust(['help', 'add']);
  assert.equal(help.code, 0);
  assert.ok(help.stdout.endsWith(`\n\n${GLOBAL_FLAGS}`), help.stdout);
  const flag = await runDtrust(['add', '--help']);
  assert.equal(flag.stdout, help.stdout);
  const rotate = await runDtrust(['key', 'rotate', '--help']);
  assert.ok(rotate.stdout.endsWith(`\n\n${GLOBAL_FLAGS}`), rotate.stdout);
  const root = await runDtrust(['--help']);
  for (const line of ['  add GUN TARGET FILE ', '  witness GUN ROLE... ', '  key COMMAND ', '  completion bash|zsh|fish ']) {
    assert.ok(root.stdout.includes(`\n${line}`), line);
  }
  assert.ok(root.stdout.endsWith('\n\nUse "dtrust [command] --help" for more information about a command.\n'), root.stdout);
  const key = await runDtrust(['key', '--help']);
  assert.ok(key.stdout.includes('\n  remove KEYID '), key.stdout);
  assert.ok(key.stdout.includes('\nUse "dtrust key [command] --help" for more information about a command.\n'), key.stdout);
});

test('an unknown command suggests the closest, in notary\'s words', async () => {
  const d = await runDtrust(['lst']);
  assert.equal(d.code, 1);
  assert.equal(d.stdout, '');
  assert.equal(d.stderr, '\n* fatal: unknown command "lst" for "dtrust"\n\nDid you mean this?\n\tlist\n\n');
  const n = await runProcess(NOTARY_BIN, ['lst'], { env: { PATH: process.env['PATH'], HOME: await tempDir() } });
  const asNotary = await runDtrust(['lst'], { invokeAs: 'notary' });
  assert.equal(asNotary.code, n.code);
  assert.equal(asNotary.stdout, n.stdout);
  const far = await runDtrust(['zzzz']);
  assert.equal(far.stderr, '\n* fatal: unknown command "zzzz" for "dtrust"\n');
});
