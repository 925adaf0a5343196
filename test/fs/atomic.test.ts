// The atomic-write primitive under the key store and the metadata cache (SEC-F1, SEC-F2): temp
// files, their sweeping, and errors left as Node's system errors for each layer to map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostTag, isTempName, pidAlive, sweepStaleTemps, syncDir, writeTemp } from '../../src/fs/atomic.js';
import { tempDir } from '../rig/tmp.js';

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
  const fds = (): number => readdirSync('/proc/self/fd').length;
  const before = fds();
  for (const point of ['created', 'written'] as const) {
    await assert.rejects(writeTemp(join(dir, 'f'), 'x', { fault: (p) => { if (p === point) throw new Error(point); } }), new RegExp(point));
  }
  assert.equal(fds(), before, 'no descriptor left open');
  // The target is a directory: rename fails, and the temp goes with it.
  mkdirSync(join(dir, 'isdir'));
  writeFileSync(join(dir, 'isdir', 'x'), '');
  const t = await writeTemp(join(dir, 'isdir'), 'x');
  await assert.rejects(t.rename(), (e: NodeJS.ErrnoException) => e.code === 'EISDIR' || e.code === 'ENOTEMPTY');
  assert.equal(existsSync(t.path), false);
  assert.deepEqual(readdirSync(dir).filter(isTempName), []);
});

test('syncDir: a file system that cannot sync a directory is accepted (procfs: EINVAL); other errors are thrown', async () => {
  const fds = (): number => readdirSync('/proc/self/fd').length;
  const before = fds();
  await syncDir('/proc');
  const dir = await tempDir('atomic-sync-');
  await syncDir(dir);
  assert.equal(fds(), before, 'no descriptor left open');
  await assert.rejects(syncDir(join(dir, 'missing')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  writeFileSync(join(dir, 'file'), '');
  await assert.rejects(syncDir(join(dir, 'file')), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR');
});
