// Staging commands side by side with the REAL notary client (no server needed: they are offline):
//  - the same add/addhash/remove/witness staging in two trust dirs gives the same messages, the
//    same `status` output byte for byte and the same change files; `reset -n`/`--all` likewise;
//  - the argument errors of cli.md §1.2, checked before the configuration is read;
//  - GUNs that would leave the trust directory are refused with nothing created (cli.md §12 #10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NotaryClient, DtrustClient, runDtrust, runProcess, NOTARY_BIN, baseEnv, type RunResult } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { FAST_KDF, fails, fatal, file, mapLimit, ok, tableRows } from './repo-helpers.js';

const sha256 = (b: string): string => createHash('sha256').update(b).digest('hex');
const sha512 = (b: string): string => createHash('sha512').update(b).digest('hex');
// Offline commands never contact it; a closed port makes any attempt fail loudly.
const NO_SERVER = 'http://127.0.0.1:1';

function changeFiles(trustDir: string, gun: string): Buffer[] {
  const dir = join(trustDir, 'tuf', gun, 'changelist');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.change'))
    .sort()
    .map((f) => readFileSync(join(dir, f)));
}

test('status after the same staging matches notary byte for byte; reset -n / --all / status --unstage', async () => {
  const home = await tempDir('repo-staging-');
  const notary = await NotaryClient.create({ serverUrl: NO_SERVER, home, trustDir: join(home, 'n') });
  const dtrust = await DtrustClient.create({ serverUrl: NO_SERVER, home, trustDir: join(home, 'd'), env: FAST_KDF });
  const gun = 'example.com/staging/ü <&>';
  const content = 'staged content\n';
  const f = file(home, 'f.txt', content);
  const custom = file(home, 'custom.json', '{"a": "<&>", "b": 1, "ü": [1, 2]}\n');

  const steps: string[][] = [
    ['add', gun, 'with space', f],
    ['addhash', gun, 'ü<&>', String(content.length), '--sha512', sha512(content)],
    ['addhash', gun, 'both', '15', '--sha256', sha256(content), '--sha512', sha512(content)],
    ['remove', gun, 'gone one'],
    ['witness', gun, 'targets', 'targets/releases'],
    ['add', gun, 'x', f, '-r', 'targets/releases,targets/qa'],
    ['remove', gun, 'y', '--roles', 'targets/releases'],
    ['add', gun, 'custom', f, '--custom', custom],
    ['addhash', gun, 'hex-size', '0x0f', '--sha256', sha256(content)],
  ];
  for (const args of steps) {
    // One after the other: change files are ordered by creation time.
    const n = ok('notary', args, await notary.run(args));
    const d = ok('dtrust', args, await dtrust.run(args));
    // notary lists the algorithms in Go map order; dtrust always as sha256, sha512.
    assert.equal(d.stdout, n.stdout.replace('by sha512, sha256 hash', 'by sha256, sha512 hash'), args.join(' '));
    assert.equal(d.stderr, '');
  }
  const ns = ok('notary', ['status'], await notary.run(['status', gun]));
  const ds = ok('dtrust', ['status'], await dtrust.run(['status', gun]));
  assert.equal(ds.stdout, ns.stdout);
  assert.equal(tableRows(ns.stdout).length, 11);
  assert.match(ns.stdout, /^4     update    targets             witness    $/m, 'trailing spaces of an empty last cell');
  // The change files themselves are the same bytes (file names differ: time and UUID).
  assert.deepEqual(
    changeFiles(dtrust.trustDir, gun).map((b) => b.toString('utf8')),
    changeFiles(notary.trustDir, gun).map((b) => b.toString('utf8')),
  );
  // Each tool reads the other's changelist the same way.
  const cross = (c: DtrustClient | NotaryClient, dir: string, args: string[]) => c.run(['-d', dir, ...args], { noGlobalFlags: true });
  assert.equal(ok('dtrust', ['status'], await cross(dtrust, notary.trustDir, ['status', gun])).stdout, ns.stdout);
  assert.equal(ok('notary', ['status'], await cross(notary, dtrust.trustDir, ['status', gun])).stdout, ns.stdout);

  // --json: the same rows.
  const json = JSON.parse(ok('dtrust', ['status', '--json'], await dtrust.run(['status', gun, '--json'])).stdout) as {
    index: number;
    action: string;
    scope: string;
    type: string;
    path: string;
  }[];
  assert.deepEqual(
    json.map((c) => [String(c.index), c.action, c.scope, c.type, c.path]),
    tableRows(ns.stdout),
  );

  // reset -n (comma list and repeated; out-of-range ignored), then --unstage, then --all.
  const reset = ['reset', gun, '-n', '1,3', '-n', '99', '--number', '5'];
  const nr = ok('notary', reset, await notary.run(reset));
  assert.equal(nr.stdout, `Successfully reset specified changes for repository ${gun}\n`);
  assert.equal(ok('dtrust', reset, await dtrust.run(reset)).stdout, nr.stdout);
  const ns2 = ok('notary', ['status'], await notary.run(['status', gun]));
  assert.equal(tableRows(ns2.stdout).length, 8);
  assert.equal(ok('dtrust', ['status'], await dtrust.run(['status', gun])).stdout, ns2.stdout);

  ok('notary', ['reset'], await notary.run(['reset', gun, '-n', '0']));
  const nAfter = ok('notary', ['status'], await notary.run(['status', gun]));
  assert.equal(ok('dtrust', ['status', '--unstage'], await dtrust.run(['status', gun, '--unstage', '0'])).stdout, nAfter.stdout);

  const all = ['reset', gun, '--all'];
  assert.equal(ok('dtrust', all, await dtrust.run(all)).stdout, ok('notary', all, await notary.run(all)).stdout);
  const empty = ok('notary', ['status'], await notary.run(['status', gun]));
  assert.equal(empty.stdout, `No unpublished changes for ${gun}\n`);
  assert.equal(ok('dtrust', ['status'], await dtrust.run(['status', gun])).stdout, empty.stdout);
  assert.deepEqual(changeFiles(dtrust.trustDir, gun), []);
  // A GUN never touched, and reset on it.
  const other = ['status', 'example.com/never/touched'];
  assert.equal(ok('dtrust', other, await dtrust.run(other)).stdout, ok('notary', other, await notary.run(other)).stdout);
  const r0 = ['reset', 'example.com/never/touched', '-n', '0'];
  assert.equal(ok('dtrust', r0, await dtrust.run(r0)).stdout, ok('notary', r0, await notary.run(r0)).stdout);
});

