// The changelist: byte compatibility with notary 0.7 (both directions, with the real binary),
// ordering, corrupt files, SEC-C2 (remove only what was named; concurrent adds lose nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Change, Changelist, changeFileName, decodeChange, encodeChange, goJsonString } from '../../src/storage/changelist.js';
import { isStorageError } from '../../src/storage/errors.js';
import { FIXTURES } from '../helpers.js';
import { killAfter, NotaryClient } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';

const CHILD = fileURLToPath(new URL('./changelist-child.js', import.meta.url));
const NO_SERVER = 'https://127.0.0.1:1';
const NAME_RE = /^\d{20}_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.change$/;

function target(path: string, data: string | null = '{"length":1}', action: Change['action'] = 'create'): Change {
  return { action, scope: 'targets', type: 'target', path, data: data === null ? null : Buffer.from(data) };
}

// Expected bytes produced by Go 1.19's json.Marshal of notary's TUFChange (checked with `go run`).
test('encodeChange writes what Go json.Marshal writes', () => {
  const vectors: [string, string][] = [
    ['a<b>&c', '"a\\u003cb\\u003e\\u0026c"'],
    ['\b\f\n\r\t\u0000\u001f\u007f', '"\\u0008\\u000c\\n\\r\\t\\u0000\\u001f\u007f"'],
    ['q"b\\s/', '"q\\"b\\\\s/"'],
    ['\u2028\u2029', '"\\u2028\\u2029"'],
    ['é😀', '"é😀"'],
    ['\u00ad\u0085', '"\u00ad\u0085"'],
    ['\ud800a', '"\\ufffda"'],
    ['a\udc00', '"a\\ufffd"'],
    ['', '""'],
  ];
  for (const [s, want] of vectors) {
    assert.equal(goJsonString(s), want, JSON.stringify(s));
    assert.equal(
      encodeChange({ action: 'create', scope: 'targets/x', type: 'target', path: s, data: Buffer.alloc(0) }).toString('utf8'),
      `{"action":"create","role":"targets/x","type":"target","path":${want},"data":""}`,
    );
  }
  assert.equal(
    encodeChange({ action: 'delete', scope: 'targets', type: 'target', path: 'x', data: null }).toString(),
    '{"action":"delete","role":"targets","type":"target","path":"x","data":null}',
  );
  assert.equal(
    encodeChange({ action: 'create', scope: 'targets', type: 'target', path: 'x', data: Buffer.from('{"length":6}') }).toString(),
    '{"action":"create","role":"targets","type":"target","path":"x","data":"eyJsZW5ndGgiOjZ9"}',
  );
});

test('decodeChange follows Go: case-insensitive keys, newlines in base64, zero values for null', () => {
  const c = decodeChange(Buffer.from('{"ACTION":"update","Role":"r","type":"witness","data":"YWJj\\nZA==","extra":1}'));
  assert.ok(!('reason' in c));
  assert.deepEqual(c, { action: 'update', scope: 'r', type: 'witness', path: '', data: Buffer.from('abcd') });
  const bad: [string, RegExp][] = [
    ['', /invalid JSON/],
    ['{"action":"create"', /invalid JSON/],
    ['[]', /not a JSON object/],
    ['null', /not a JSON object/],
    ['{"action":"publish","role":"targets","type":"target","path":"x","data":null}', /unknown action/],
    ['{"action":"create","role":"targets","type":"file","path":"x","data":null}', /unknown change type/],
    ['{"action":"create","role":"","type":"target","path":"x","data":null}', /no role/],
    ['{"action":"create","role":"targets","type":"target","path":1,"data":null}', /"path" is not a string/],
    ['{"action":"create","role":"targets","type":"target","path":"x","data":"YWJjZA"}', /base64/],
    ['{"action":"create","role":"targets","type":"target","path":"x","data":"!!!!"}', /base64/],
    ['{"action":"create","role":"targets","type":"target","path":"x","data":[1]}', /base64/],
  ];
  for (const [text, why] of bad) {
    const r = decodeChange(Buffer.from(text));
    assert.ok('reason' in r && why.test(r.reason), `${text}: ${JSON.stringify(r)}`);
  }
});

