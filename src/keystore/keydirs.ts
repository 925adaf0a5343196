// What protects the private keys (SEC-F2): private/ (created 0700) and the key files (written
// 0600). The trust dir and private/ are checked when the store opens:
//  - unsafe: writable by other users (a group or other write bit without the sticky bit: they
//    could put their own directory or file where a key is written), or owned by another user.
//    Keys are neither written nor used for signing there: a key planted by another user (a root
//    key that init would pick up) would sign for them. Listing and export still work.
//  - exposed: others can only read or traverse it (a trust dir made with mkdir, 0755). One
//    warning; the command works, as notary's does.
// Directories above the trust dir are not checked (/ and /tmp belong to root, /tmp is sticky).

import { statSync, type Stats } from 'node:fs';
import { errnoCode } from '../fs/errno.js';
import { ioError } from './atomic.js';
import { KeyStoreError } from './errors.js';

export interface KeyDirVerdict {
  /** Why keys must not be written here, or undefined when writing is safe. */
  unsafe: string | undefined;
  /** The one warning line to show, or undefined. */
  warning: string | undefined;
}

const GROUP_OTHER_WRITE = 0o022;
const GROUP_OTHER_ANY = 0o077;
const STICKY = 0o1000;

function modeText(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

/** Checks the trust dir and private/ (either may not exist yet). */
export function checkKeyDirs(trustDir: string, privateDir: string): KeyDirVerdict {
  const uid = process.getuid?.();
  const unsafe: string[] = [];
  const exposed: string[] = [];
  let privateExposed = false;
  for (const dir of [trustDir, privateDir]) {
    let st: Stats;
    try {
      st = statSync(dir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') continue;
      throw ioError('inspect', dir, e);
    }
    if (!st.isDirectory()) throw new KeyStoreError('IO_ERROR', `${dir} is not a directory`, { path: dir });
    if (uid !== undefined && st.uid !== uid) unsafe.push(`${dir} is owned by user ${st.uid}, not by you (${uid})`);
    else if ((st.mode & GROUP_OTHER_WRITE) !== 0 && (st.mode & STICKY) === 0) unsafe.push(`${dir} is writable by other users (mode ${modeText(st)})`);
    else if ((st.mode & GROUP_OTHER_ANY) !== 0) {
      exposed.push(`${dir} (mode ${modeText(st)})`);
      if (dir === privateDir) privateExposed = true;
    }
  }
  if (unsafe.length > 0) {
    const text = unsafe.join('; ');
    return { unsafe: text, warning: `${text}: dtrust will not write or use private keys there; run chmod 700 on it (and make sure you own it)` };
  }
  if (exposed.length > 0) {
    const guard = privateExposed ? 'key files are mode 0600' : `key files are mode 0600, in ${privateDir} (mode 0700)`;
    return { unsafe: undefined, warning: `other users can access ${exposed.join(' and ')}; the private keys stay protected: ${guard}` };
  }
  return { unsafe: undefined, warning: undefined };
}
