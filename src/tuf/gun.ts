// The rules a GUN must meet before it names a directory (storage) or a key file's `gun` header
// (keystore): one rule set, so that every GUN a repository can have can also have its keys.

export const MAX_GUN_LENGTH = 255;
/** Most file systems limit one path component to 255 bytes. */
const MAX_SEGMENT_BYTES = 255;

// C0 controls, DEL and C1 controls.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The rule a GUN breaks, or undefined when it is valid. */
export function gunProblem(gun: string): string | undefined {
  if (typeof gun !== 'string') return 'it is not a string';
  if (gun === '') return 'it is empty';
  const ctl = CONTROL.exec(gun);
  if (ctl) return `it contains the control character U+${ctl[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  if (LONE_SURROGATE.test(gun)) return 'it is not valid Unicode (lone surrogate)';
  if (gun.includes('\\')) return 'it contains a backslash';
  if (gun.startsWith('/')) return 'it starts with "/" (a GUN is a relative name)';
  const chars = [...gun].length;
  if (chars > MAX_GUN_LENGTH) return `it is ${chars} characters long (at most ${MAX_GUN_LENGTH})`;
  for (const seg of gun.split('/')) {
    if (seg === '') return gun.endsWith('/') ? 'it ends with "/"' : 'it has an empty part ("//")';
    if (seg === '.' || seg === '..') return `it has a "${seg}" part`;
    if (/^\s+$/u.test(seg)) return 'it has a part made only of whitespace';
    if (Buffer.byteLength(seg, 'utf8') > MAX_SEGMENT_BYTES) return `one of its parts is longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}