test('file names: %020d_<uuid4>.change, strictly increasing, after every staged change', async () => {
  assert.equal(changeFileName(1795312512574593612n, 'feb08acc-1c6a-4b55-af1a-1cfc9aa63967'), '01795312512574593612_feb08acc-1c6a-4b55-af1a-1cfc9aa63967.change');
  assert.equal(changeFileName(5n, 'u'), '00000000000000000005_u.change');
  assert.throws(() => changeFileName(10n ** 20n, 'u'), RangeError);

  const trustDir = await tempDir('cl-names-');
  const cl = new Changelist(trustDir, 'example.com/names');
  const names: string[] = [];
  for (let i = 0; i < 200; i++) names.push(await cl.add(target(`t${i}`)));
  for (const n of names) assert.match(n, NAME_RE);
  assert.deepEqual([...names].sort(), names, 'strictly increasing');
  assert.equal(new Set(names).size, 200);
  const now = BigInt(Date.now()) * 1_000_000n;
  const t0 = BigInt(names[0]!.slice(0, 20));
  assert.ok(t0 > now - 60_000_000_000n && t0 <= now + 1_000_000_000n, 'the default clock is Unix nanoseconds');

  // An injected clock that stands still or steps back still sorts after what is staged.
  const fixed = new Changelist(trustDir, 'example.com/clock', () => 1000n);
  const a = await fixed.add(target('a'));
  const b = await fixed.add(target('b'));
  assert.ok(a.startsWith('00000000000000001000_'), a);
  assert.ok(b.startsWith('00000000000000001001_'), b);
  const back = new Changelist(trustDir, 'example.com/clock', () => 5n);
  const c = await back.add(target('c'));
  assert.ok(c.startsWith('00000000000000001002_'), c);
  const { changes } = await back.list();
  assert.deepEqual(changes.map((x) => x.path), ['a', 'b', 'c']);
});

test('modes: changelist directory 0700 and files 0600 whatever the umask', async () => {
  const old = process.umask(0);
  try {
    const trustDir = await tempDir('cl-modes-');
    const cl = new Changelist(trustDir, 'a/b');
    const name = await cl.add(target('x'));
    for (const d of ['tuf', 'tuf/a', 'tuf/a/b', 'tuf/a/b/changelist']) assert.equal(lstatSync(join(trustDir, d)).mode & 0o777, 0o700, d);
    assert.equal(lstatSync(join(cl.dir, name)).mode & 0o777, 0o600);
  } finally {
    process.umask(old);
  }
});

test('corrupt files are reported with their status number, never hidden or deleted', async () => {
  const trustDir = await tempDir('cl-corrupt-');
  const cl = new Changelist(trustDir, 'example.com/corrupt', (() => {
    let t = 100n;
    return () => (t += 100n);
  })());
  const first = await cl.add(target('first'));
  const second = await cl.add(target('second', null, 'delete'));
  // By name: first (200), bad (250), second (300), empty (350), third (400), zz…
  await writeFile(join(cl.dir, '00000000000000000250_bad.change'), '{"action":');
  await writeFile(join(cl.dir, '00000000000000000350_empty.change'), '');
  const third = await cl.add(target('third'));
  await writeFile(join(cl.dir, 'zz-notes.txt'), 'hello');
  await symlink('/etc/passwd', join(cl.dir, 'zzz-link.change'));
  await mkdir(join(cl.dir, 'a-subdir')); // directories are skipped, as notary does
  await writeFile(join(cl.dir, `.${third}.99999999-0000abcd-000000000000.tmp`), '{"act'); // a foreign temp file: skipped
  const { changes, corrupt } = await cl.list();
  assert.deepEqual(
    changes.map((c) => [c.index, c.file, c.path, c.action]),
    [
      [0, first, 'first', 'create'],
      [2, second, 'second', 'delete'],
      [4, third, 'third', 'create'],
    ],
  );
  assert.deepEqual(
    corrupt.map((c) => [c.index, c.file]),
    [
      [1, '00000000000000000250_bad.change'],
      [3, '00000000000000000350_empty.change'],
      [5, 'zz-notes.txt'],
      [6, 'zzz-link.change'],
    ],
  );
  assert.match(corrupt[0]!.reason, /invalid JSON/);
  assert.match(corrupt[3]!.reason, /symbolic link/);
  assert.equal(readdirSync(cl.dir).length, 9, 'nothing was deleted by list()');
});

test('remove() deletes only the named files; clear() deletes every change, corrupt ones too', async () => {
  const trustDir = await tempDir('cl-remove-');
  const cl = new Changelist(trustDir, 'example.com/rm');
  const names = [];
  for (let i = 0; i < 5; i++) names.push(await cl.add(target(`t${i}`)));
  // "Published" t0..t2, and t5 was added concurrently during the publish.
  const late = await cl.add(target('t5'));
  await cl.remove(names.slice(0, 3));
  assert.deepEqual((await cl.list()).changes.map((c) => c.file), [names[3], names[4], late]);
  await cl.remove([names[0]!]); // already gone: fine
  for (const bad of ['', '.', '..', '../x', 'a/b', '/etc/passwd', 'a\0b']) {
    await assert.rejects(cl.remove([bad]), (e) => isStorageError(e, 'INVALID_NAME'), bad);
  }
  await writeFile(join(cl.dir, 'garbage'), 'x');
  await cl.clear();
  assert.deepEqual(readdirSync(cl.dir), []);
  assert.deepEqual(await cl.list(), { changes: [], corrupt: [] });
});

