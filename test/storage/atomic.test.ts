// SEC-F1 (atomic, durable writes), SEC-F2 (modes whatever the umask), SEC-F3 (no symlinks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isTempName, sweepStaleTemps } from '../../src/fs/atomic.js';
import {
  ensurePrivateDir,
  isInside,
  prepareFileAtomic,
  readFileBounded,
  removeFile,
  removeTree,
  writeFileAtomic,
} from '../../src/storage/atomic.js';
import { isStorageError } from '../../src/storage/errors.js';
import { tempDir } from '../rig/tmp.js';

const WRITER = fileURLToPath(new URL('./writer-child.js', import.meta.url));

function mode(p: string): number {
  return lstatSync(p).mode & 0o777;
}

test('writes with mode 0600 and directories 0700 whatever the umask', async () => {
  for (const umask of [0o000, 0o022, 0o277, 0o777]) {
    const old = process.umask(umask);
    try {
      const base = await tempDir('atomic-umask-');
      const dir = await ensurePrivateDir(base, 'tuf/example.com/app/metadata');
      assert.equal(dir, join(base, 'tuf', 'example.com', 'app', 'metadata'));
      for (const d of ['tuf', 'tuf/example.com', 'tuf/example.com/app', 'tuf/example.com/app/metadata']) {
        assert.equal(mode(join(base, d)), 0o700, `umask ${umask.toString(8)}: ${d}`);
      }
      const f = join(dir, 'root.json');
      await writeFileAtomic(f, '{"a":1}', { base });
      assert.equal(mode(f), 0o600, `umask ${umask.toString(8)}`);
      assert.equal(readFileSync(f, 'utf8'), '{"a":1}');
      // Overwriting a file someone made world-readable leaves it private.
      await writeFile(f, 'x', { mode: 0o644 });
      await writeFileAtomic(f, Buffer.from('{"a":2}'), { base });
      assert.equal(mode(f), 0o600);
      assert.equal(readFileSync(f, 'utf8'), '{"a":2}');
      assert.deepEqual(readdirSync(dir), ['root.json']);
    } finally {
      process.umask(old);
    }
  }
});

test('ensurePrivateDir creates a missing base chain 0700 and leaves existing directories alone', async () => {
  const old = process.umask(0);
  try {
    const root = await tempDir('atomic-base-');
    const base = join(root, 'home', '.docker', 'trust');
    await ensurePrivateDir(base, 'private');
    for (const d of ['home', 'home/.docker', 'home/.docker/trust', 'home/.docker/trust/private']) assert.equal(mode(join(root, d)), 0o700, d);
    await mkdir(join(base, 'tuf'), { mode: 0o755 });
    await ensurePrivateDir(base, 'tuf/x');
    assert.equal(mode(join(base, 'tuf')), 0o755);
    assert.equal(mode(join(base, 'tuf', 'x')), 0o700);
  } finally {
    process.umask(old);
  }
});

test('ensurePrivateDir refuses unclean relative paths', async () => {
  const base = await tempDir('atomic-clean-');
  for (const rel of ['../x', 'a/../../x', 'a//b', '/abs', 'a/./b', 'a/']) {
    await assert.rejects(ensurePrivateDir(base, rel), (e) => isStorageError(e, 'OUTSIDE_BASE'), rel);
  }
  assert.deepEqual(readdirSync(base), []);
});

test('refuses to write through a symlinked target or directory, naming the path', async () => {
  const base = await tempDir('atomic-link-');
  const outside = await tempDir('atomic-outside-');
  await ensurePrivateDir(base, 'tuf/g/metadata');
  // Target is a link to a file outside.
  const victim = join(outside, 'victim');
  await writeFile(victim, 'original');
  const target = join(base, 'tuf', 'g', 'metadata', 'root.json');
  await symlink(victim, target);
  await assert.rejects(writeFileAtomic(target, 'evil', { base }), (e) => isStorageError(e, 'SYMLINK') && e.path === target && e.message.includes(target));
  assert.equal(readFileSync(victim, 'utf8'), 'original');
  assert.ok(lstatSync(target).isSymbolicLink());

  // A directory on the way is a link (tuf/h -> outside).
  await symlink(outside, join(base, 'tuf', 'h'));
  const through = join(base, 'tuf', 'h', 'victim');
  await assert.rejects(writeFileAtomic(through, 'evil', { base }), (e) => isStorageError(e, 'SYMLINK') && e.path === join(base, 'tuf', 'h'));
  assert.equal(readFileSync(victim, 'utf8'), 'original');
  await assert.rejects(ensurePrivateDir(base, 'tuf/h/metadata'), (e) => isStorageError(e, 'SYMLINK') && e.path === join(base, 'tuf', 'h'));
  assert.ok(!existsSync(join(outside, 'metadata')));
  // Without temp files left anywhere.
  assert.deepEqual(readdirSync(outside).sort(), ['victim']);
  assert.deepEqual((await readdir(join(base, 'tuf', 'g', 'metadata'))).filter(isTempName), []);

  // A base that is itself a link is accepted (users link ~/.docker/trust elsewhere).
  const linkedBase = join(await tempDir('atomic-linkbase-'), 'trust');
  await symlink(outside, linkedBase);
  await ensurePrivateDir(linkedBase, 'tuf/ok');
  await writeFileAtomic(join(linkedBase, 'tuf', 'ok', 'f'), 'x', { base: linkedBase });
  assert.equal(readFileSync(join(outside, 'tuf', 'ok', 'f'), 'utf8'), 'x');
});

