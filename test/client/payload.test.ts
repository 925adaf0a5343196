// The payload of `verify`: length and both digests as one-shot hashing gives them, from a file
// and from a stream, on both sides of the ring size (sha512 inline or in the worker); the bytes
// written out are the bytes hashed; the stdin spool leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, constants, openSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fdPayload, openPayload, PayloadError, streamPayload, type Digests, type Payload } from '../../src/client/payload.js';
import { tempDir } from '../rig/tmp.js';

const MiB = 1024 * 1024;
/** The ring (4 slots of 2 MiB); sha512 moves to a worker from the same size on. */
const RING = 8 * MiB;
const SIZES = [0, 1, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1, RING - 1, RING, RING + 1, 3 * RING + 12345];

function expected(data: Buffer): { length: number; sha256: string; sha512: string } {
  return {
    length: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
    sha512: createHash('sha512').update(data).digest('hex'),
  };
}

function hex(d: Digests): { length: number; sha256: string; sha512: string } {
  return { length: d.length, sha256: d.sha256.toString('hex'), sha512: d.sha512.toString('hex') };
}

async function digestsOf(p: Payload): Promise<{ length: number; sha256: string; sha512: string }> {
  return hex(await p.digests());
}

/** A stream of `data` in chunks of uneven sizes (as a pipe delivers them). */
function chunked(data: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = [65536, 1, 300_000, 2 * MiB + 7][i % 4]!;
    parts.push(data.subarray(off, off + n));
    off += n;
  }
  return Readable.from(parts);
}

function collector(): { stream: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(Buffer.from(chunk)); // the payload reuses its buffer once the write is done
      cb();
    },
  });
  return { stream, bytes: () => Buffer.concat(parts) };
}

/**
 * Records the worker threads started while it is on, through async_hooks (whose resource for a
 * worker is its native handle). off() stops them all, so that a test which finds a worker left
 * running still lets the file end instead of keeping it alive until the runner's timeout.
 */
function workerRecorder(): { started: () => number; off: () => void } {
  const workers: { stopThread(): void }[] = [];
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === 'WORKER') workers.push(resource as { stopThread(): void });
    },
  }).enable();
  return {
    started: () => workers.length,
    off: () => {
      hook.disable();
      for (const w of workers) w.stopThread();
    },
  };
}

/**
 * The write of a FileHandle (the spool's) at `position` completes as `then` says, once it is done;
 * the result undoes the change.
 */
async function onWriteAt(position: number, then: () => Promise<void>): Promise<() => void> {
  const probe = await open(process.execPath, 'r');
  const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
  await probe.close();
  const write = proto.write;
  proto.write = function (this: unknown, ...args: unknown[]) {
    const done = write.apply(this, args);
    if (args[3] !== position) return done;
    return done.then(async (v) => {
      await then();
      return v;
    });
  };
  return () => void (proto.write = write);
}

test('a file: length, sha256 and sha512 as one-shot hashing, and the same bytes written out', async () => {
  const dir = await tempDir('payload-file-');
  for (const size of SIZES) {
    const data = randomBytes(size);
    const path = join(dir, `in-${size}`);
    writeFileSync(path, data);
    const p = await openPayload(path);
    try {
      assert.deepEqual(await digestsOf(p), expected(data), `size ${size}`);
      const out = join(dir, `out-${size}`);
      const fh = await open(out, 'w');
      try {
        await p.writeToFile(fh);
      } finally {
        await fh.close();
      }
      assert.ok(readFileSync(out).equals(data), `size ${size}: written out unchanged`);
      const c = collector();
      await p.writeToStream(c.stream);
      assert.ok(c.bytes().equals(data), `size ${size}: streamed out unchanged`);
    } finally {
      await p.close();
    }
  }
});

