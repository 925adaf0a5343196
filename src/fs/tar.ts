// A minimal, deterministic POSIX ustar writer and a strict reader, for trust archives: regular
// files only, fixed mode 0644, owner 0/0 with no names, mtime 0, entries in the order given.
// The same entries always give the same bytes. The reader refuses anything it did not write
// (other entry types, bad checksums, non-zero padding, trailing data), so one changed byte in a
// header or padding fails here and one in a file's content fails the archive's own hashes.

import { DtrustError } from '../errors.js';

const BLOCK = 512;

export interface TarEntry {
  /** Relative path with `/` separators, at most 255 bytes (ustar prefix + name). */
  name: string;
  data: Uint8Array;
}

export class TarError extends DtrustError<'TAR', { hint?: string; entry?: string }> {
  constructor(message: string, entry?: string) {
    super('TAR', message, { ...(entry !== undefined ? { entry } : {}), hint: 'the archive was changed or damaged after it was written: use an intact copy' });
    this.name = 'TarError';
  }

  /** The entry the problem is in, when known. */
  get entry(): string | undefined {
    return this.fields.entry;
  }
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** ustar's split of a long path into prefix (≤155) and name (≤100) at a `/`. */
function splitName(path: string): { prefix: string; name: string } {
  const bytes = Buffer.byteLength(path);
  if (bytes <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') return { prefix, name };
  }
  throw new TarError(`the path ${JSON.stringify(path)} is too long for a ustar archive (${bytes} bytes)`, path);
}

function header(entry: TarEntry): Buffer {
  if (entry.name === '' || entry.name.startsWith('/') || entry.name.split('/').includes('..') || entry.name.includes('\0')) {
    throw new TarError(`invalid archive path ${JSON.stringify(entry.name)}`, entry.name);
  }
  const { prefix, name } = splitName(entry.name);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(entry.data.length, 12), 124, 'latin1');
  h.write(octal(0, 12), 136, 'latin1');
  h.fill(0x20, 148, 156);
  h.write('0', 156, 'latin1');
  h.write('ustar\u000000', 257, 'latin1');
  h.write(prefix, 345, 155, 'utf8');
  h.write(octal(checksum(h), 7) + ' ', 148, 'latin1');
  return h;
}

function checksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum;
}

/** The archive's bytes: each entry's header, data and zero padding, then two zero blocks. */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  const names = new Set<string>();
  for (const e of entries) {
    if (names.has(e.name)) throw new TarError(`duplicate archive path ${e.name}`, e.name);
    names.add(e.name);
    parts.push(header(e), Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength));
    const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

function field(h: Buffer, start: number, len: number): string {
  const f = h.subarray(start, start + len);
  const nul = f.indexOf(0);
  return f.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

/**
 * Reads an archive writeTar wrote. Every header is checked to be exactly what writeTar gives
 * for its name and size (so checksum, mode, owner, mtime and type are all fixed), the padding
 * and the end blocks to be zero, and nothing to follow them.
 */
export function readTar(bytes: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  for (;;) {
    if (off + BLOCK > bytes.length) throw new TarError('the archive ends in the middle of a header (truncated)');
    const h = bytes.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    const name = (field(h, 345, 155) ? field(h, 345, 155) + '/' : '') + field(h, 0, 100);
    const sizeText = field(h, 124, 12);
    if (!/^[0-7]{11}$/.test(sizeText)) throw new TarError(`the header of ${JSON.stringify(name)} has a malformed size`, name);
    const size = parseInt(sizeText, 8);
    let expected: Buffer;
    try {
      expected = header({ name, data: new Uint8Array(size) });
    } catch {
      throw new TarError(`the archive holds an entry with an invalid path ${JSON.stringify(name)}`, name);
    }
    if (!expected.equals(h)) throw new TarError(`the header of ${JSON.stringify(name)} was changed (it is not what dtrust writes)`, name);
    off += BLOCK;
    if (off + size > bytes.length) throw new TarError(`${name} is truncated`, name);
    out.push({ name, data: bytes.subarray(off, off + size) });
    off += size;
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (off + pad > bytes.length || !bytes.subarray(off, off + pad).every((b) => b === 0)) throw new TarError(`the padding after ${name} was changed`, name);
    off += pad;
  }
  if (bytes.length !== off + 2 * BLOCK || !bytes.subarray(off).every((b) => b === 0)) {
    throw new TarError('the end of the archive was changed (its closing blocks are not two zero blocks, or data follows them)');
  }
  const seen = new Set<string>();
  for (const e of out) {
    if (seen.has(e.name)) throw new TarError(`the archive holds ${e.name} twice`, e.name);
    seen.add(e.name);
  }
  return out;
}
