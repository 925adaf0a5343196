// Random bytes for names and tokens that must not collide: change-file UUIDs, temp-file names,
// lock tokens. They come from the kernel's generator, read from /dev/urandom here: loading
// node:crypto only for them costs a short command such as `addhash` about 7 ms of CPU, a third
// of what it may spend besides Node's own start. Where /dev/urandom cannot be read, node:crypto
// supplies them.

import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

const pool = Buffer.alloc(4096);
let next = pool.length;

/** `n` random bytes. */
export function randomBytes(n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let filled = 0;
  while (filled < n) {
    if (next === pool.length) refill();
    const k = pool.copy(out, filled, next, Math.min(pool.length, next + n - filled));
    next += k;
    filled += k;
  }
  return out;
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** A random (version 4) UUID, as notary's uuid.NewRandom writes it. */
export function randomUuid(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function refill(): void {
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      let got = 0;
      while (got < pool.length) {
        const n = readSync(fd, pool, got, pool.length - got, null);
        if (n === 0) throw new Error('/dev/urandom ended');
        got += n;
      }
    } finally {
      closeSync(fd);
    }
  } catch {
    randomFillSync(pool);
  }
  next = 0;
}