test('list() of a GUN with no changelist directory is empty and creates nothing', async () => {
  const trustDir = await tempDir('cl-empty-');
  assert.deepEqual(await new Changelist(trustDir, 'none/here').list(), { changes: [], corrupt: [] });
  assert.deepEqual(readdirSync(trustDir), []);
});

test('add() refuses malformed changes and a symlinked changelist directory', async () => {
  const trustDir = await tempDir('cl-refuse-');
  const cl = new Changelist(trustDir, 'g');
  await assert.rejects(cl.add({ ...target('x'), action: 'publish' as Change['action'] }), (e) => isStorageError(e, 'INVALID_CHANGE'));
  await assert.rejects(cl.add({ ...target('x'), type: 'file' as Change['type'] }), (e) => isStorageError(e, 'INVALID_CHANGE'));
  await assert.rejects(cl.add({ ...target('x'), scope: '' }), (e) => isStorageError(e, 'INVALID_CHANGE'));
  const outside = await tempDir('cl-refuse-outside-');
  await mkdir(join(trustDir, 'tuf', 'h'), { recursive: true });
  await symlink(outside, join(trustDir, 'tuf', 'h', 'changelist'));
  await assert.rejects(new Changelist(trustDir, 'h').add(target('x')), (e) => isStorageError(e, 'SYMLINK'));
  assert.deepEqual(readdirSync(outside), []);
});

test('addAll() stages a list in order, all or none: a write that fails removes what it wrote', async () => {
  const trustDir = await tempDir('cl-addall-');
  const cl = new Changelist(trustDir, 'g');
  await cl.add(target('before'));
  const names = await cl.addAll(['a', 'b', 'c'].map((p) => target(p)));
  assert.deepEqual([...names].sort(), names);
  assert.deepEqual((await cl.list()).changes.map((c) => c.path), ['before', 'a', 'b', 'c']);
  // A malformed change anywhere in the list: refused before anything is written.
  await assert.rejects(cl.addAll([target('d'), { ...target('e'), scope: '' }]), (e) => isStorageError(e, 'INVALID_CHANGE'));
  // The third name does not fit 20 digits: the two written before it are removed again.
  const edge = new Changelist(trustDir, 'g', () => 10n ** 20n - 2n);
  await assert.rejects(edge.addAll(['x', 'y', 'z'].map((p) => target(p))), RangeError);
  assert.deepEqual((await cl.list()).changes.map((c) => c.path), ['before', 'a', 'b', 'c']);
  assert.deepEqual(readdirSync(cl.dir).filter((n) => !n.endsWith('.change')), [], 'no temp file is left');
});

test('two processes adding 50 changes each at the same time lose none', async () => {
  const trustDir = await tempDir('cl-concurrent-');
  const gun = 'example.com/concurrent';
  const run = (tag: string): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CHILD, trustDir, gun, tag, '50'], { stdio: ['ignore', 'pipe', 'inherit'] });
      killAfter(child);
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.once('exit', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`child ${tag} exited ${code}`))));
    });
  const [a, b] = await Promise.all([run('a'), run('b')]);
  const { changes, corrupt } = await new Changelist(trustDir, gun).list();
  assert.deepEqual(corrupt, []);
  assert.equal(changes.length, 100);
  assert.deepEqual(new Set(changes.map((c) => c.file)), new Set([...a, ...b]));
  // Each process's changes keep their order.
  for (const tag of ['a', 'b']) {
    const mine = changes.filter((c) => c.path.startsWith(`${tag}-`)).map((c) => c.path);
    assert.deepEqual(mine, Array.from({ length: 50 }, (_, i) => `${tag}-${i}`));
  }
  assert.deepEqual(readdirSync(join(trustDir, 'tuf', 'example.com', 'concurrent', 'changelist')).length, 100);
});

// ---------------------------------------------------------------------------------------------
// Interop with the real notary 0.7

