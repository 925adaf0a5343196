// A temp dir on tmpfs (/dev/shm) when there is one: creating 100k small files on the VM's ext4
// disk takes 8–50 s and varies wildly, on tmpfs about a second. Removed by removeFastTempDir(),
// or at process exit at the latest (DTRUST_KEEP_TMP=1 keeps it, like the rig's temp dirs).
import { accessSync, constants, rmSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<string>();
let hooked = false;

function keep(): boolean {
  const v = process.env['DTRUST_KEEP_TMP'];
  return v !== undefined && v !== '' && v !== '0';
}

function fastBase(): string {
  try {
    accessSync('/dev/shm', constants.W_OK | constants.X_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

export async function makeFastTempDir(prefix: string): Promise<string> {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      if (keep()) return;
      for (const d of live) rmSync(d, { recursive: true, force: true });
    });
  }
  const dir = await mkdtemp(join(fastBase(), prefix));
  await chmod(dir, 0o700);
  live.add(dir);
  return dir;
}

export async function removeFastTempDir(dir: string): Promise<void> {
  if (keep()) return;
  live.delete(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}
