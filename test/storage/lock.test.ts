// SEC-C1: the per-GUN writer lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isStorageError } from '../../src/storage/errors.js';
import { isoTime, LOCK_FILE_NAME, readLockHolder, withGunLock } from '../../src/storage/lock.js';
import { killAfter } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';

const CHILD = fileURLToPath(new URL('./lock-child.js', import.meta.url));

interface Holder {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  lines: string[];
  exited: Promise<number | null>;
  next(): Promise<string>;
}

function startHolder(trustDir: string, gun: string, timeoutMs?: number): Promise<Holder> {
  const child = spawn(process.execPath, [CHILD, trustDir, gun, ...(timeoutMs === undefined ? [] : [String(timeoutMs)])]);
  killAfter(child); // it holds the lock until its stdin closes
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  let buf = '';
  child.stdout.on('data', (c: Buffer) => {
    buf += c.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const next = (): Promise<string> => {
    const l = lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((res, rej) => {
      waiters.push(res);
      void exited.then(() => rej(new Error(`lock child exited; stderr: ${stderr}`)));
    });
  };
  return Promise.resolve({ child, pid: child.pid!, lines, exited, next });
}

test('a second writer waits, then fails naming the holder PID; it gets the lock once released', async () => {
  const trustDir = await tempDir('lock-wait-');
  const gun = 'example.com/locked';
  const h = await startHolder(trustDir, gun);
  assert.equal(await h.next(), `locked ${h.pid}`);
  const holder = await readLockHolder(trustDir, gun);
  assert.equal(holder?.pid, h.pid);

  let waitedFor: number | undefined;
  const t0 = performance.now();
  await assert.rejects(
    withGunLock(trustDir, gun, async () => assert.fail('must not run'), {
      timeoutMs: 600,
      pollMs: 50,
      onWait: (w) => (waitedFor = w?.pid),
    }),
    (e) =>
      isStorageError(e, 'LOCKED') &&
      e.fields.pid === h.pid &&
      e.message.includes(`PID ${h.pid}`) &&
      e.message.includes(gun) &&
      (e.hint ?? '').includes(join(trustDir, 'tuf', gun, LOCK_FILE_NAME)),
  );
  const waited = performance.now() - t0;
  assert.ok(waited >= 550 && waited < 5000, `waited ${waited} ms`);
  assert.equal(waitedFor, h.pid);

  // Waiting succeeds when the holder finishes within the timeout.
  const order: string[] = [];
  const second = withGunLock(
    trustDir,
    gun,
    async () => {
      order.push('second');
    },
    { timeoutMs: 10_000, pollMs: 20 },
  );
  await new Promise((r) => setTimeout(r, 150));
  order.push('release');
  h.child.stdin.end();
  assert.equal(await h.next(), 'released');
  await second;
  assert.deepEqual(order, ['release', 'second']);
  assert.equal(await h.exited, 0);
  assert.ok(!existsSync(join(trustDir, 'tuf', gun, LOCK_FILE_NAME)));
});

test('a lock left by a dead process is taken over with a notice', async () => {
  const trustDir = await tempDir('lock-dead-');
  const gun = 'example.com/dead';
  const h = await startHolder(trustDir, gun);
  assert.equal(await h.next(), `locked ${h.pid}`);
  h.child.kill('SIGKILL');
  await h.exited;
  assert.equal((await readLockHolder(trustDir, gun))?.pid, h.pid, 'the lock file is left behind');

  const notices: string[] = [];
  let ran = false;
  await withGunLock(
    trustDir,
    gun,
    async () => {
      ran = true;
      assert.equal((await readLockHolder(trustDir, gun))?.pid, process.pid);
    },
    { timeoutMs: 2000, onNotice: (m) => notices.push(m) },
  );
  assert.equal(ran, true);
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, new RegExp(`took over the lock on ${gun.replace('.', '\\.')} left by PID ${h.pid}, which is no longer running`));
  assert.deepEqual(readdirSync(join(trustDir, 'tuf', 'example.com')), [], 'lock and empty GUN directory removed on release');
});

test('several waiters on one dead lock: exactly one runs at a time', async () => {
  const trustDir = await tempDir('lock-race-');
  const gun = 'race';
  await mkdir(join(trustDir, 'tuf', gun), { recursive: true });
  // A dead holder: PID far above pid_max.
  await writeFile(
    join(trustDir, 'tuf', gun, LOCK_FILE_NAME),
    JSON.stringify({ pid: 2 ** 30, host: (await import('node:os')).hostname(), started: 'x', token: 't' }),
  );
  let inside = 0;
  let maxInside = 0;
  const notices: string[] = [];
  const task = async (): Promise<void> => {
    // Separate async contexts, so no re-entrance between them.
    await new Promise((r) => setImmediate(r));
    await withGunLock(
      trustDir,
      gun,
      async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => setTimeout(r, 20));
        inside--;
      },
      { timeoutMs: 10_000, pollMs: 5, onNotice: (m) => notices.push(m) },
    );
  };
  await Promise.all(Array.from({ length: 8 }, task));
  assert.equal(maxInside, 1);
  assert.equal(notices.length, 1, notices.join('\n'));
});