test('the real `notary status` shows changes written by dtrust', async () => {
  const trustDir = join(await tempDir('cl-interop-status-'), 'trust');
  const gun = 'example.com/interop';
  const cl = new Changelist(trustDir, gun);
  const body = JSON.stringify({ length: 12, hashes: { sha256: Buffer.alloc(32, 1).toString('base64') } });
  await cl.add({ action: 'create', scope: 'targets', type: 'target', path: 'v1.0<&>', data: Buffer.from(body) });
  await cl.add({ action: 'create', scope: 'targets/releases', type: 'target', path: 'é "quoted"', data: Buffer.from(body) });
  await cl.add({ action: 'delete', scope: 'targets', type: 'target', path: 'old', data: null });
  await cl.add({ action: 'update', scope: 'targets/releases', type: 'witness', path: '', data: null });
  await cl.add({ action: 'create', scope: 'targets/qa', type: 'delegation', path: '', data: Buffer.from('{"add_paths":["qa/"]}') });
  const notary = await NotaryClient.create({ serverUrl: NO_SERVER, trustDir });
  const r = await notary.runOk(['status', gun]);
  const rows = r.stdout
    .split('\n')
    .filter((l) => /^\d+\s/.test(l))
    .map((l) => l.trimEnd().split(/\s{2,}/));
  assert.deepEqual(rows, [
    ['0', 'create', 'targets', 'target', 'v1.0<&>'],
    ['1', 'create', 'targets/releases', 'target', 'é "quoted"'],
    ['2', 'delete', 'targets', 'target', 'old'],
    ['3', 'update', 'targets/releases', 'witness'],
    ['4', 'create', 'targets/qa', 'delegation'],
  ]);
  assert.doesNotMatch(r.stdout + r.stderr, /warn|error/i);
});

test('changes staged by the real notary are read back with the right fields and bytes', async () => {
  const home = await tempDir('cl-interop-home-');
  const trustDir = join(home, 'trust');
  const gun = 'example.com/from-notary';
  const notary = await NotaryClient.create({ serverUrl: NO_SERVER, trustDir, home });
  const content = Buffer.from('hello <notary> & dtrust\n');
  await writeFile(join(home, 'payload.txt'), content);
  const sha256 = createHash('sha256').update(content).digest();
  const sha512 = createHash('sha512').update(content).digest();
  await notary.runOk(['add', gun, 'tgt<&>', join(home, 'payload.txt')]);
  await notary.runOk(['addhash', gun, 'by-hash', '12', '--sha256', sha256.toString('hex'), '-r', 'targets/releases']);
  await notary.runOk(['remove', gun, 'gone']);
  await notary.runOk(['witness', gun, 'targets/releases']);
  await notary.runOk(['delegation', 'add', gun, 'targets/releases', join(FIXTURES, 'notary07-trustdir', 'deleg_cert.pem'), '--paths', 'a/']);

  const cl = new Changelist(trustDir, gun);
  const { changes, corrupt } = await cl.list();
  assert.deepEqual(corrupt, []);
  const summary = changes.map((c) => [c.index, c.action, c.scope, c.type, c.path]);
  assert.deepEqual(summary, [
    [0, 'create', 'targets', 'target', 'tgt<&>'],
    [1, 'create', 'targets/releases', 'target', 'by-hash'],
    [2, 'delete', 'targets', 'target', 'gone'],
    [3, 'update', 'targets/releases', 'witness', ''],
    [4, 'create', 'targets/releases', 'delegation', ''],
    [5, 'create', 'targets/releases', 'delegation', ''],
  ]);
  const json = (i: number): unknown => JSON.parse(changes[i]!.data!.toString('utf8'));
  assert.deepEqual(json(0), { length: content.length, hashes: { sha256: sha256.toString('base64'), sha512: sha512.toString('base64') } });
  assert.deepEqual(json(1), { length: 12, hashes: { sha256: sha256.toString('base64') } });
  assert.equal(changes[2]!.data, null);
  assert.equal(changes[3]!.data, null);
  const deleg = json(4) as { threshold: number; add_keys: { keytype: string; keyval: { public: string; private: null } }[] };
  assert.equal(deleg.threshold, 1);
  assert.equal(deleg.add_keys[0]!.keytype, 'ecdsa-x509');
  assert.match(Buffer.from(deleg.add_keys[0]!.keyval.public, 'base64').toString(), /BEGIN CERTIFICATE/);
  assert.deepEqual(json(5), { add_paths: ['a/'] });

  // Byte for byte: re-encoding what notary wrote gives notary's file back, and names match.
  for (const c of changes) {
    assert.match(c.file, NAME_RE);
    assert.deepEqual(encodeChange(c), readFileSync(join(cl.dir, c.file)), c.file);
  }

  // Mixed: a dtrust change after notary's is listed last by both tools; dtrust removes only it.
  const mine = await cl.add({ action: 'delete', scope: 'targets', type: 'target', path: 'mine', data: null });
  const r = await notary.runOk(['status', gun]);
  assert.match(r.stdout, /^6\s+delete\s+targets\s+target\s+mine\s*$/m);
  await cl.remove([mine]);
  assert.equal((await cl.list()).changes.length, 6);
  // notary's reset reads dtrust's directory too.
  await notary.runOk(['reset', gun, '--all']);
  assert.deepEqual(await cl.list(), { changes: [], corrupt: [] });
});