// cli.md §1.2: [args, message, usage printed]. Run with a missing -c file: the argument check
// comes first, so the configuration error is never reached.
const ARG_ERRORS: [string[], string, boolean][] = [
  [['init'], 'Must specify a GUN', true],
  [['list'], 'Must specify a GUN', true],
  [['status'], 'Must specify a GUN', true],
  [['publish'], 'Must specify a GUN', true],
  [['delete'], 'Must specify a GUN', true],
  [['delete', '--remote'], 'Must specify a GUN', true],
  [['reset'], 'Must specify a GUN', true],
  [['reset', 'example.com/a'], 'Must specify changes to reset with -n or the --all flag', true],
  [['add', 'example.com/a', 't'], 'Must specify a GUN, target, and path to target data', true],
  [['addhash', 'example.com/a', 't', '3'], 'Must specify a GUN, target, byte size of target data, and at least one hash', true],
  [['addhash', 'example.com/a', 't', '--sha256', sha256('')], 'Must specify a GUN, target, byte size of target data, and at least one hash', true],
  [['addhash', 'example.com/a', 't', '3', '--sha256', ''], 'Must specify a GUN, target, byte size of target data, and at least one hash', true],
  [['remove', 'example.com/a'], 'Must specify a GUN and target', false],
  [['lookup', 'example.com/a'], 'Must specify a GUN and target', true],
  [['verify', 'example.com/a'], 'Must specify a GUN and target', true],
  [['witness', 'example.com/a'], 'Please provide a GUN and at least one role to witness', true],
  [['witness', 'example.com/a', '-p'], 'Please provide a GUN and at least one role to witness', true],
  [['reset', 'example.com/a', '-n', '1,x'], 'invalid argument "1,x" for "-n, --number" flag: strconv.Atoi: parsing "x": invalid syntax', false],
];

