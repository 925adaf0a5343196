// Trust archives against the REAL notary-server and the REAL registry: several repositories (one
// with a delegation and a rotated root, one docker image), archived; the server stopped; then
// archive verify, list/lookup/verify/inspect --archive and verify-image --archive give the
// answers the live server gave. Every single-byte change tried is refused naming the file; a
// wrong pinned root is refused; a failed repository does not lose the others, and a second run
// fetches only what is missing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DtrustClient, describeFailure, type RunResult } from '../rig/notary.js';
import { buildOciImage, skopeoPush, useRegistry } from '../rig/registry.js';
import { startNotaryServer, type NotaryServer } from '../rig/server.js';
import { makeTempDir } from '../rig/tmp.js';
import { FAST_KDF, keyFiles } from './delegation-helpers.js';

const registry = useRegistry();

let server: NotaryServer;
let dt: DtrustClient;
let work: string;
const A = 'example.com/archive/plain';
const B = 'example.com/archive/delegated';
let image: string;
let imageDigest: string;

async function ok(args: readonly string[], input?: string): Promise<RunResult> {
  const r = await dt.run(args, input !== undefined ? { input } : {});
  assert.equal(r.code, 0, describeFailure('dtrust', args, r));
  return r;
}

async function fails(args: readonly string[], code = 1): Promise<RunResult> {
  const r = await dt.run(args);
  assert.equal(r.code, code, describeFailure('dtrust', args, r));
  return r;
}

/** The live answers, recorded before the server is stopped. */
const live = new Map<string, string>();
const liveQueries: [string, string[], string?][] = [];