test('refuses targets outside the base', async () => {
  const base = await tempDir('atomic-outside-base-');
  const sibling = `${base}_evil`;
  await assert.rejects(writeFileAtomic(join(sibling, 'x'), 'x', { base }), (e) => isStorageError(e, 'OUTSIDE_BASE'));
  await assert.rejects(writeFileAtomic(join(base, '..', 'x'), 'x', { base }), (e) => isStorageError(e, 'OUTSIDE_BASE'));
  assert.equal(isInside('/a/private', '/a/private_evil'), false);
  assert.equal(isInside('/a/private', '/a/private/x'), true);
  assert.equal(isInside('/a/private', '/a/private'), true);
  assert.equal(isInside('/a/private', '/a/private/../x'), false);
});

test('a failure at any step before the rename leaves the old file and no temp file', async () => {
  const base = await tempDir('atomic-fault-');
  const dir = await ensurePrivateDir(base, 'd');
  const f = join(dir, 'file.json');
  await writeFileAtomic(f, 'old', { base });
  for (const point of ['created', 'written', 'synced'] as const) {
    await assert.rejects(
      writeFileAtomic(f, 'new', {
        base,
        fault: (p) => {
          if (p === point) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        },
      }),
      (e) => isStorageError(e, 'WRITE_FAILED') && /no space left/.test(e.message) && /disk space/.test(e.hint ?? ''),
    );
    assert.equal(readFileSync(f, 'utf8'), 'old', point);
    assert.deepEqual(readdirSync(dir), ['file.json'], point);
  }
  // After the rename the new file is in place.
  await assert.rejects(
    writeFileAtomic(f, 'new', {
      base,
      fault: (p) => {
        if (p === 'renamed') throw new Error('boom');
      },
    }),
  );
  assert.equal(readFileSync(f, 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir), ['file.json']);
});

test('prepareFileAtomic: the checks and the flushed temp file first, the rename only on commit', async () => {
  const base = await tempDir('atomic-prepare-');
  const dir = await ensurePrivateDir(base, 'd');
  const f = join(dir, 'file.json');
  await writeFileAtomic(f, 'old', { base });
  const p = await prepareFileAtomic(f, 'new', { base });
  assert.equal(readFileSync(f, 'utf8'), 'old');
  assert.equal(readdirSync(dir).length, 2, 'the temp file waits next to the target');
  assert.deepEqual(await sweepStaleTemps(dir), [], "a sweep leaves this process's pending file alone");
  await p.commit();
  assert.equal(readFileSync(f, 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir), ['file.json']);
  await assert.rejects(p.commit(), /already committed/);

  const q = await prepareFileAtomic(f, 'newer', { base });
  await q.discard();
  await q.discard();
  assert.equal(readFileSync(f, 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir), ['file.json']);
  await assert.rejects(prepareFileAtomic(join(base, 'elsewhere', '..', '..', 'x'), 'x', { base }), (e) => isStorageError(e, 'OUTSIDE_BASE'));
});

test('a missing directory is an error, not created implicitly', async () => {
  const base = await tempDir('atomic-nodir-');
  await assert.rejects(writeFileAtomic(join(base, 'nope', 'f'), 'x', { base }), (e) => isStorageError(e, 'WRITE_FAILED'));
  assert.deepEqual(readdirSync(base), []);
});