test('an unreadable lock file is replaced with a notice', async () => {
  const trustDir = await tempDir('lock-garbage-');
  await mkdir(join(trustDir, 'tuf', 'g'), { recursive: true });
  await writeFile(join(trustDir, 'tuf', 'g', LOCK_FILE_NAME), 'garbage');
  const notices: string[] = [];
  await withGunLock(trustDir, 'g', async () => undefined, { onNotice: (m) => notices.push(m) });
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /unreadable lock file/);
});

test('re-entrant within one call chain; released when fn throws', async () => {
  const trustDir = await tempDir('lock-reenter-');
  const r = await withGunLock(trustDir, 'g', async () => withGunLock(trustDir, 'g', async () => 42, { timeoutMs: 0 }));
  assert.equal(r, 42);
  await assert.rejects(
    withGunLock(trustDir, 'g', async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.ok(!existsSync(join(trustDir, 'tuf', 'g', LOCK_FILE_NAME)));
  // Locks of different GUNs are independent.
  await withGunLock(trustDir, 'g', async () => withGunLock(trustDir, 'h', async () => undefined, { timeoutMs: 0 }));
});

test('a leaf section holds the lock like any other but cannot re-enter it; its holder record has the ISO time', async () => {
  const trustDir = await tempDir('lock-leaf-');
  const lock = join(trustDir, 'tuf', 'g', LOCK_FILE_NAME);
  let started = '';
  await withGunLock(
    trustDir,
    'g',
    async () => {
      started = (await readLockHolder(trustDir, 'g'))!.started;
      // Without the async context, a nested take is another writer: refused at once with timeoutMs 0.
      await assert.rejects(
        withGunLock(trustDir, 'g', async () => undefined, { timeoutMs: 0 }),
        (e) => isStorageError(e, 'LOCKED') && e.fields.pid === process.pid,
      );
    },
    { leaf: true },
  );
  assert.match(started, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(new Date(started).toISOString(), started);
  assert.ok(!existsSync(lock));
  // Inside an ordinary section, a leaf section re-enters.
  assert.equal(await withGunLock(trustDir, 'g', async () => withGunLock(trustDir, 'g', async () => 7, { leaf: true, timeoutMs: 0 })), 7);
});

test('isoTime writes what toISOString writes, for years 0 to 9999', () => {
  const max = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
  const min = new Date(0).setUTCFullYear(0, 0, 1);
  for (const ms of [0, max, Date.UTC(2000, 1, 29, 12, 0, 0, 7), Date.UTC(1969, 11, 31, 23, 59, 59, 999)]) assert.equal(isoTime(ms), new Date(ms).toISOString());
  for (let i = 0; i < 10_000; i++) {
    const ms = Math.floor(Math.random() * (max - min)) + min;
    assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  }
});

test('a holder on another host is waited for, never taken over', async () => {
  const trustDir = await tempDir('lock-host-');
  await mkdir(join(trustDir, 'tuf', 'g'), { recursive: true });
  const lock = join(trustDir, 'tuf', 'g', LOCK_FILE_NAME);
  const rec = JSON.stringify({ pid: 2 ** 30, host: 'some-other-host.invalid', started: '2024-01-01T00:00:00.000Z', token: 't' });
  await writeFile(lock, rec);
  await assert.rejects(
    withGunLock(trustDir, 'g', async () => undefined, { timeoutMs: 100, pollMs: 10 }),
    (e) => isStorageError(e, 'LOCKED') && e.message.includes('on host some-other-host.invalid') && e.fields.pid === 2 ** 30,
  );
  assert.equal(readFileSync(lock, 'utf8'), rec);
});
