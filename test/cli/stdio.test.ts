// stdout/stderr written with write(2) (src/cli/stdio.ts): every byte arrives in order when the
// descriptor is non-blocking and fills up (the rest goes through a stream), and a reader that
// went away ends the output quietly, also end to end; bin/dtrust, which exits as soon as the
// command is done, waits for output a stream still holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { StdWriter } from '../../src/cli/stdio.js';
import { DTRUST_BIN, runDtrust } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';

async function fifo(prefix: string): Promise<string> {
  const path = join(await tempDir(prefix), 'fifo');
  execFileSync('mkfifo', [path]);
  return path;
}

test('a non-blocking descriptor that fills up: the rest goes through the stream, every byte in order', async () => {
  const path = await fifo('stdio-eagain-');
  const rfd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const wfd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  let opened: Socket | undefined;
  const w = new StdWriter(wfd, () => (opened = new Socket({ fd: wfd, readable: false, writable: true })) as unknown as NodeJS.WriteStream);
  const pieces: string[] = [];
  for (let i = 0; i < 4000; i++) pieces.push(`line ${String(i).padStart(5, '0')} ${'x'.repeat(60)}\n`);
  const expected = pieces.join('');
  // The pipe holds 64 KiB and nobody reads yet: the direct writes hit EAGAIN part way.
  for (const p of pieces) w.write(p);
  assert.ok(opened, 'the stream took over');
  const reader = new Socket({ fd: rfd, readable: true, writable: false });
  const got: Buffer[] = [];
  reader.on('data', (c: Buffer) => got.push(c));
  const done = new Promise((resolve) => reader.once('end', resolve));
  await w.drain();
  opened!.end();
  await done;
  assert.equal(Buffer.concat(got).toString('utf8'), expected);
});

test('a reader that went away (EPIPE): the output ends quietly, later writes are dropped', async () => {
  const path = await fifo('stdio-epipe-');
  const rfd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const wfd = openSync(path, constants.O_WRONLY);
  closeSync(rfd);
  let streamed = false;
  const w = new StdWriter(wfd, () => {
    streamed = true;
    throw new Error('no stream expected');
  });
  w.write('first\n');
  // Dropped without touching the descriptor: written, it would fail with EBADF now.
  closeSync(wfd);
  w.write(Buffer.from('second\n'));
  await w.drain();
  assert.equal(streamed, false);
});

test('dtrust --help into a pipe closed before it writes: exit 0, nothing on stderr', async () => {
  const child = spawn(process.execPath, [DTRUST_BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // long before node has started: every write meets EPIPE
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(err, '');
  assert.equal(code, 0);
});

test('bin/dtrust with stdout left non-blocking: it exits only once a full pipe has taken every byte', async () => {
  const home = await tempDir('stdio-exit-');
  const trust = join(home, 'trust');
  const gun = 'example.com/stdio/exit';
  const h = createHash('sha256').update('x').digest('hex');
  const input = Array.from({ length: 6000 }, (_, i) => `target-${String(i).padStart(5, '0')} 1 ${h}\n`).join('');
  assert.equal((await runDtrust(['-d', trust, 'addhash', gun, '--from', '-'], { home, input })).code, 0);
  const expected = (await runDtrust(['-d', trust, 'status', gun], { home })).stdout;
  assert.ok(expected.length > 4 * 65536, 'more than a pipe holds');

  const path = await fifo('stdio-exit-');
  const rfd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const wfd = openSync(path, constants.O_WRONLY);
  // A child's stdio is made blocking when it is spawned; python sets O_NONBLOCK, then runs dtrust.
  const nonblocking = 'import fcntl, os, sys; fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_NONBLOCK); os.execv(sys.argv[1], sys.argv[1:])';
  const child = spawn('python3', ['-c', nonblocking, process.execPath, DTRUST_BIN, '-d', trust, 'status', gun], {
    stdio: ['ignore', wfd, 'pipe'],
    env: { PATH: process.env['PATH'], HOME: home },
  });
  closeSync(wfd);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  // Nobody reads yet: the pipe fills (EAGAIN) and a stream queues the rest. A launcher that
  // exited now would lose it; one that waits is still running after this bound (on a machine too
  // slow to fill the pipe by then, the test proves less but still holds).
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
  const reader = new Socket({ fd: rfd, readable: true, writable: false });
  const got: Buffer[] = [];
  reader.on('data', (c: Buffer) => got.push(c));
  await new Promise((resolve) => reader.once('end', resolve));
  assert.equal(await exited, 0);
  assert.equal(err, '');
  assert.equal(Buffer.concat(got).toString('utf8'), expected);
});
