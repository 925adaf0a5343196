// One UTF-8 sequence at a time, as Go's utf8.DecodeRune judges it.

/** The code point of the valid UTF-8 sequence at `p`, or -1 (invalid: one bad byte). */
export function codePointAt(b: Uint8Array, p: number): number {
  const c = b[p]!;
  let need: number;
  let cp: number;
  let min: number;
  if (c >= 0xc2 && c <= 0xdf) {
    need = 1;
    cp = c & 0x1f;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 2;
    cp = c & 0x0f;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 3;
    cp = c & 0x07;
    min = 0x10000;
  } else return -1;
  for (let i = 1; i <= need; i++) {
    const d = b[p + i];
    if (d === undefined || (d & 0xc0) !== 0x80) return -1;
    cp = (cp << 6) | (d & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  return cp;
}

/** Bytes of the UTF-8 encoding of a (non-ASCII) code point. */
export function utf8Width(cp: number): number {
  return cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}
