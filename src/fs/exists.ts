// Whether something is at a path (any kind of file; a broken symlink counts as nothing).

import { stat } from 'node:fs/promises';

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