test('a stream: spooled and hashed the same, and the spool is gone as soon as it is open', async () => {
  const spools = await tempDir('payload-spool-');
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = spools;
  try {
    for (const size of SIZES) {
      const data = randomBytes(size);
      const p = await streamPayload(chunked(data));
      try {
        assert.deepEqual(readdirSync(spools), [], 'no spool file or directory left');
        assert.deepEqual(await digestsOf(p), expected(data), `size ${size}`);
        const c = collector();
        await p.writeToStream(c.stream);
        assert.ok(c.bytes().equals(data), `size ${size}: streamed out unchanged`);
      } finally {
        await p.close();
      }
    }
  } finally {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  }
});

/** A FIFO: its read end, non-blocking, and a stream writing to it (nothing written yet). */
async function fifo(prefix: string): Promise<{ rfd: number; writer: Socket }> {
  const path = join(await tempDir(prefix), 'fifo');
  execFileSync('mkfifo', [path]);
  const rfd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return { rfd, writer: new Socket({ fd: openSync(path, constants.O_WRONLY), readable: false, writable: true }) };
}

/** fdPayload on a FIFO's read end, its digests(), and `fellBack`: resolved once it turns to the stream. */
async function fifoPayload(rfd: number): Promise<{ p: Payload; digests: Promise<Digests>; fellBack: Promise<Socket> }> {
  let opened!: (s: Socket) => void;
  const fellBack = new Promise<Socket>((r) => (opened = r));
  const p = await fdPayload(rfd, () => {
    const s = new Socket({ fd: rfd, readable: true, writable: false });
    opened(s);
    return s;
  });
  // Nothing is written yet: the first read finds the pipe empty. Should the payload settle
  // instead (an error), the test fails with it rather than wait.
  const digests = p.digests();
  digests.catch(() => undefined);
  return { p, digests, fellBack: Promise.race([fellBack, digests.then(() => Promise.reject(new Error('the payload ended without reading the stream')))]) };
}

test('a non-blocking descriptor (EAGAIN) is read through its stream instead', async () => {
  const { rfd, writer } = await fifo('payload-fifo-');
  const { p, digests, fellBack } = await fifoPayload(rfd);
  const data = randomBytes(RING + 3);
  try {
    await fellBack;
    writer.end(data);
    assert.deepEqual(hex(await digests), expected(data));
  } finally {
    await p.close();
    writer.destroy();
  }
});

test('a descriptor read through its stream: close() after a spool that failed closes that stream', async () => {
  // With its writer idle, the stream would go on reading and keep the process (verify) alive.
  const { rfd, writer } = await fifo('payload-fifo-fail-');
  const restore = await onWriteAt(0, () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })));
  const { p, digests, fellBack } = await fifoPayload(rfd);
  let stream: Socket | undefined;
  try {
    stream = await fellBack;
    writer.write(randomBytes(RING / 4)); // one slot; the writer stays open
    await assert.rejects(digests, (e: unknown) => e instanceof PayloadError && e.code === 'PAYLOAD_SPOOL' && /ENOSPC/.test(e.message));
    await p.close();
    assert.equal(stream.destroyed, true, 'the stream is closed');
  } finally {
    restore();
    stream?.destroy();
    writer.destroy();
  }
});

test('a stream that fails: digests() rejects with its error', async () => {
  const input = new Readable({ read() {} });
  const p = await streamPayload(input);
  input.push(randomBytes(3 * RING));
  input.destroy(Object.assign(new Error('boom'), { code: 'EIO' }));
  await assert.rejects(p.digests(), /boom/);
  await p.close();
});

test('a file other users may write, changed after it was hashed: what is written out is what was hashed (the spool)', async () => {
  const dir = await tempDir('payload-change-');
  const path = join(dir, 'in');
  const data = randomBytes(2 * RING + 5);
  writeFileSync(path, data);
  chmodSync(path, 0o666);
  const p = await openPayload(path);
  try {
    assert.deepEqual(await digestsOf(p), expected(data));
    writeFileSync(path, Buffer.alloc(data.length, 0x41)); // same length, other bytes
    const c = collector();
    await p.writeToStream(c.stream);
    assert.ok(c.bytes().equals(data), 'the verified bytes, not the new ones');
    truncateSync(path, 1);
    const out = join(dir, 'out');
    const fh = await open(out, 'w');
    try {
      await p.writeToFile(fh);
    } finally {
      await fh.close();
    }
    assert.ok(readFileSync(out).equals(data), 'the verified bytes, not the shrunk file');
  } finally {
    await p.close();
  }
});

