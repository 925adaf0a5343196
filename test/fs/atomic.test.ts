// The atomic-write primitive under the key store and the metadata cache (SEC-F1, SEC-F2): temp
// files, their sweeping, and errors left as Node's system errors for each layer to map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { abandonWritesInFlight, hostTag, isTempName, markWriting, pidAlive, sweepStaleTemps, syncDir, writeTemp, writingIn } from '../../src/fs/atomic.js';
import { tempDir } from '../rig/tmp.js';

/**
 * This process's open descriptors whose file `on` picks, by path. Counting all descriptors would
 * be racy: the test runner and earlier tests' background work open and close their own.
 */
function openOn(on: (target: string) => boolean): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (the descriptor readdirSync itself used)
    }
    if (on(target)) out.push(`${fd} -> ${target}`);
  }
  return out;
}

test('sweepStaleTemps keeps temps of live writers', async () => {
  const dir = await tempDir('atomic-sweep-');
  // A temp "owned" by PID 1 (alive: init) on this host is kept; a foreign-host temp is kept.
  const live = `.f.1-${'0'.repeat(8)}-${'a'.repeat(12)}.tmp`;
  await writeFile(join(dir, live), '');
  const removed = await sweepStaleTemps(dir);
  assert.deepEqual(removed, []);
  assert.ok(existsSync(join(dir, live)));
});

test('writeTemp: a failure at a step removes the temp file and throws the error as it came', async () => {
  const dir = await tempDir('atomic-temp-');
  const target = join(dir, 'f');
  await writeFile(target, 'old');
  for (const point of ['created', 'written', 'synced'] as const) {
    const boom = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    await assert.rejects(
      writeTemp(target, 'new', {
        fault: (p) => {
          if (p === point) throw boom;
        },
      }),
      (e) => e === boom,
    );
    assert.deepEqual(readdirSync(dir), ['f'], point);
  }
  const t = await writeTemp(target, 'new');
  assert.ok(isTempName(t.path.slice(dir.length + 1)));
  assert.deepEqual(sweepStaleTemps(dir), [], 'a temp file of a write under way is not swept');
  await t.rename();
  assert.equal(readFileSync(target, 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir), ['f']);
});

test('sweepStaleTemps on this host: a dead writer\'s temp and this process\'s idle temp go; a live writer\'s and a write in flight stay', async () => {
  const dir = await tempDir('atomic-sweep-host-');
  const name = (pid: number, r: string): string => `.f.${pid}-${hostTag()}-${r.repeat(12)}.tmp`;
  // PID 1 is alive; no process can have a PID above Linux's PID_MAX_LIMIT (2^22).
  const dead = 4_194_304 + 12_345;
  assert.equal(pidAlive(process.pid), true);
  assert.equal(pidAlive(1), true);
  assert.equal(pidAlive(dead), false);
  for (const n of [name(1, 'a'), name(dead, 'b'), name(process.pid, 'c')]) writeFileSync(join(dir, n), '');
  const t = await writeTemp(join(dir, 'g'), 'in flight');
  assert.deepEqual(sweepStaleTemps(dir).sort(), [name(dead, 'b'), name(process.pid, 'c')].sort());
  assert.deepEqual(readdirSync(dir).sort(), [name(1, 'a'), t.path.slice(dir.length + 1)].sort());
  await t.rename();
  assert.equal(readFileSync(join(dir, 'g'), 'utf8'), 'in flight');
});

test('writeTemp closes its descriptor whatever step fails; a failed rename removes the temp', async () => {
  const dir = await tempDir('atomic-fd-');
  for (const point of ['created', 'written'] as const) {
    await assert.rejects(writeTemp(join(dir, 'f'), 'x', { fault: (p) => { if (p === point) throw new Error(point); } }), new RegExp(point));
  }
  assert.deepEqual(openOn((t) => t.startsWith(dir)), [], 'no descriptor left open');
  // The target is a directory: rename fails, and the temp goes with it.
  mkdirSync(join(dir, 'isdir'));
  writeFileSync(join(dir, 'isdir', 'x'), '');
  const t = await writeTemp(join(dir, 'isdir'), 'x');
  await assert.rejects(t.rename(), (e: NodeJS.ErrnoException) => e.code === 'EISDIR' || e.code === 'ENOTEMPTY');
  assert.equal(existsSync(t.path), false);
  assert.deepEqual(readdirSync(dir).filter(isTempName), []);
});

