// fs/tar.ts: the same entries give the same bytes, the reader gives them back, and every byte
// outside the files' contents (headers, padding, end blocks) is checked: a flip anywhere there
// is refused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readTar, TarError, writeTar } from '../../src/fs/tar.js';

const entries = [
  { name: 'manifest.json', data: Buffer.from('{"a":1}\n') },
  { name: `repositories/${'long-segment/'.repeat(12)}targets/releases.json`, data: Buffer.alloc(700, 0x41) },
  { name: 'empty', data: Buffer.alloc(0) },
];

describe('tar', () => {
  test('deterministic, and read back as written (long paths through the ustar prefix)', () => {
    const a = writeTar(entries);
    assert.ok(a.equals(writeTar(entries.map((e) => ({ ...e, data: Buffer.from(e.data) })))));
    assert.equal(a.length % 512, 0);
    const back = readTar(a);
    assert.deepEqual(back.map((e) => e.name), entries.map((e) => e.name));
    back.forEach((e, i) => assert.ok(Buffer.from(e.data).equals(entries[i]!.data)));
  });

  test('every byte flip outside the contents is refused; flips inside change only that content', () => {
    const a = writeTar(entries);
    const contents: [number, number][] = [];
    for (let off = 0, i = 0; i < entries.length; i++) {
      const len = entries[i]!.data.length;
      contents.push([off + 512, off + 512 + len]);
      off += 512 + Math.ceil(len / 512) * 512;
    }
    for (let pos = 0; pos < a.length; pos++) {
      const copy = Buffer.from(a);
      copy[pos] = copy[pos]! ^ 0x20;
      const inContent = contents.some(([s, e]) => pos >= s && pos < e);
      if (inContent) assert.doesNotThrow(() => readTar(copy), `byte ${pos}`);
      else assert.throws(() => readTar(copy), TarError, `byte ${pos}`);
    }
    assert.throws(() => readTar(Buffer.concat([a, Buffer.alloc(512)])), /end of the archive/);
    assert.throws(() => readTar(a.subarray(0, a.length - 512)), /end of the archive|truncated/);
  });

  test('refuses what it would not write: duplicates, absolute or parent paths, names too long', () => {
    assert.throws(() => writeTar([entries[0]!, entries[0]!]), /duplicate/);
    assert.throws(() => writeTar([{ name: '/etc/passwd', data: Buffer.alloc(1) }]), /invalid archive path/);
    assert.throws(() => writeTar([{ name: 'a/../b', data: Buffer.alloc(1) }]), /invalid archive path/);
    assert.throws(() => writeTar([{ name: 'x'.repeat(300), data: Buffer.alloc(1) }]), /too long/);
  });
});
