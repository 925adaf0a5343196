// Child process for the lock tests: takes the GUN lock, prints "locked", then holds it until
// stdin closes (or forever with "hold", until killed).
// argv: <trustDir> <gun> [timeoutMs]
import { withGunLock } from '../../src/storage/lock.js';

const [trustDir, gun, timeout] = process.argv.slice(2) as [string, string, string | undefined];
try {
  await withGunLock(
    trustDir,
    gun,
    async () => {
      process.stdout.write(`locked ${process.pid}\n`);
      await new Promise<void>((resolve) => {
        process.stdin.on('end', () => resolve());
        process.stdin.resume();
      });
    },
    { timeoutMs: timeout === undefined ? 10_000 : Number(timeout), onNotice: (m) => process.stderr.write(m + '\n') },
  );
  process.stdout.write('released\n');
} catch (e) {
  process.stdout.write(`error ${(e as { code?: string }).code} ${(e as Error).message}\n`);
  process.exitCode = 3;
}
