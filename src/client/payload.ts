// A target's content as `verify` handles it: read once into a small shared ring, hashed with
// every algorithm dtrust knows (sha256 on the main thread; sha512 inline for small payloads, in
// a worker thread for large ones), then written out on request, after the caller has checked the
// digests. What is written out must be the bytes verified. Stdin, and a file another user could
// change between the two reads, are spooled while they are hashed to a private temp file that is
// unlinked as soon as it is open, and written out from it. A file only its owner (this user, or
// root) can change is read again instead, which saves writing the spool, and a change of it in
// the meantime (its size, inode or times) is reported. Memory stays constant: the ring (reused
// to write the payload out) and the worker.

import { createHash, type Hash } from 'node:crypto';
import { read, type BigIntStats } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { DtrustError, type ErrorFields } from '../errors.js';

export interface Digests {
  length: number;
  sha256: Buffer;
  sha512: Buffer;
}

/** PAYLOAD_SPOOL: the spool could not be made, written or read back; PAYLOAD_CHANGED: the input file changed while it was verified. */
export class PayloadError extends DtrustError<'PAYLOAD_SPOOL' | 'PAYLOAD_CHANGED'> {
  constructor(code: 'PAYLOAD_SPOOL' | 'PAYLOAD_CHANGED', message: string, fields: ErrorFields = {}, cause?: unknown) {
    super(code, message, fields, cause);
    this.name = 'PayloadError';
  }
}

function spoolError(e: unknown): PayloadError {
  const code = (e as NodeJS.ErrnoException).code;
  return new PayloadError(
    'PAYLOAD_SPOOL',
    `cannot spool the content to ${tmpdir()}: ${code ?? (e as Error).message}`,
    { hint: 'verify spools the content to $TMPDIR (default /tmp): free space there, or set TMPDIR to a writable directory with room for it' },
    e,
  );
}

/** True when a user other than this one (or root) may write the file. */
function othersCanWrite(st: BigIntStats): boolean {
  const uid = process.getuid?.();
  if (uid === undefined) return true;
  return !((st.uid === BigInt(uid) || st.uid === 0n) && (st.mode & 0o022n) === 0n);
}

function changed(message: string): PayloadError {
  return new PayloadError('PAYLOAD_CHANGED', message, { hint: 'do not change the input while it is verified, and run the command again' });
}

function sameFile(a: BigIntStats, b: BigIntStats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** Ring slots: few and large, as every hand-over wakes a thread that may wait for a core. */
const CHUNK = 2 << 20;
const SLOTS = 4;
/**
 * Below this size sha512 runs on the main thread, where it overlaps the metadata refresh; from
 * it on in a worker, which takes 20-30 ms to start (under 1 ms of it on the main thread) while
 * sha512 costs ~1.2 ms per MiB (2 cores, measured). At most the ring's size, so that a worker
 * started late for a stream still finds every byte in it.
 */
const INLINE_MAX = 8 << 20;

// The control words shared with the worker.
const PRODUCED = 0; // slots filled by the main thread, | ENDED once no more will come
const CONSUMED = 1; // slots hashed by the worker
const LENGTHS = 2; // bytes in each slot
const ENDED = 0x40000000;

/** Atomics.waitAsync (Node 16+) is not in the TypeScript lib this project compiles against. */
const atomics = Atomics as typeof Atomics & {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
};

/** The worker: sha512 of the ring's slots in order, until the main thread marks the end. */
const SHA512_WORKER = `
const { workerData: { data, control, chunk, slots }, parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const c = new Int32Array(control);
const h = createHash('sha512');
let k = 0;
for (;;) {
  const v = Atomics.load(c, ${PRODUCED});
  if (k < (v & ${ENDED - 1})) {
    h.update(new Uint8Array(data, (k % slots) * chunk, c[${LENGTHS} + (k % slots)]));
    Atomics.store(c, ${CONSUMED}, ++k);
    Atomics.notify(c, ${CONSUMED});
  } else if (v & ${ENDED}) break;
  else Atomics.wait(c, ${PRODUCED}, v);
}
parentPort.postMessage(h.digest());
`;

class Sha512Worker {
  readonly result: Promise<Buffer>;
  private readonly worker: Worker;

  constructor(data: SharedArrayBuffer, control: SharedArrayBuffer) {
    this.worker = new Worker(SHA512_WORKER, { eval: true, workerData: { data, control, chunk: CHUNK, slots: SLOTS } });
    this.result = new Promise((resolve, reject) => {
      this.worker.once('message', (d: Uint8Array) => resolve(Buffer.from(d.buffer, d.byteOffset, d.byteLength)));
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`the sha512 worker stopped (exit code ${code}) before its result`)));
    });
    this.result.catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/** The ring: the main thread fills a slot, hashes it with sha256 and hands it to sha512. */
