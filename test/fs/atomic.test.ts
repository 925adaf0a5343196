// The atomic-write primitive under the key store and the metadata cache (SEC-F1, SEC-F2): temp
// files, their sweeping, and errors left as Node's system errors for each layer to map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isTempName, sweepStaleTemps, writeTemp } from '../../src/fs/atomic.js';
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
