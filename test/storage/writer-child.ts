// Child process for the crash tests: rewrites one file atomically in a loop until killed.
// argv: <file> <base>. Prints "ready" after the first complete write.
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../../src/storage/atomic.js';

const [file, base] = process.argv.slice(2) as [string, string];
let seq = 0;
for (;;) {
  seq++;
  // Sizes from a few bytes to ~1 MiB so that kills land in every phase of the write.
  const pad = 'x'.repeat(Math.floor(Math.random() ** 3 * 1_000_000));
  const body = JSON.stringify({ seq, pad });
  const sum = createHash('sha256').update(body).digest('hex');
  await writeFileAtomic(file, JSON.stringify({ body, sum }), { base });
  if (seq === 1) process.stdout.write('ready\n');
}