class Hashing {
  length = 0;
  private produced = 0;
  /**
   * Set by stop(). The reading loop may still be in a read or a spool write then: once that
   * returns it must neither publish (which would clear ENDED) nor start a worker, which nothing
   * would stop and which would keep the process alive, waiting for slots.
   */
  private stopped = false;
  private readonly h256 = createHash('sha256');
  /** sha512 on the main thread, for a payload known to be small. */
  private readonly h512: Hash | undefined;
  private worker: Sha512Worker | undefined;
  private readonly data = new SharedArrayBuffer(SLOTS * CHUNK);
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * (LENGTHS + SLOTS)));

  /**
   * `expected`: the size when known up front: a small payload is hashed inline, a large one
   * starts its worker at once. Otherwise the worker starts once INLINE_MAX bytes have come.
   */
  constructor(expected?: number) {
    if (expected === undefined) return;
    if (expected < INLINE_MAX) this.h512 = createHash('sha512');
    else this.startWorker();
  }

  /** The next slot to fill, once sha512 is done with it. */
  async slot(): Promise<Buffer> {
    this.checkOpen();
    if (!this.h512 && !this.worker && this.length >= INLINE_MAX) this.startWorker();
    if (this.produced >= SLOTS && !this.h512) {
      const worker = this.worker ?? this.startWorker();
      for (;;) {
        const consumed = Atomics.load(this.control, CONSUMED);
        if (this.produced - consumed < SLOTS) break;
        const w = atomics.waitAsync(this.control, CONSUMED, consumed);
        if (w.async) await Promise.race([w.value, worker.result]);
        this.checkOpen();
      }
    }
    return Buffer.from(this.data, (this.produced % SLOTS) * CHUNK, CHUNK);
  }

  /** The slot returned by slot() now holds `n` bytes. */
  publish(n: number): void {
    this.checkOpen();
    const i = this.produced % SLOTS;
    const bytes = new Uint8Array(this.data, i * CHUNK, n);
    this.h256.update(bytes);
    this.h512?.update(bytes);
    this.length += n;
    this.control[LENGTHS + i] = n;
    Atomics.store(this.control, PRODUCED, ++this.produced);
    Atomics.notify(this.control, PRODUCED);
  }

  /** No more bytes. */
  end(): void {
    Atomics.or(this.control, PRODUCED, ENDED);
    Atomics.notify(this.control, PRODUCED);
  }

  async digests(): Promise<Digests> {
    const sha256 = this.h256.digest();
    if (this.h512) return { length: this.length, sha256, sha512: this.h512.digest() };
    if (this.worker) return { length: this.length, sha256, sha512: await this.worker.result };
    // A stream shorter than INLINE_MAX: the ring never wrapped, every slot still holds its bytes.
    const h512 = createHash('sha512');
    for (let i = 0; i < this.produced; i++) h512.update(new Uint8Array(this.data, i * CHUNK, this.control[LENGTHS + i]));
    return { length: this.length, sha256, sha512: h512.digest() };
  }

  /** The ring as one buffer, free for other use once digests() has resolved. */
  scratch(): Buffer {
    return Buffer.from(this.data);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.end();
    Atomics.notify(this.control, CONSUMED);
    await this.worker?.stop();
  }

  private checkOpen(): void {
    if (this.stopped) throw new Error('the payload was closed before it was read to its end');
  }

  private startWorker(): Sha512Worker {
    this.worker = new Sha512Worker(this.data, this.control.buffer as SharedArrayBuffer);
    return this.worker;
  }
}

export interface Payload {
  /** Length and digests, once the whole payload has been read. Read errors reject here. */
  digests(): Promise<Digests>;
  /** Writes the bytes that were hashed to a file opened for writing. */
  writeToFile(out: FileHandle): Promise<void>;
  /** Writes the bytes that were hashed to a stream (stdout), one chunk in flight at a time. */
  writeToStream(out: NodeJS.WritableStream): Promise<void>;
  /** Stops hashing and closes the file (a spool is already unlinked) and the stream read from a descriptor. */
  close(): Promise<void>;
}

/**
 * A payload file: opened now (open errors throw here), hashed in the background, and spooled
 * unless only its owner can change it (see the top). With `hashOnly` (verify -q) a regular file
 * is only hashed, and the payload cannot be written out.
 */
export async function openPayload(path: string, opts: { hashOnly?: boolean } = {}): Promise<Payload> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat({ bigint: true });
    if (st.isDirectory()) throw Object.assign(new Error('EISDIR: illegal operation on a directory, read'), { code: 'EISDIR' });
    if (st.isFile() && (opts.hashOnly === true || !othersCanWrite(st))) {
      const hashing = new Hashing(Number(st.size));
      return payload(fh, hashing, readAll(fh, hashing), [], opts.hashOnly === true ? 'none' : st);
    }
    const fill: Fill = async (into, offset) => (await fh.read(into, offset, into.length - offset, null)).bytesRead;
    return await spoolPayload(fill, [fh], st.isFile() ? Number(st.size) : undefined);
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** The payload on stdin (from its current offset). */
export function stdinPayload(): Promise<Payload> {
  return fdPayload(0, () => process.stdin);
}

/**
 * A payload read from `fd` straight into the ring (a file, a pipe, a terminal: no garbage
 * buffers, so memory stays flat). A non-blocking descriptor cannot be read so; on EAGAIN the rest
 * comes through `stream()`, Node's stream for it, which close() destroys: after an error (a spool
 * that fails) it would otherwise go on reading a pipe whose writer is idle, and keep the process
 * alive until that writer closes it.
 */