test('argument errors (cli.md §1.2): exit 1, notary\'s messages, usage on stdout, before the config file is read', async () => {
  const home = await tempDir('repo-args-');
  const missingConfig = join(home, 'missing', 'config.json');
  const env = baseEnv(home);
  await mapLimit(ARG_ERRORS, 6, async ([args, message, usage]) => {
      const full = ['-c', missingConfig, '-d', join(home, 'trust'), ...args];
      const what = args.join(' ');
      // The real notary: the reference.
      const n = await runProcess(NOTARY_BIN, full, { env, cwd: home });
      assert.equal(n.code, 1, `notary ${what}`);
      assert.equal(fatal(n.stdout), message, `notary ${what}`);
      // dtrust: usage on stdout, the fatal line alone on stderr.
      const d = await runDtrust(full, { home, env: FAST_KDF });
      assert.equal(d.code, 1, `dtrust ${what}: ${d.stdout}${d.stderr}`);
      assert.equal(d.stderr, `\n* fatal: ${message}\n`, `dtrust ${what}`);
      if (usage) assert.match(d.stdout, new RegExp(`^Usage: dtrust ${args[0]} `), `dtrust ${what}`);
      else assert.equal(d.stdout, '', `dtrust ${what}`);
      // Invoked as notary: the fatal line goes to stdout, after the usage, as notary prints it.
      const a = await runDtrust(full, { home, env: FAST_KDF, invokeAs: 'notary' });
      assert.equal(a.code, 1, `as notary ${what}`);
      assert.equal(a.stderr, '', `as notary ${what}`);
      assert.ok(a.stdout.endsWith(`\n* fatal: ${message}\n`), `as notary ${what}: ${a.stdout}`);
      if (usage) assert.match(a.stdout, new RegExp(`^Usage: notary ${args[0]} `));
      else assert.equal(a.stdout, `\n* fatal: ${message}\n`);
  });
  assert.equal(existsSync(join(home, 'trust')), false, 'nothing was created');
});

test('GUNs that would leave the trust directory are refused by every command, with nothing created', async () => {
  const home = await tempDir('repo-gun-');
  const trust = join(home, 'sub', 'trust');
  const f = file(home, 'f.txt', 'x');
  const everyCommand = ['../../escaped', `${home}/absolute`];
  const someCommands = ['/abs', 'a/../../b', 'a//b', 'a/./b', 'trailing/', ' ', 'a\\b'];
  const commands = (g: string): string[][] => [
    ['init', g],
    ['init', g, '-p'],
    ['add', g, 't', f],
    ['add', g, 't', f, '-p'],
    ['addhash', g, 't', '1', '--sha256', sha256('x')],
    ['remove', g, 't'],
    ['list', g],
    ['lookup', g, 't'],
    ['verify', g, 't', '-i', f],
    ['publish', g],
    ['status', g],
    ['reset', g, '--all'],
    ['delete', g],
    ['delete', g, '--remote'],
    ['witness', g, 'targets'],
  ];
  const runs = [
    ...everyCommand.flatMap(commands),
    ...someCommands.flatMap((g) => [
      ['status', g],
      ['add', g, 't', f],
    ]),
  ];
  await mapLimit(runs, 6, async (args) => {
    const r: RunResult = await runDtrust(['-s', NO_SERVER, '-d', trust, ...args], { home, env: FAST_KDF });
    fails('dtrust', args, r);
    assert.equal(r.stdout, '', args.join(' '));
    assert.match(fatal(r.stderr), /^invalid GUN /, args.join(' '));
    assert.match(r.stderr, /\n {2}hint: a GUN is a name such as/, args.join(' '));
  });
  assert.equal(existsSync(join(home, 'sub')), false, 'no trust directory was created');
  assert.equal(existsSync(join(home, 'escaped')), false);
  assert.equal(existsSync(join(home, 'absolute')), false);
  assert.deepEqual(readdirSync(home).sort(), ['f.txt']);
  // As notary too (the fix applies under both names), with the message on stdout.
  const a = await runDtrust(['-d', trust, 'status', '../../escaped'], { home, env: FAST_KDF, invokeAs: 'notary' });
  assert.equal(a.code, 1);
  assert.equal(fatal(a.stdout), 'invalid GUN "../../escaped": it has a ".." part');
  assert.equal(existsSync(join(home, 'sub')), false);
});