test('syncDir: a file system that cannot sync a directory is accepted (procfs: EINVAL); other errors are thrown', async () => {
  await syncDir('/proc');
  const dir = await tempDir('atomic-sync-');
  await syncDir(dir);
  assert.deepEqual(openOn((t) => t === '/proc' || t === dir), [], 'no descriptor left open');
  await assert.rejects(syncDir(join(dir, 'missing')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  writeFileSync(join(dir, 'file'), '');
  await assert.rejects(syncDir(join(dir, 'file')), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR');
});

test('markWriting and writingIn: a marker is there from mark to remove; a dead writer\'s is ignored and swept, another host\'s counts', async () => {
  const dir = await tempDir('atomic-mark-');
  assert.equal(writingIn(dir, 'w'), false, 'nothing marked');
  assert.equal(writingIn(join(dir, 'missing'), 'w'), false, 'no directory');
  const mark = markWriting(dir, 'w');
  const names = readdirSync(dir);
  assert.equal(names.length, 1);
  assert.match(names[0]!, new RegExp(`^\\.w\\.${process.pid}-${hostTag()}-[0-9a-f]{12}\\.tmp$`));
  assert.ok(isTempName(names[0]!), 'named like a temp file');
  assert.equal(writingIn(dir, 'w'), true, 'this process, in flight');
  assert.equal(writingIn(dir, 'other'), false, 'another marker name');
  await mark.remove();
  assert.deepEqual(readdirSync(dir), []);
  assert.equal(writingIn(dir, 'w'), false);

  // This process's marker that is no longer in flight (a leftover) does not count.
  await writeFile(join(dir, `.w.${process.pid}-${hostTag()}-${'0'.repeat(12)}.tmp`), '');
  assert.equal(writingIn(dir, 'w'), false, 'an idle marker of this process');
  // A live process on this host counts; a dead one does not, and the next mark sweeps it.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  assert.equal(pidAlive(dead), false);
  await writeFile(join(dir, `.w.${dead}-${hostTag()}-${'1'.repeat(12)}.tmp`), '');
  assert.equal(writingIn(dir, 'w'), false, 'a dead writer');
  await writeFile(join(dir, `.w.1-${hostTag()}-${'2'.repeat(12)}.tmp`), '');
  assert.equal(writingIn(dir, 'w'), true, 'a live writer (PID 1)');
  await markWriting(dir, 'w').remove();
  assert.deepEqual(readdirSync(dir), [`.w.1-${hostTag()}-${'2'.repeat(12)}.tmp`], 'the dead and idle markers were swept');
  await unlink(join(dir, `.w.1-${hostTag()}-${'2'.repeat(12)}.tmp`));
  // Another host's marker cannot be checked: it counts.
  const otherHost = hostTag() === 'ffffffff' ? '00000000' : 'ffffffff';
  await writeFile(join(dir, `.w.${dead}-${otherHost}-${'3'.repeat(12)}.tmp`), '');
  assert.equal(writingIn(dir, 'w'), true, 'a writer on another host');
  // Names that only look alike do not count.
  await unlink(join(dir, `.w.${dead}-${otherHost}-${'3'.repeat(12)}.tmp`));
  await writeFile(join(dir, `.w.1-${hostTag()}-short.tmp`), '');
  await writeFile(join(dir, `w.1-${hostTag()}-${'4'.repeat(12)}.tmp`), '');
  assert.equal(writingIn(dir, 'w'), false, 'not marker names');
});

test('an interruption finds every temp file a write has made: none appears after abandonWritesInFlight', async () => {
  const dir = await tempDir('atomic-abandon-');
  for (let i = 0; i < 50; i++) {
    // As a signal handler does: right after the write started, before it awaits anything more.
    const writing = writeTemp(join(dir, `f${i}`), 'x'.repeat(1000));
    abandonWritesInFlight();
    await writing;
  }
  assert.deepEqual(readdirSync(dir), []);
  // The same for the marker of a commit.
  const mark = markWriting(dir, 'w');
  abandonWritesInFlight();
  assert.deepEqual(readdirSync(dir), []);
  await mark.remove();
});

test('a write error on the thread pool (EFBIG past the file-size limit) fails writeTemp and leaves no temp file', async () => {
  const dir = await tempDir('atomic-efbig-');
  const mod = new URL('../../src/fs/atomic.js', import.meta.url).href;
  const script = `import(${JSON.stringify(mod)}).then(async ({ writeTemp }) => { try { await writeTemp(${JSON.stringify(join(dir, 'f'))}, 'x'.repeat(100000)); console.log('resolved'); } catch (e) { console.log('rejected', e.code); } })`;
  // SIGXFSZ ignored, so that a write past the limit fails with EFBIG instead of killing the process.
  const r = spawnSync('sh', ['-c', `trap '' XFSZ; ulimit -f 8; exec "$0" -e "$1"`, process.execPath, script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.stdout.trim(), 'rejected EFBIG', r.stderr);
  assert.deepEqual(readdirSync(dir), []);
});
