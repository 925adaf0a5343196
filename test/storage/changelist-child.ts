// Child process for the concurrency test: stages N changes in one GUN.
// argv: <trustDir> <gun> <tag> <n>. Prints the file names, one per line.
import { Changelist } from '../../src/storage/changelist.js';

const [trustDir, gun, tag, n] = process.argv.slice(2) as [string, string, string, string];
const cl = new Changelist(trustDir, gun);
const names: string[] = [];
for (let i = 0; i < Number(n); i++) {
  names.push(await cl.add({ action: 'create', scope: 'targets', type: 'target', path: `${tag}-${i}`, data: Buffer.from(`{"i":${i}}`) }));
}
process.stdout.write(names.join('\n') + '\n');
