// PEM as Go's encoding/pem reads and writes it: optional `Name: value` headers, 64-column
// base64, `\n` line ends. Node's parsers refuse PEM with headers, so dtrust splits blocks itself.

export interface PemBlock {
  type: string;
  headers: Map<string, string>;
  bytes: Buffer;
}

const BEGIN = /-----BEGIN ([^-\r\n]*)-----\r?\n/g;

/** Every PEM block in the text, in order. Text between blocks is ignored, as Go does. */
export function decodePemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  BEGIN.lastIndex = 0;
  for (;;) {
    const m = BEGIN.exec(text);
    if (!m) break;
    const type = m[1]!;
    const endMarker = `-----END ${type}-----`;
    const endAt = text.indexOf(endMarker, BEGIN.lastIndex);
    if (endAt < 0) break;
    const body = text.slice(BEGIN.lastIndex, endAt);
    BEGIN.lastIndex = endAt + endMarker.length;
    const lines = body.split(/\r?\n/);
    const headers = new Map<string, string>();
    let i = 0;
    if (lines.length > 0 && lines[0]!.includes(':')) {
      for (; i < lines.length; i++) {
        const line = lines[i]!;
        if (line.trim() === '') {
          i++;
          break;
        }
        const c = line.indexOf(':');
        if (c < 0) break;
        headers.set(line.slice(0, c).trim(), line.slice(c + 1).trim());
      }
    }
    const b64 = lines.slice(i).join('').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) continue;
    out.push({ type, headers, bytes: Buffer.from(b64, 'base64') });
  }
  return out;
}

/** Go's pem.Encode: Proc-Type first, other headers sorted, 64-column lines, final newline. */
export function encodePem(block: { type: string; headers?: Map<string, string>; bytes: Uint8Array }): string {
  let s = `-----BEGIN ${block.type}-----\n`;
  const headers = block.headers ?? new Map<string, string>();
  if (headers.size > 0) {
    const names = [...headers.keys()].filter((k) => k !== 'Proc-Type').sort();
    if (headers.has('Proc-Type')) names.unshift('Proc-Type');
    for (const k of names) s += `${k}: ${headers.get(k)}\n`;
    s += '\n';
  }
  const b64 = Buffer.from(block.bytes).toString('base64');
  for (let i = 0; i < b64.length; i += 64) s += b64.slice(i, i + 64) + '\n';
  return s + `-----END ${block.type}-----\n`;
}
