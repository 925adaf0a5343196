// The Quick start's main job: a full signing flow with the dtrust CLI against a local
// notary-server that this script starts itself (memory storage, free 127.0.0.1 port), checked
// with the real notary client. Keys are protected by passphrases from the environment, as in CI.
// Every command is printed exactly as a user would type it in this checkout to repeat it (the
// server, the trust directory, the passphrase variables), and the demo ends with the next step.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startNotaryServer } from '../test/rig/server.js';
import { DEFAULT_PASSPHRASE, DtrustClient, NotaryClient, PASSPHRASE_ENV, type RunResult } from '../test/rig/notary.js';
import { makeTempDir } from '../test/rig/tmp.js';
import { shellLine } from '../src/shellwords.js';

const gun = 'example.com/quickstart';
console.log('Starting a notary-server for this demo (memory storage, removed at the end)...');
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
  console.log(`notary-server running at ${server.url} (pid ${server.pid})`);
  const work = await makeTempDir('dtrust-demo-');
  const dtrust = await DtrustClient.create({ serverUrl: server.url });
  const notary = await NotaryClient.create({ serverUrl: server.url });
  const app = join(work, 'app-v1.tar');
  await writeFile(app, 'pretend this is a release artifact\n');
  console.log(
    `Temporary files (removed when the demo ends): the artifact in ${work}, dtrust's trust directory ${dtrust.trustDir}, ` +
      `notary's ${notary.trustDir}.\n` +
      `The commands are shown as you would type them in this checkout (bin/dtrust; plain dtrust once installed), ` +
      `with the passphrases the keys get:\n`,
  );
  for (const v of PASSPHRASE_ENV) console.log(`$ export ${v}=${DEFAULT_PASSPHRASE}`);

  // Each command as typed: the program, the global flags the clients add, then the arguments.
  const typed = (program: string, client: DtrustClient | NotaryClient, args: string[]): string => shellLine([program, '-s', client.serverUrl, '-d', client.trustDir, ...args]);
  const d = (args: string[]): [string, () => Promise<RunResult>] => [typed('bin/dtrust', dtrust, args), () => dtrust.run(args)];
  const n = (args: string[]): [string, () => Promise<RunResult>] => [typed('notary', notary, args), () => notary.run(args)];

  const steps: [string, () => Promise<RunResult>][] = [
    d(['init', gun, '--publish']),
    d(['add', gun, 'v1.0', app, '--publish']),
    d(['list', gun]),
    d(['key', 'list']),
    n(['list', gun]),
    n(['lookup', gun, 'v1.0']),
    [
      `${typed('bin/dtrust', dtrust, ['verify', gun, 'v1.0', '-i', app, '-q'])} && echo verified`,
      async () => {
        const r = await dtrust.run(['verify', gun, 'v1.0', '-i', app, '-q']);
        return r.code === 0 ? { ...r, stdout: 'verified\n' } : r;
      },
    ],
  ];
  for (const [cmd, step] of steps) {
    show(cmd, await step());
    if (failed) break;
  }
} finally {
  await server.stop();
}
if (failed) process.exitCode = 1;
else {
  console.log(
    [
      '',
      'The whole flow ran against a real notary-server; the real notary client verified what dtrust signed.',
      'The server is stopped and the temporary files are removed as the demo exits.',
      '',
      'Next:',
      '  install dtrust            see "Install" in README.md (npm pack, then npm install -g ./dtrust-0.1.0.tgz)',
      '  use it where notary was   ln -s "$(command -v dtrust)" ~/bin/notary   (notary\'s defaults: ~/.notary)',
      '  your own repositories     docs/workflows.md (server, keys, delegations, CI)',
      '  shell completion          source <(dtrust completion bash)',
    ].join('\n'),
  );
}
