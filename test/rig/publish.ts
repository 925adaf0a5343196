// Creates repositories on the test server with the REAL notary client.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NotaryClient } from './notary.js';
import { makeTempDir, removeTempDir } from './tmp.js';

export interface TargetSpec {
  name: string;
  content: Buffer | string;
}

/**
 * `notary init <gun>`, then `notary add <gun> <name> <file>` for each target, then
 * `notary publish <gun>`. Throws (with stdout/stderr) on any non-zero exit.
 */
export async function notaryPublishRepo(client: NotaryClient, gun: string, targets: readonly TargetSpec[]): Promise<void> {
  await client.runOk(['init', gun]);
  const dir = await makeTempDir('dtrust-targets-');
  try {
    let i = 0;
    for (const t of targets) {
      const file = join(dir, `target-${i++}`);
      await writeFile(file, t.content);
      await client.runOk(['add', gun, t.name, file]);
    }
  } finally {
    await removeTempDir(dir);
  }
  await client.runOk(['publish', gun]);
}