test('SIGKILL at random moments leaves the old or the new file, complete; the next write sweeps temps', async (t) => {
  const base = await tempDir('atomic-crash-');
  const dir = await ensurePrivateDir(base, 'tuf/crash/metadata');
  const file = join(dir, 'targets.json');
  const rounds = 25;
  let sawTemp = 0;
  for (let r = 0; r < rounds; r++) {
    const child = spawn(process.execPath, [WRITER, file, base], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    await new Promise((res) => setTimeout(res, 5 + Math.random() * 120));
    child.kill('SIGKILL');
    await new Promise((res) => child.once('exit', res));

    const text = readFileSync(file, 'utf8');
    const { body, sum } = JSON.parse(text) as { body: string; sum: string };
    assert.equal(createHash('sha256').update(body).digest('hex'), sum, `round ${r}: file is complete`);
    assert.equal(mode(file), 0o600);
    const temps = readdirSync(dir).filter(isTempName);
    sawTemp += temps.length;
    assert.ok(readdirSync(dir).every((n) => n === 'targets.json' || n === 'snapshot.json' || isTempName(n)), readdirSync(dir).join(','));
    // The next write (any writer on this host) removes the dead writer's temp files.
    await writeFileAtomic(join(dir, 'snapshot.json'), '{}', { base });
    assert.deepEqual(readdirSync(dir).filter(isTempName), [], `round ${r}`);
  }
  // Not an assertion on luck, just information for the log.
  t.diagnostic(`temp files left by killed writers and swept: ${sawTemp} in ${rounds} rounds`);
});

test('readFileBounded: missing → undefined, larger than max → undefined, else the bytes', async () => {
  const dir = await tempDir('atomic-read-');
  assert.equal(await readFileBounded(join(dir, 'none'), 10), undefined);
  assert.equal(await readFileBounded(join(dir, 'none', 'deeper'), 10), undefined);
  await writeFile(join(dir, 'f'), '0123456789');
  assert.deepEqual(await readFileBounded(join(dir, 'f'), 10), Buffer.from('0123456789'));
  assert.equal(await readFileBounded(join(dir, 'f'), 9), undefined);
  await writeFile(join(dir, 'empty'), '');
  assert.deepEqual(await readFileBounded(join(dir, 'empty'), 0), Buffer.alloc(0));
  const big = Buffer.alloc(300_000, 7);
  await writeFile(join(dir, 'big'), big);
  assert.deepEqual(await readFileBounded(join(dir, 'big'), 300_000), big);
  await assert.rejects(readFileBounded(dir, 10), (e) => isStorageError(e, 'READ_FAILED'));
});

test('removeTree never leaves the base: links inside are removed as links, links on the way refused', async () => {
  const base = await tempDir('atomic-rm-');
  const outside = await tempDir('atomic-rm-outside-');
  await writeFile(join(outside, 'keep'), 'keep');
  await ensurePrivateDir(base, 'tuf/g/metadata/targets');
  await writeFile(join(base, 'tuf/g/metadata/root.json'), '{}');
  await symlink(outside, join(base, 'tuf/g/metadata/link-to-outside'));
  await symlink(join(outside, 'keep'), join(base, 'tuf/g/file-link'));
  assert.equal(await removeTree(base, 'tuf/g'), true);
  assert.ok(!existsSync(join(base, 'tuf/g')));
  assert.ok(existsSync(join(base, 'tuf')));
  assert.equal(readFileSync(join(outside, 'keep'), 'utf8'), 'keep');

  await symlink(outside, join(base, 'tuf', 'evil'));
  await mkdir(join(outside, 'sub'));
  await assert.rejects(removeTree(base, 'tuf/evil/sub'), (e) => isStorageError(e, 'SYMLINK'));
  assert.ok(existsSync(join(outside, 'sub')));
  for (const bad of ['', '..', 'tuf/../..', '/etc', 'a//b']) {
    await assert.rejects(removeTree(base, bad), (e) => isStorageError(e, 'OUTSIDE_BASE'), bad);
  }
  assert.equal(await removeTree(base, 'tuf/missing/x'), true);

  // keep(): the kept entry and its directory stay.
  await ensurePrivateDir(base, 'tuf/k/changelist');
  await writeFile(join(base, 'tuf/k/.lock'), '');
  await writeFile(join(base, 'tuf/k/changelist/c'), '');
  assert.equal(await removeTree(base, 'tuf/k', { keep: (rel) => rel === '.lock' }), false);
  assert.deepEqual(readdirSync(join(base, 'tuf/k')), ['.lock']);
});

test('removeFile refuses links on the way and outside paths; missing is fine', async () => {
  const base = await tempDir('atomic-rmf-');
  const outside = await tempDir('atomic-rmf-outside-');
  await writeFile(join(outside, 'x'), 'x');
  await symlink(outside, join(base, 'link'));
  await assert.rejects(removeFile(base, join(base, 'link', 'x')), (e) => isStorageError(e, 'SYMLINK'));
  await assert.rejects(removeFile(base, join(outside, 'x')), (e) => isStorageError(e, 'OUTSIDE_BASE'));
  assert.ok(existsSync(join(outside, 'x')));
  assert.equal(await removeFile(base, join(base, 'nothing')), false);
  assert.equal(statSync(outside).isDirectory(), true);
});