export function fdPayload(fd: number, stream: () => Readable): Promise<Payload> {
  let opened: Readable | undefined;
  let fallback: Fill | undefined;
  const fill: Fill = async (into, offset) => {
    if (!fallback) {
      try {
        return await new Promise<number>((resolve, reject) => read(fd, into, offset, into.length - offset, null, (e, n) => (e ? reject(e) : resolve(n))));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        opened = stream();
        fallback = iterated(opened);
      }
    }
    return fallback(into, offset);
  };
  return spoolPayload(fill, [{ close: async () => void opened?.destroy() }]);
}

/** A payload from a stream, spooled to a private temp file while it is hashed. */
export function streamPayload(input: AsyncIterable<Buffer>): Promise<Payload> {
  return spoolPayload(iterated(input));
}

function iterated(input: AsyncIterable<Buffer>): Fill {
  const it = input[Symbol.asyncIterator]();
  let rest: Buffer = Buffer.alloc(0);
  return async (into, offset) => {
    if (rest.length === 0) {
      const r = await it.next();
      if (r.done) return 0;
      rest = r.value;
    }
    const n = rest.copy(into, offset);
    rest = rest.subarray(n);
    return n;
  };
}

/** Places up to `into.length - offset` bytes at `offset`; 0 at the end of the input. */
type Fill = (into: Buffer, offset: number) => Promise<number>;

/** What a payload reads from, closed with it. */
interface Closable {
  close(): Promise<void>;
}

/**
 * A payload from a source read in order, spooled to a private temp file while it is hashed.
 * `expected`: the size when known (a regular file), so that sha512's worker starts at once.
 */
async function spoolPayload(fill: Fill, sources: Closable[] = [], expected?: number): Promise<Payload> {
  let fh: FileHandle;
  try {
    const dir = await mkdtemp(join(tmpdir(), 'dtrust-verify-'));
    try {
      fh = await open(join(dir, 'payload'), 'wx+', 0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } catch (e) {
    throw spoolError(e);
  }
  const hashing = new Hashing(expected);
  return payload(fh, hashing, spool(fill, fh, hashing), sources);
}

/**
 * `replay`: 'spool' when `fh` is the spool; the input file's stats at open when `fh` is the input
 * file, read again (it must not have changed); 'none' when the payload is only hashed.
 */
function payload(fh: FileHandle, hashing: Hashing, read: Promise<void>, sources: Closable[], replay: 'spool' | 'none' | BigIntStats = 'spool'): Payload {
  read.catch(() => undefined);
  const out = async (write: (chunk: Buffer) => Promise<void>): Promise<void> => {
    if (replay === 'none') throw new Error('this payload was opened to be hashed only');
    await writeOut(fh, hashing.length, hashing.scratch(), write);
    if (replay !== 'spool' && !sameFile(replay, await fh.stat({ bigint: true }))) {
      throw changed('the input file changed while it was verified: what was written out may differ from what was verified');
    }
  };
  return {
    digests: async () => {
      await read;
      return hashing.digests();
    },
    writeToFile: (file) => out((chunk) => writeAll(file, chunk, null)),
    writeToStream: (stream) => out((chunk) => new Promise<void>((resolve, reject) => stream.write(chunk, (e) => (e ? reject(e) : resolve())))),
    close: async () => {
      try {
        await hashing.stop();
      } finally {
        for (const h of [fh, ...sources]) await h.close();
      }
    },
  };
}

async function readAll(fh: FileHandle, hashing: Hashing): Promise<void> {
  for (;;) {
    const slot = await hashing.slot();
    const { bytesRead } = await fh.read(slot, 0, CHUNK, hashing.length);
    if (bytesRead === 0) break;
    hashing.publish(bytesRead);
  }
  hashing.end();
}

async function spool(fill: Fill, fh: FileHandle, hashing: Hashing): Promise<void> {
  for (let more = true; more; ) {
    const slot = await hashing.slot();
    let n = 0;
    while (n < CHUNK) {
      const got = await fill(slot, n);
      if (got === 0) {
        more = false;
        break;
      }
      n += got;
    }
    if (n === 0) break;
    await writeAll(fh, slot.subarray(0, n), hashing.length).catch((e: unknown) => {
      throw spoolError(e);
    });
    hashing.publish(n);
  }
  hashing.end();
}

/** Writes every byte (a write may be partial); `position` null: at the file's current offset. */
async function writeAll(fh: FileHandle, buf: Buffer, position: number | null): Promise<void> {
  for (let off = 0; off < buf.length; ) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off, position === null ? null : position + off);
    off += bytesWritten;
  }
}

/** Reads the first `length` bytes back through `buf`; `write` is done with a chunk when it resolves. */
async function writeOut(fh: FileHandle, length: number, buf: Buffer, write: (chunk: Buffer) => Promise<void>): Promise<void> {
  for (let pos = 0; pos < length; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - pos), pos);
    if (bytesRead === 0) {
      throw changed(`the content ended after ${pos} of the ${length} bytes verified`);
    }
    await write(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}
