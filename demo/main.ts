// The Quick start's main job: a full signing flow with the dtrust CLI against a local
// notary-server that this script starts itself (memory storage, free 127.0.0.1 port), checked
// with the real notary client. Keys are protected by passphrases from the environment, as in CI.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startNotaryServer } from '../test/rig/server.js';
import { DtrustClient, NotaryClient, type RunResult } from '../test/rig/notary.js';
import { makeTempDir } from '../test/rig/tmp.js';

const gun = 'example.com/quickstart';
const server = await startNotaryServer();
let failed = false;

function show(cmd: string, r: RunResult): void {
  console.log(`$ ${cmd}`);
  if (r.stdout.trim() !== '') console.log(r.stdout.trimEnd());
  if (r.code !== 0) {
    console.log(r.stderr.trimEnd());
    failed = true;
  }
}

try {
  console.log(`notary-server running at ${server.url} (pid ${server.pid})\n`);
  const work = await makeTempDir('dtrust-demo-');
  const dtrust = await DtrustClient.create({ serverUrl: server.url });
  const notary = await NotaryClient.create({ serverUrl: server.url });
  const app = join(work, 'app-v1.tar');
  await writeFile(app, 'pretend this is a release artifact\n');

  const steps: [string, () => Promise<RunResult>][] = [
    [`dtrust init ${gun} --publish`, () => dtrust.run(['init', gun, '--publish'])],
    [`dtrust add ${gun} v1.0 app-v1.tar --publish`, () => dtrust.run(['add', gun, 'v1.0', app, '--publish'])],
    [`dtrust list ${gun}`, () => dtrust.run(['list', gun])],
    [`dtrust key list`, () => dtrust.run(['key', 'list'])],
    [`notary list ${gun}    # the real notary client, its own trust directory`, () => notary.run(['list', gun])],
    [`notary lookup ${gun} v1.0`, () => notary.run(['lookup', gun, 'v1.0'])],
    [`dtrust verify ${gun} v1.0 -i app-v1.tar -q && echo verified`, async () => {
      const r = await dtrust.run(['verify', gun, 'v1.0', '-i', app, '-q']);
      return r.code === 0 ? { ...r, stdout: 'verified\n' } : r;
    }],
  ];
  for (const [cmd, step] of steps) {
    show(cmd, await step());
    if (failed) break;
  }
} finally {
  await server.stop();
}
if (failed) process.exitCode = 1;
else console.log('\nThe whole flow ran against a real notary-server; the real notary client verified what dtrust signed.');
