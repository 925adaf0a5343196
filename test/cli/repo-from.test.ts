// `add --from` and `addhash --from` (docs/commands/add.md, addhash.md): a list of targets staged in
// one process, checked against the real notary client:
//  - the change files and the messages are those of notary's own loop of single commands;
//  - a bad line stages nothing and names the line;
//  - with -p, one publish at the end, after which the real notary lists and looks up every target;
//  - the real notary publishes what dtrust staged (shared trust directory);
//  - the argument errors of --from, and notary's own count errors without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DtrustClient, NotaryClient } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { tempDir } from '../rig/tmp.js';
import { FAST_KDF, clients, fails, fatal, file, freshNotary, ok, tableRows } from './repo-helpers.js';

const server = useNotaryServer();
// Staging is offline: a closed port makes any attempt to connect fail loudly.
const NO_SERVER = 'http://127.0.0.1:1';

const sha256 = (b: string): string => createHash('sha256').update(b).digest('hex');
const sha512 = (b: string): string => createHash('sha512').update(b).digest('hex');

/** The change files of a GUN, in name (= staging) order. */
function changes(trustDir: string, gun: string): string[] {
  const dir = join(trustDir, 'tuf', gun, 'changelist');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.change'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

/** notary prints the algorithms of addhash in Go map order; dtrust always sha256 first. */
const sortedAlgs = (s: string): string => s.replaceAll('by sha512, sha256 hash', 'by sha256, sha512 hash');

async function offlinePair(prefix: string): Promise<{ home: string; notary: NotaryClient; dtrust: DtrustClient }> {
  const home = await tempDir(prefix);
  const notary = await NotaryClient.create({ serverUrl: NO_SERVER, home, trustDir: join(home, 'n') });
  const dtrust = await DtrustClient.create({ serverUrl: NO_SERVER, home, trustDir: join(home, 'd'), env: FAST_KDF });
  return { home, notary, dtrust };
}

test('addhash --from stages exactly what notary\'s loop of addhash stages, with its messages', async () => {
  const { home, notary, dtrust } = await offlinePair('repo-from-addhash-');
  const gun = 'example.com/from/ü <&>';
  const targets: { name: string; size: number; h256: string; h512?: string; field?: string }[] = [
    { name: 'v1', size: 3, h256: sha256('one') },
    { name: 'with space', size: 0x10, h256: sha256('two'), h512: sha512('two'), field: '"with space"' },
    { name: 'ü<&>', size: 1024, h256: sha256('three') },
    { name: '#not-a-comment', size: 7, h256: sha256('four'), h512: sha512('four'), field: '"#not-a-comment"' },
    { name: 'quote"d', size: 1, h256: sha256('five'), field: '"quote\\"d"' },
  ];
  // Spaces and tabs between fields, a comment, blank lines, a CRLF line end, a byte-order mark.
  const list =
    '\ufeff# staged by a script\n' +
    `v1 3 ${targets[0]!.h256}\n` +
    '\n' +
    `  "with space"\t0x10 \t${targets[1]!.h256} ${targets[1]!.h512}\r\n` +
    `ü<&> 1_024 ${targets[2]!.h256}\n` +
    '   # indented comment\n' +
    `"#not-a-comment" 7 ${targets[3]!.h256} ${targets[3]!.h512}\n` +
    `"quote\\"d" 1 ${targets[4]!.h256}`;
  const listFile = file(home, 'targets.txt', list);

  let expected = '';
  for (const t of targets) {
    const args = ['addhash', gun, t.name, String(t.size), '--sha256', t.h256, ...(t.h512 ? ['--sha512', t.h512] : []), '-r', 'targets/releases'];
    expected += sortedAlgs(ok('notary', args, await notary.run(args)).stdout);
  }
  const args = ['addhash', gun, '--from', listFile, '-r', 'targets/releases'];
  const d = ok('dtrust', args, await dtrust.run(args));
  assert.equal(d.stdout, expected);
  assert.equal(d.stderr, '');
  assert.deepEqual(changes(dtrust.trustDir, gun), changes(notary.trustDir, gun));
  assert.equal(changes(dtrust.trustDir, gun).length, targets.length);
  // notary reads the staged list back in order.
  const n = ok('notary', ['status'], await notary.run(['-d', dtrust.trustDir, 'status', gun], { noGlobalFlags: true }));
  assert.deepEqual(tableRows(n.stdout).map((r) => [r[2], r[4]]), targets.map((t) => ['targets/releases', t.name]));
});

test('add --from - (stdin) hashes every file and stages what notary\'s loop of add stages; --roles applies to each', async () => {
  const { home, notary, dtrust } = await offlinePair('repo-from-add-');
  const gun = 'example.com/from/add';
  file(home, 'a.tar', 'first file\n');
  file(home, 'b c.tar', Buffer.alloc(200_000, 7));
  file(home, 'empty', '');
  const custom = file(home, 'custom.json', '{"k": "v"}');
  const rows: [string, string][] = [
    ['app-1', 'a.tar'],
    ['app 2', 'b c.tar'],
    ['empty', join(home, 'empty')],
  ];
  let expected = '';
  for (const [name, path] of rows) {
    const a = ['add', gun, name, path, '-r', 'targets/qa,targets/releases', '--custom', custom];
    expected += ok('notary', a, await notary.run(a)).stdout;
  }
  const input = rows.map(([name, path]) => `${JSON.stringify(name)} ${JSON.stringify(path)}\n`).join('');
  const a = ['add', gun, '--from', '-', '--roles', 'targets/qa', '-r', 'targets/releases', '--custom', custom];
  const d = ok('dtrust', a, await dtrust.run(a, { input }));
  assert.equal(d.stdout, expected);
  assert.deepEqual(changes(dtrust.trustDir, gun), changes(notary.trustDir, gun));
  assert.equal(changes(dtrust.trustDir, gun).length, 6, 'one change per target and role');
});

test('a bad line stages nothing and names the line and the problem', async () => {
  const { home, dtrust } = await offlinePair('repo-from-bad-');
  const gun = 'example.com/from/bad';
  const h = sha256('x');
  file(home, 'here.txt', 'x');
  const before = ok('dtrust', ['addhash'], await dtrust.run(['addhash', gun, 'kept', '1', '--sha256', h]));
  assert.match(before.stdout, /^Addition of target "kept"/);
  const good = `a 1 ${h}\nb 2 ${h}\n`;
  const cases: [string[], string | Buffer, string][] = [
    [['addhash'], `${good}c 3\n`, 'line 3 of stdin: expected NAME SIZE SHA256 [SHA512], found 2 fields'],
    [['addhash'], `${good}c 3 ${h} ${sha512('x')} extra\n`, 'line 3 of stdin: expected NAME SIZE SHA256 [SHA512], found 5 fields'],
    [['addhash'], `${good}\n# two lines further\nc abc ${h}\n`, 'line 5 of stdin: strconv.ParseInt: parsing "abc": invalid syntax'],
    [['addhash'], `c -5 ${h}\n`, 'line 1 of stdin: strconv.ParseInt: parsing "-5": invalid syntax'],
    [['addhash'], `${good}c 3 ${h.slice(1)}\n`, 'line 3 of stdin: invalid sha256 hex contents provided'],
    [['addhash'], `${good}c 3 ${h.slice(1)}x\n`, "line 3 of stdin: encoding/hex: invalid byte: U+0078 'x'"],
    [['addhash'], `${good}c 3 ${h} ${h}\n`, 'line 3 of stdin: invalid sha512 hex contents provided'],
    [['addhash'], `${good}"c\\u0007" 3 ${h}\n`, 'line 3 of stdin: target name "c\\u0007" contains a control character, which notary cannot publish'],
    [['addhash'], `${good}"c 3 ${h}\n`, 'line 3 of stdin: field 1 opens a quote that is not closed'],
    [['addhash'], `${good}"c"d 3 ${h}\n`, 'line 3 of stdin: field 1 goes on after its closing quote'],
    [['addhash'], `${good}"\\q" 3 ${h}\n`, `line 3 of stdin: field 1 is not a valid JSON string: "\\q"`],
    [['addhash'], Buffer.concat([Buffer.from(good), Buffer.from([0x63, 0xff, 0x20, 0x33, 0x0a])]), 'line 3 of stdin: not valid UTF-8'],
    [['add'], 'a here.txt\nb\n', 'line 2 of stdin: expected NAME PATH, found 1 field'],
    [['add'], 'a here.txt\nb here.txt\nc missing.txt\n', 'line 3 of stdin: open missing.txt: no such file or directory'],
  ];
  for (const [[cmd], input, message] of cases) {
    const args = [cmd!, gun, '--from', '-'];
    const r = fails('dtrust', args, await dtrust.run(args, { input }));
    assert.equal(fatal(r.stderr), message, JSON.stringify(input));
    const line = /^line (\d+)/.exec(message)![1];
    assert.match(r.stderr, new RegExp(`\n  hint: nothing was staged; fix line ${line} and run the command again\n$`));
    assert.equal(r.stdout, '');
    assert.equal(changes(dtrust.trustDir, gun).length, 1, `${message}: only the change staged before is there`);
  }
  // A list in a file is named as given.
  const listFile = file(home, 'list.txt', `${good}c\n`);
  const r = fails('dtrust', ['addhash'], await dtrust.run(['addhash', gun, '--from', 'list.txt'], { cwd: home }));
  assert.equal(fatal(r.stderr), 'line 3 of list.txt: expected NAME SIZE SHA256 [SHA512], found 1 field');
  assert.ok(existsSync(listFile));
});

test('--from argument errors; an empty list stages nothing; without --from notary\'s count errors stay', async () => {
  const { home, notary, dtrust } = await offlinePair('repo-from-args-');
  const gun = 'example.com/from/args';
  const h = sha256('x');
  const list = file(home, 'list.txt', `a 1 ${h}\n`);
  const cases: [string[], string, boolean][] = [
    [['addhash', gun, 'extra', '--from', list], 'With --from, give only the GUN: the targets come from the list', false],
    [['add', gun, 'extra', 'more', '--from', list], 'With --from, give only the GUN: the targets come from the list', false],
    [['addhash', '--from', list], 'Must specify a GUN', true],
    [['addhash', gun, '--from', list, '--sha256', h], '--sha256 and --sha512 do not go with --from: the hashes come from the list', false],
    [['addhash', gun, '--from', join(home, 'nope.txt')], `open ${join(home, 'nope.txt')}: no such file or directory`, false],
  ];
  for (const [args, message, usage] of cases) {
    const r = fails('dtrust', args, await dtrust.run(args));
    assert.equal(fatal(r.stderr), message, args.join(' '));
    if (usage) assert.match(r.stdout, /^Usage: dtrust addhash /);
    else assert.equal(r.stdout, '');
  }
  assert.deepEqual(changes(dtrust.trustDir, gun), []);

  // Nothing to stage: a warning, exit 0.
  const e = ok('dtrust', ['addhash', '--from'], await dtrust.run(['addhash', gun, '--from', '-'], { input: '# nothing yet\n\n' }));
  assert.equal(e.stdout, '');
  assert.match(e.stderr, /level=warning msg="no targets in stdin; nothing staged"\n$/);
  assert.deepEqual(changes(dtrust.trustDir, gun), []);

  // Without --from, the count errors are notary's (cli.md §1.2).
  for (const args of [['addhash', gun, 't', '3'], ['add', gun, 't']]) {
    const n = fails('notary', args, await notary.run(args));
    const d = fails('dtrust', args, await dtrust.run(args));
    assert.equal(fatal(d.stderr), fatal(n.stdout), args.join(' '));
  }
});

test('--from with -p publishes once at the end; the real notary lists and looks up every target', async () => {
  const url = server().url;
  const { home, dtrust } = await clients(url, { prefix: 'repo-from-publish-' });
  const gun = 'example.com/from/publish';
  ok('dtrust', ['init', '-p'], await dtrust.run(['init', gun, '-p']));
  const hashed = Array.from({ length: 40 }, (_, i) => ({ name: `hash/${i}`, content: `content ${i}\n` }));
  const input = hashed.map((t) => `${t.name} ${t.content.length} ${sha256(t.content)} ${sha512(t.content)}\n`).join('');
  const p = ok('dtrust', ['addhash', '--from', '-p'], await dtrust.run(['addhash', gun, '--from', '-', '-p'], { input }));
  const lines = p.stdout.split('\n');
  assert.equal(lines.filter((l) => l.startsWith('Addition of target')).length, hashed.length);
  assert.equal(lines.filter((l) => l === `Auto-publishing changes to ${gun}`).length, 1);
  assert.ok(p.stdout.endsWith(`Auto-publishing changes to ${gun}\nSuccessfully published changes for repository ${gun}\n`));

  // add --from a file, then a separate publish.
  file(home, 'one.bin', 'one');
  file(home, 'two words.bin', Buffer.alloc(70_000, 1));
  file(home, 'list.txt', 'files/one one.bin\n"files/two words" "two words.bin"\n');
  ok('dtrust', ['add', '--from'], await dtrust.run(['add', gun, '--from', 'list.txt'], { cwd: home }));
  ok('dtrust', ['publish'], await dtrust.run(['publish', gun]));

  const notary = await freshNotary(url);
  const rows = tableRows(ok('notary', ['list'], await notary.run(['list', gun])).stdout);
  const twoWords = createHash('sha256').update(Buffer.alloc(70_000, 1)).digest('hex');
  const want = [...hashed.map((t) => [t.name, sha256(t.content), String(t.content.length)]), ['files/one', sha256('one'), '3'], ['files/two words', twoWords, '70000']];
  assert.deepEqual(
    rows.map((r) => [r[0], r[1], r[2]]).sort((a, b) => a[0]!.localeCompare(b[0]!)),
    want.sort((a, b) => a[0]!.localeCompare(b[0]!)),
  );
  const l = ok('notary', ['lookup'], await notary.run(['lookup', gun, 'files/two words']));
  assert.equal(l.stdout, `files/two words sha256:${twoWords} 70000\n`);
  const v = ok('notary', ['verify'], await notary.run(['verify', gun, 'hash/7', '-q'], { input: 'content 7\n' }));
  assert.equal(v.stdout, '');
});

test('the real notary publishes what dtrust staged with --from in a shared trust directory', async () => {
  const url = server().url;
  const { home, notary, dtrust } = await clients(url, { shared: true, prefix: 'repo-from-notary-publish-' });
  const gun = 'example.com/from/notary-publishes';
  ok('notary', ['init', '-p'], await notary.run(['init', gun, '-p']));
  const hashed = Array.from({ length: 5 }, (_, i) => ({ name: `v${i}`, content: `release ${i}\n` }));
  const input = hashed.map((t) => `${t.name} ${t.content.length} ${sha256(t.content)}\n`).join('');
  ok('dtrust', ['addhash', '--from'], await dtrust.run(['addhash', gun, '--from', '-', '-r', 'targets'], { input }));
  file(home, 'app.tar', 'app\n');
  ok('dtrust', ['add', '--from'], await dtrust.run(['add', gun, '--from', '-'], { input: '"app tarball" app.tar\n', cwd: home }));
  ok('notary', ['publish'], await notary.run(['publish', gun]));
  const rows = tableRows(ok('notary', ['list'], await (await freshNotary(url)).run(['list', gun])).stdout);
  assert.deepEqual(
    rows.map((r) => [r[0], r[1], r[2]]).sort((a, b) => a[0]!.localeCompare(b[0]!)),
    [...hashed.map((t) => [t.name, sha256(t.content), String(t.content.length)]), ['app tarball', sha256('app\n'), '4']].sort((a, b) => a[0]!.localeCompare(b[0]!)),
  );
});