describe('trust archives', { concurrency: false }, () => {
  before(async () => {
    server = await startNotaryServer();
    work = await makeTempDir('dtrust-archive-');
    const home = join(work, 'home');
    await mkdir(home);
    dt = await DtrustClient.create({ serverUrl: server.url, home, trustDir: join(work, 'trust'), env: { ...FAST_KDF, DOCKER_CONFIG: join(work, 'docker'), DOCKER_CONTENT_TRUST_SERVER: server.url } });
    await writeFile(join(work, 'a.txt'), 'plain content\n');
    await writeFile(join(work, 'b.txt'), 'released content\n');

    await ok(['init', A, '-p']);
    await ok(['add', A, 'one', join(work, 'a.txt'), '-p']);
    await ok(['add', A, 'two', join(work, 'b.txt'), '-p']);

    // B: a delegation that signs a target, and a rotated root (two root versions and more).
    await ok(['init', B, '-p']);
    const keys = await keyFiles(work, 'releaser');
    await ok(['delegation', 'add', B, 'targets/releases', keys.cert, '--all-paths', '-p']);
    await ok(['key', 'import', keys.key, '-r', 'targets/releases']);
    await ok(['add', B, 'rel', join(work, 'b.txt'), '--roles', 'targets/releases', '-p']);
    await ok(['key', 'rotate', B, 'root', '-y']);
    await ok(['add', B, 'top', join(work, 'a.txt'), '-p']);

    // A docker image signed in the registry.
    const reg = registry();
    image = `${reg.host}/archive/img`;
    const img = await buildOciImage('v1', 'archived image');
    await skopeoPush(img, reg, 'archive/img', 'v1');
    imageDigest = img.digest;
    await ok(['sign', `${image}:v1`], undefined);

    liveQueries.push(['list A', ['list', A]], ['list B', ['list', B]], ['lookup B rel', ['lookup', B, 'rel']], ['lookup B top json', ['lookup', '--json', B, 'top']], ['list B json', ['list', '--json', B]]);
    liveQueries.push(['inspect', ['inspect', `${image}:v1`]]);
    for (const [name, args] of liveQueries) live.set(name, (await ok(args)).stdout);
    live.set('verify-image', (await ok(['verify-image', `${image}:v1`])).stdout);
  });

  after(async () => {
    await server?.stop();
  });

  test('a repository that fails is reported, the others are archived, and a second run fetches only what is missing', async () => {
    const out = join(work, 'partial.tar');
    const first = await fails(['archive', A, 'example.com/archive/missing', '-o', out]);
    assert.match(first.stderr, /example\.com\/archive\/missing: .*does not have trust data/);
    assert.match(first.stderr, /1 repository could not be archived: example\.com\/archive\/missing/);
    assert.match(first.stdout, /^Archived 1 repository \(2 targets\)/m);
    assert.ok(existsSync(`${out}.parts`));
    const again = await fails(['archive', A, 'example.com/archive/missing', '-o', out]);
    assert.match(again.stdout, /1 of them from an earlier run/);
    // Deterministic: the same captured repositories give the same manifest entries and files.
    const done = await ok(['archive', A, '-o', out]);
    assert.match(done.stdout, /1 of them from an earlier run/);
    assert.ok(!existsSync(`${out}.parts`));
    // A root trust_pinning refuses is not archived (as a read refuses it).
    const cfg = join(work, 'pinned.json');
    await writeFile(cfg, JSON.stringify({ trust_pinning: { certs: { [A]: ['f'.repeat(64)] } } }));
    const pinned = await fails(['-c', cfg, 'archive', A, '-o', join(work, 'pinned.tar')]);
    assert.match(pinned.stderr, /is not the pinned root/);
  });

  test('archive, stop the server, and every read gives the live answer as of capture time', async () => {
    const out = join(work, 'trust.tar');
    const list = join(work, 'repos.txt');
    await writeFile(list, `# repositories\n${A}\n${B}\n\n${image}:v1\n`);
    const r = await ok(['archive', '--from', list, '-o', out, '-j', '2']);
    assert.match(r.stdout, /^Archived 3 repositories/m);
    await server.stop();

    const v = await ok(['archive', 'verify', out]);
    assert.match(v.stdout, /Verified 3 repositories as of their capture time\./);
    assert.match(v.stdout, new RegExp(`^${B.replace(/\./g, '\\.')}: 2 targets, root version [2-9]`, 'm'));
    const j = JSON.parse((await ok(['archive', 'verify', '--json', out])).stdout) as { repositories: { gun: string; rootVersion: number; roles: string[] }[] };
    const b = j.repositories.find((x) => x.gun === B)!;
    assert.ok(b.rootVersion >= 2, JSON.stringify(b));
    assert.deepEqual(b.roles, ['targets', 'targets/releases']);

    for (const [name, args] of liveQueries) {
      const got = await ok([...args.slice(0, 1), '--archive', out, ...args.slice(1)]);
      assert.equal(got.stdout, live.get(name), name);
      assert.match(got.stderr, /as of its capture time/);
    }
    const ver = await ok(['verify', '--archive', out, B, 'rel'], 'released content\n');
    assert.equal(ver.stdout, 'released content\n');
    const bad = await fails(['verify', '--archive', out, B, 'rel']);
    assert.match(bad.stderr, /did not match/);

    const gate = await ok(['verify-image', '--archive', out, `${image}:v1`]);
    assert.equal(gate.stdout, live.get('verify-image'));
    assert.equal(gate.stdout, `${image}@${imageDigest}\n`);
    const gj = JSON.parse((await ok(['verify-image', '--json', '--archive', out, `${image}:v1`])).stdout) as Record<string, unknown>;
    assert.equal(gj['source'], 'archive');
    assert.match(String(gj['capturedAt']), /^\d{4}-\d{2}-\d{2}T/);

    // A wrong pinned root: refused, for archive verify and for the gate.
    const wrong = await fails(['archive', 'verify', '--root-key', 'd'.repeat(64), out]);
    assert.match(wrong.stderr, /is not the pinned root/);
    const wrongGate = await fails(['verify-image', '--archive', out, '--root-key', 'd'.repeat(64), `${image}:v1`], 3);
    assert.equal(wrongGate.stdout, '');
    const rootIds = (JSON.parse((await ok(['archive', 'verify', '--json', out])).stdout) as { repositories: { gun: string; rootKeyIds: string[] }[] }).repositories.find((x) => x.gun === image)!.rootKeyIds;
    await ok(['verify-image', '--archive', out, '--root-key', rootIds[0]!, `${image}:v1`]);
  });

  test('one changed byte anywhere is refused, naming the file', async () => {
    const out = join(work, 'trust.tar');
    const bytes = await readFile(out);
    const at = (s: string, from = 0): number => {
      const i = bytes.indexOf(s, from);
      assert.ok(i >= 0, s);
      return i;
    };
    const bTimestamp = at(`repositories/${B}/timestamp.json`);
    // The first byte of padding after the first file whose size is not a multiple of 512.
    let padding = -1;
    for (let h = 0; padding < 0 && h < bytes.length - 1024; ) {
      const size = parseInt(bytes.toString('latin1', h + 124, h + 135), 8);
      if (size % 512 !== 0) padding = h + 512 + size;
      h += 512 + Math.ceil(size / 512) * 512;
    }
    assert.ok(padding > 0);
    const positions: [string, number, RegExp][] = [
      ['a digit in manifest.json', at('"capturedAt"', 512) + 16, /manifest\.json/],
      ['a target length in manifest.json', at('"length"', 512) + 10, /manifest\.json/],
      ['the checksum line', at('  manifest.json\n') - 3, /manifest\.json/],
      ['a header name', bTimestamp + 3, /repositories|header/],
      ['a header size', bTimestamp + 124 + 5, /timestamp\.json|header/],
      ['the content of a timestamp', bTimestamp + 512 + 40, new RegExp(`repositories/${B.replace(/\./g, '\\.')}/timestamp\\.json`)],
      ['a signature in a root', at('"sig":"', at(`repositories/${B}/2.root.json`)) + 12, /2\.root\.json/],
      ['padding', padding, /padding after/],
      ['the end blocks', bytes.length - 10, /end of the archive/],
    ];
    for (const [what, pos, names] of positions) {
      const copy = Buffer.from(bytes);
      copy[pos] = copy[pos]! ^ 0x01;
      const f = join(work, 'tampered.tar');
      await writeFile(f, copy);
      const r = await fails(['archive', 'verify', f]);
      assert.match(r.stderr, names, `${what} (byte ${pos})\n${r.stderr}`);
      const l = await fails(['list', '--archive', f, A]);
      assert.match(l.stderr, /fatal/, what);
    }
  });
});
