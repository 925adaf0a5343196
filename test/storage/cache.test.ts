// The metadata cache: atomic private writes, nested delegations, bounded reads, removal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { cp, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writingIn } from '../../src/fs/atomic.js';
import { MetadataCache } from '../../src/storage/cache.js';
import { Changelist } from '../../src/storage/changelist.js';
import { isStorageError } from '../../src/storage/errors.js';
import { withGunLock } from '../../src/storage/lock.js';
import { FIXTURES } from '../helpers.js';
import { tempDir } from '../rig/tmp.js';

test('write/read roles, delegations nested as directories, modes 0600/0700', async () => {
  const old = process.umask(0);
  try {
    const trustDir = await tempDir('cache-rw-');
    const cache = new MetadataCache(trustDir, 'example.com/app');
    assert.equal(await cache.read('root', 1000), undefined);
    assert.deepEqual(readdirSync(trustDir), [], 'reading creates nothing');
    await cache.write('root', Buffer.from('{"root":1}'));
    await cache.writeMany(
      new Map([
        ['targets', Buffer.from('{"t":1}')],
        ['targets/releases', Buffer.from('{"r":1}')],
        ['targets/a/b', Buffer.from('{"ab":1}')],
      ]),
    );
    const meta = join(trustDir, 'tuf', 'example.com', 'app', 'metadata');
    assert.equal(readFileSync(join(meta, 'targets', 'releases.json'), 'utf8'), '{"r":1}');
    assert.equal(readFileSync(join(meta, 'targets', 'a', 'b.json'), 'utf8'), '{"ab":1}');
    for (const d of ['tuf', 'tuf/example.com', 'tuf/example.com/app', 'tuf/example.com/app/metadata', 'tuf/example.com/app/metadata/targets/a']) {
      assert.equal(lstatSync(join(trustDir, d)).mode & 0o777, 0o700, d);
    }
    for (const f of ['root.json', 'targets.json', 'targets/releases.json', 'targets/a/b.json']) {
      assert.equal(lstatSync(join(meta, f)).mode & 0o777, 0o600, f);
    }
    assert.deepEqual(await cache.read('targets/releases', 100), Buffer.from('{"r":1}'));
    assert.equal(await cache.read('root', 5), undefined, 'larger than the limit counts as missing');
    await cache.remove('targets/releases');
    await cache.remove('targets/releases');
    assert.equal(await cache.read('targets/releases', 100), undefined);
    await assert.rejects(cache.write('bogus', Buffer.from('x')), (e) => isStorageError(e, 'INVALID_ROLE'));
    await assert.rejects(cache.writeMany(new Map([['root', Buffer.from('x')], ['../x', Buffer.from('x')]])), (e) => isStorageError(e, 'INVALID_ROLE'));
    assert.equal(readFileSync(join(meta, 'root.json'), 'utf8'), '{"root":1}', 'writeMany validates every role first');
  } finally {
    process.umask(old);
  }
});

test('stage: nothing is visible until commit, in place after it; discard leaves the old files and no temp files', async () => {
  const trustDir = await tempDir('cache-stage-');
  const cache = new MetadataCache(trustDir, 'example.com/app');
  await cache.writeMany(new Map([['root', Buffer.from('r1')], ['targets', Buffer.from('t1')], ['snapshot', Buffer.from('s1')]]));
  const meta = join(trustDir, 'tuf', 'example.com', 'app', 'metadata');
  const listing = (): string[] => readdirSync(meta, { recursive: true }).map(String).sort();
  const before = listing();

  const dropped = await cache.stage(new Map([['targets', Buffer.from('t2')], ['targets/releases', Buffer.from('d2')], ['snapshot', Buffer.from('s2')]]));
  assert.equal((await cache.read('targets', 100))?.toString(), 't1', 'not visible before commit');
  assert.equal(await cache.read('targets/releases', 100), undefined);
  await dropped.discard();
  assert.deepEqual(listing().filter((f) => f !== 'targets'), before, 'discard leaves no temp file behind');
  assert.equal((await cache.read('snapshot', 100))?.toString(), 's1');

  const kept = await cache.stage(new Map([['targets', Buffer.from('t3')], ['targets/releases', Buffer.from('d3')], ['snapshot', Buffer.from('s3')]]));
  await kept.commit();
  for (const [role, want] of [['root', 'r1'], ['targets', 't3'], ['targets/releases', 'd3'], ['snapshot', 's3']] as const) {
    assert.equal((await cache.read(role, 100))?.toString(), want, role);
  }
  assert.deepEqual(listing(), [...before, 'targets', 'targets/releases.json'].sort());
  await kept.discard(); // after commit: nothing to drop
  assert.equal((await cache.read('targets', 100))?.toString(), 't3');
  await assert.rejects(cache.stage(new Map([['../x', Buffer.from('x')]])), (e) => isStorageError(e, 'INVALID_ROLE'));
});

