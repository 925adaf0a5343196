// Makes fixtures/notary-made/ with the REAL notary 0.7 client and notary-server (not a test):
//   npm run build && node build/test/property/make-corpus.js
// The files are committed; the property tests mutate them (test/property/corpus.ts). Rerunning
// this replaces them with new keys and signatures.
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keyFiles } from '../cli/delegation-helpers.js';
import { DEFAULT_PASSPHRASE, NotaryClient } from '../rig/notary.js';
import { startNotaryServer } from '../rig/server.js';
import { makeTempDir } from '../rig/tmp.js';
import { FIXTURES } from '../helpers.js';

const GUN = 'example.com/fuzz';
const OUT = join(FIXTURES, 'notary-made');

const TARGET_NAMES = [
  'latest',
  'v1.0.0',
  '<html>&amp;',
  'a b',
  'ünïcödé/ñame',
  '\u{1f600}',
  'quote"back\\slash',
  'dir/sub/file.txt',
  ...Array.from({ length: 24 }, (_, i) => `tag-${String(i).padStart(2, '0')}`),
];

async function main(): Promise<void> {
  const server = await startNotaryServer();
  try {
    const work = await makeTempDir('dtrust-corpus-');
    const nt = await NotaryClient.create({ serverUrl: server.url });
    const ok = (args: string[]): Promise<unknown> => nt.runOk(args);
    const file = async (name: string, content: string): Promise<string> => {
      const p = join(work, name);
      await writeFile(p, content);
      return p;
    };

    await ok(['init', GUN]);
    let i = 0;
    for (const name of TARGET_NAMES) await ok(['add', GUN, name, await file(`t${i++}`, `content of ${name}\n`)]);
    await ok(['add', GUN, 'with-custom', await file('custom-target', 'x'), '--custom', await file('custom.json', '{"a":[1,"b",null],"z":{"k":true}}')]);
    const releases = await keyFiles(work, 'releases');
    const qa = await keyFiles(work, 'qa');
    await ok(['delegation', 'add', GUN, 'targets/releases', releases.cert, '--all-paths']);
    await ok(['delegation', 'add', GUN, 'targets/qa', qa.cert, '--paths', 'qa/,qa2/']);
    await ok(['publish', GUN]);
    await ok(['key', 'import', releases.key, '--role', 'targets/releases']);
    await ok(['key', 'import', qa.key, '--role', 'targets/qa']);
    await ok(['delegation', 'add', GUN, 'targets/qa/nightly', qa.cert, '--paths', 'qa/nightly/']);
    await ok(['add', GUN, 'release-1', await file('r1', 'release one'), '--roles', 'targets/releases']);
    await ok(['add', GUN, 'qa/build-7', await file('q7', 'qa build'), '--roles', 'targets/qa']);
    await ok(['publish', GUN]);
    await ok(['add', GUN, 'qa/nightly/n1', await file('n1', 'nightly'), '--roles', 'targets/qa/nightly']);
    await ok(['publish', GUN]);
    // A server-managed snapshot (ed25519, signed by notary-server), new targets and root keys.
    await ok(['key', 'rotate', GUN, 'snapshot', '-r']);
    await ok(['key', 'rotate', GUN, 'targets']);
    await ok(['key', 'rotate', GUN, 'root']);
    await ok(['add', GUN, 'after-rotation', await file('ar', 'after rotation'), '-p']);
    // Staged, unpublished changes: one change file each.
    await ok(['add', GUN, 'staged <&>', await file('s1', 'staged')]);
    await ok(['add', GUN, 'staged-custom', await file('s2', 'staged'), '--custom', await file('c2.json', '{"note":"\\u2028"}')]);
    await ok(['remove', GUN, 'latest']);
    await ok(['add', GUN, 'qa/staged', await file('s3', 'staged qa'), '--roles', 'targets/qa']);
    await ok(['delegation', 'add', GUN, 'targets/staged', releases.cert, '--paths', 'staged/,other/']);
    await ok(['delegation', 'remove', GUN, 'targets/qa', '--paths', 'qa2/']);
    await ok(['delegation', 'remove', GUN, 'targets/qa/nightly', '-y']);
    await ok(['witness', GUN, 'targets/releases']);
    // A key pair as `key generate -o` writes it (notary generates ECDSA keys only).
    await ok(['key', 'generate', 'ecdsa', '--role', 'targets/gen', '-o', join(work, 'gen-ecdsa')]);

    await rm(OUT, { recursive: true, force: true });
    const gunDir = join(nt.trustDir, 'tuf', GUN);
    await mkdir(OUT, { recursive: true });
    await cp(join(gunDir, 'metadata'), join(OUT, 'metadata'), { recursive: true });
    await cp(join(gunDir, 'changelist'), join(OUT, 'changelist'), { recursive: true });
    await cp(join(nt.trustDir, 'private'), join(OUT, 'private'), { recursive: true });
    await mkdir(join(OUT, 'keys'));
    for (const f of await readdir(work)) if (f.startsWith('gen-')) await cp(join(work, f), join(OUT, 'keys', f));
    await cp(releases.cert, join(OUT, 'keys', 'releases-cert.pem'));
    await writeFile(join(OUT, 'PASSPHRASE'), `${DEFAULT_PASSPHRASE}\n`);
    console.log(`wrote ${OUT}`);
  } finally {
    await server.stop();
  }
}

await main();
