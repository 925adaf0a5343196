// Temporary directories for tests.
//
// Every directory made here is 0700 under os.tmpdir() and is tracked: whatever is still present
// when the process exits is removed synchronously (set DTRUST_KEEP_TMP=1 to keep them for a
// post-mortem). tempDir() additionally removes its directory early through node:test's after().
import { after } from 'node:test';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<string>();
let exitHookInstalled = false;

function keepTmp(): boolean {
  const v = process.env['DTRUST_KEEP_TMP'];
  return v !== undefined && v !== '' && v !== '0';
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    if (keepTmp()) return;
    for (const dir of live) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort at exit
      }
    }
    live.clear();
  });
}

/** Creates a fresh 0700 directory under os.tmpdir(). It is removed at process exit at the latest. */
export async function makeTempDir(prefix = 'dtrust-'): Promise<string> {
  installExitHook();
  const safe = prefix.replace(/[^A-Za-z0-9._-]/g, '_');
  const dir = await mkdtemp(join(tmpdir(), safe));
  await chmod(dir, 0o700);
  live.add(dir);
  return dir;
}

/** Removes a directory made by makeTempDir() now (no-op when DTRUST_KEEP_TMP is set). */
export async function removeTempDir(dir: string): Promise<void> {
  if (keepTmp()) return;
  live.delete(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * makeTempDir() plus removal through node:test's after() of the current scope.
 *
 * Call it at file scope, inside describe(), or inside a test body. Do NOT call it inside a
 * before()/beforeEach() hook: node runs an after() registered from within a hook as soon as that
 * hook finishes, which would delete the directory immediately. In hooks use makeTempDir() (the
 * directory is then removed at process exit).
 */
export async function tempDir(prefix = 'dtrust-'): Promise<string> {
  const dir = await makeTempDir(prefix);
  after(() => removeTempDir(dir));
  return dir;
}