test('a file only its owner may write is read again, and a change in between is reported', async () => {
  const dir = await tempDir('payload-owner-');
  const path = join(dir, 'in');
  const data = randomBytes(RING + 5);
  writeFileSync(path, data);
  chmodSync(path, 0o644);
  const p = await openPayload(path);
  try {
    assert.deepEqual(await digestsOf(p), expected(data));
    const c = collector();
    await p.writeToStream(c.stream);
    assert.ok(c.bytes().equals(data), 'unchanged: written out');
    writeFileSync(path, Buffer.alloc(data.length, 0x41)); // same length, other bytes
    await assert.rejects(p.writeToStream(collector().stream), (e: unknown) => e instanceof PayloadError && e.code === 'PAYLOAD_CHANGED');
    truncateSync(path, 1);
    await assert.rejects(p.writeToStream(collector().stream), (e: unknown) => e instanceof PayloadError && e.code === 'PAYLOAD_CHANGED');
  } finally {
    await p.close();
  }
});

test('a spool that cannot be made is a PayloadError naming $TMPDIR', async () => {
  const dir = await tempDir('payload-notmp-');
  const path = join(dir, 'in');
  writeFileSync(path, 'x');
  chmodSync(path, 0o666); // others may write it: spooled
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = join(dir, 'missing');
  try {
    await assert.rejects(openPayload(path), (e: unknown) => e instanceof PayloadError && e.code === 'PAYLOAD_SPOOL' && e.message.includes(join(dir, 'missing')));
  } finally {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  }
});

test('a payload opened to be hashed only (verify -q) hashes the file and cannot be written out', async () => {
  const dir = await tempDir('payload-quiet-');
  const path = join(dir, 'in');
  const data = randomBytes(RING + 1);
  writeFileSync(path, data);
  const p = await openPayload(path, { hashOnly: true });
  try {
    assert.deepEqual(await digestsOf(p), expected(data));
    await assert.rejects(p.writeToStream(collector().stream), /hashed only/);
  } finally {
    await p.close();
  }
});

test('close() before the payload is read to its end stops the worker', async () => {
  const workers = workerRecorder();
  try {
    const input = new Readable({ read() {} });
    const p = await streamPayload(input);
    input.push(randomBytes(2 * RING)); // the worker starts, then waits for more
    while (workers.started() === 0) await new Promise((r) => setTimeout(r, 1));
    await p.close(); // must not hang on the waiting worker
    input.destroy();
  } finally {
    workers.off();
  }
});

test('close() while a spool write is in flight: the reading stops there and starts no worker afterwards', async () => {
  // The 4th slot fills the ring: publishing it starts the worker. A worker started after close()
  // would wait for slots forever, and nothing would stop it: the process would never exit.
  let inFlight!: () => void;
  const reached = new Promise<void>((r) => (inFlight = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const restore = await onWriteAt(3 * (RING / 4), () => {
    inFlight();
    return released;
  });
  const workers = workerRecorder();
  try {
    const input = new Readable({ read() {} });
    const p = await streamPayload(input);
    input.push(randomBytes(RING));
    await reached;
    const closing = p.close();
    input.destroy(); // whatever the reading does next, it ends
    release();
    await closing;
    const read = await p.digests().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal(workers.started(), 0, 'no worker started after close()');
    assert.match(String(read), /closed before it was read to its end/);
  } finally {
    restore();
    workers.off();
  }
});

test('a directory is refused as notary words it (EISDIR), a missing file with ENOENT', async () => {
  const dir = await tempDir('payload-dir-');
  await assert.rejects(openPayload(dir), (e: unknown) => (e as NodeJS.ErrnoException).code === 'EISDIR');
  await assert.rejects(openPayload(join(dir, 'missing')), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT');
});