test('a commit is marked as under way from before its first rename to after its last; waitForCommits waits for it', async () => {
  const trustDir = await tempDir('cache-mark-');
  const cache = new MetadataCache(trustDir, 'example.com/app');
  await cache.write('root', Buffer.from('r1'));
  const meta = join(cache.dir, 'metadata');
  assert.equal(await cache.waitForCommits(), false, 'no writer: nothing to wait for');
  // Between event-loop turns of the commit: whenever a new file is in place and the last one is
  // not, the marker is there.
  const staged = await cache.stage(new Map([['root', Buffer.from('r2')], ['targets', Buffer.from('t2')], ['snapshot', Buffer.from('s2')], ['timestamp', Buffer.from('ts2')]]));
  const seen: { marked: boolean; inPlace: string[] }[] = [];
  let polling = true;
  let waiting: Promise<boolean> | undefined;
  const poll = (): void => {
    const inPlace = readdirSync(meta).filter((f) => f.endsWith('.json') && readFileSync(join(meta, f), 'utf8').endsWith('2'));
    const marked = writingIn(cache.dir, 'cache-commit');
    seen.push({ marked, inPlace });
    if (marked) waiting ??= cache.waitForCommits();
    if (polling) setImmediate(poll);
  };
  setImmediate(poll);
  await staged.commit();
  polling = false;
  const mixed = seen.filter((s) => s.inPlace.length > 0 && s.inPlace.length < 4);
  assert.ok(mixed.length > 0, 'the poll saw the files half replaced');
  assert.ok(mixed.every((s) => s.marked), 'always with the marker');
  assert.equal(await waiting, true, 'a reader that waited can read again');
  assert.equal(writingIn(cache.dir, 'cache-commit'), false);
  assert.deepEqual(readdirSync(cache.dir).sort(), ['metadata'], 'no marker left behind');
});

test('reads the cache notary 0.7 wrote', async () => {
  const trustDir = await tempDir('cache-notary-');
  await cp(join(FIXTURES, 'notary07-trustdir'), trustDir, { recursive: true });
  const cache = new MetadataCache(trustDir, 'example.com/test1');
  for (const role of ['root', 'targets', 'snapshot', 'timestamp', 'targets/releases']) {
    const b = await cache.read(role, 10 * 1024 * 1024);
    assert.ok(b, role);
    assert.equal((JSON.parse(b.toString()) as { signed: { _type: string } }).signed._type.toLowerCase(), role.startsWith('targets') ? 'targets' : role);
  }
});

test('refuses to write through a planted symlink', async () => {
  const trustDir = await tempDir('cache-link-');
  const outside = await tempDir('cache-link-outside-');
  const cache = new MetadataCache(trustDir, 'g');
  await cache.write('root', Buffer.from('{}'));
  await symlink(outside, join(trustDir, 'tuf', 'g', 'metadata', 'targets'));
  await assert.rejects(cache.write('targets/releases', Buffer.from('{}')), (e) => isStorageError(e, 'SYMLINK'));
  await writeFile(join(outside, 'x.json'), 'keep');
  await symlink(join(outside, 'x.json'), join(trustDir, 'tuf', 'g', 'metadata', 'snapshot.json'));
  await assert.rejects(cache.write('snapshot', Buffer.from('{}')), (e) => isStorageError(e, 'SYMLINK'));
  assert.equal(readFileSync(join(outside, 'x.json'), 'utf8'), 'keep');
  await cache.removeAll();
  assert.equal(readFileSync(join(outside, 'x.json'), 'utf8'), 'keep');
  assert.ok(!existsSync(join(trustDir, 'tuf', 'g')));
});

test('removeAll removes metadata and changelist of that GUN only; under the lock the directory goes on release', async () => {
  const trustDir = await tempDir('cache-rmall-');
  const a = new MetadataCache(trustDir, 'example.com/a');
  const ab = new MetadataCache(trustDir, 'example.com/a/b');
  await a.write('root', Buffer.from('{}'));
  await ab.write('root', Buffer.from('{}'));
  await new Changelist(trustDir, 'example.com/a').add({ action: 'delete', scope: 'targets', type: 'target', path: 'x', data: null });
  await withGunLock(trustDir, 'example.com/a/b', async () => {
    await ab.removeAll();
    assert.deepEqual(readdirSync(join(trustDir, 'tuf', 'example.com', 'a', 'b')), ['.dtrust.lock']);
  });
  assert.ok(!existsSync(join(trustDir, 'tuf', 'example.com', 'a', 'b')));
  assert.ok(existsSync(join(trustDir, 'tuf', 'example.com', 'a', 'metadata', 'root.json')));
  await a.removeAll();
  assert.ok(!existsSync(join(trustDir, 'tuf', 'example.com', 'a')));
  assert.ok(existsSync(join(trustDir, 'tuf', 'example.com')));
  await a.removeAll(); // nothing there: fine
});
