// Security matrix MV-31 through the CLI on the REAL notary-server: a repository whose targets is
// at version 2^31 - 2 takes one more publish (2^31 - 1, notary-server's int32 limit); the next
// one is refused before anything is uploaded, naming the limit, and the staged change is kept
// (SEC-V14, Cure53 TUF-01-002).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DtrustClient, NotaryClient } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { startFaultProxy, type FaultProxy } from '../support/faultproxy.js';
import { MemRepo } from '../support/memrepo.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { ENV, treeOf } from './harness.js';
import { cachedVersion } from '../cli/repo-helpers.js';

const T = { timeout: 120_000 };
const GUN = 'example.com/security/version-cap';
const CAP = 2 ** 31 - 1;

let server: () => { url: string };
let proxy: FaultProxy;

function multipart(files: Map<string, Buffer>): { body: Buffer; type: string } {
  const boundary = randomBytes(30).toString('hex');
  const parts: Buffer[] = [];
  for (const [role, bytes] of files) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${role}"\r\nContent-Type: application/octet-stream\r\n\r\n`), bytes, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

describe('MV-31 the version cap on the real notary-server', () => {
  server = useNotaryServer();
  before(async () => {
    proxy = await startFaultProxy(server().url);
  });
  after(() => proxy.close());

  test('targets at 2^31 - 2: one publish reaches 2^31 - 1; the next is refused before the POST, the change kept', T, async () => {
    // The owner's repository, uploaded as is: targets and snapshot versions just below the cap.
    const r = await fetch(`${server().url}/v2/${GUN}/_trust/tuf/timestamp.key`);
    assert.equal(r.status, 200);
    const tk = (await r.json()) as { keytype: string; keyval: { public: string } };
    const repo = await MemRepo.create(GUN, Date.now(), { timestampKey: new PublicKey(tk.keytype, Buffer.from(tk.keyval.public, 'base64')) });
    repo.addTarget('app/v1', 'version one');
    repo.targets.version = CAP - 1;
    repo.snapshot.version = CAP - 10;
    await repo.sign({ timestamp: false });
    const { body, type } = multipart(new Map(['root', 'targets', 'snapshot'].map((role) => [role, repo.files.get(role)!])));
    const up = await fetch(`${server().url}/v2/${GUN}/_trust/tuf/`, { method: 'POST', body, headers: { 'Content-Type': type } });
    assert.equal(up.status, 200, await up.text());

    // A dtrust client with the targets and snapshot keys (imported as a collaborator would).
    const c = await DtrustClient.create({ serverUrl: proxy.url, env: ENV });
    const ok = async (args: string[]): Promise<string> => {
      const res = await c.run(args, { timeoutMs: 60_000 });
      assert.equal(res.code, 0, `${args.join(' ')}:\n${res.stdout}\n${res.stderr}`);
      return res.stdout;
    };
    assert.match(await ok(['list', GUN]), /^app\/v1\s/m);
    for (const role of ['targets', 'snapshot'] as const) {
      const pem = join(c.home, `${role}.pem`);
      await writeFile(pem, repo.keys[role][0]!.priv.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
      await ok(['key', 'import', pem, '-r', role, '-g', GUN]);
    }
    const file = join(c.home, 'payload');
    await writeFile(file, 'payload\n');

    await ok(['add', GUN, 'app/v2', file]);
    assert.match(await ok(['publish', GUN]), /Successfully published changes/);
    assert.equal(cachedVersion(c.trustDir, GUN, 'targets'), CAP);
    const notary = await NotaryClient.create({ serverUrl: server().url });
    assert.match((await notary.runOk(['list', GUN])).stdout, /^app\/v2\s/m, 'notary-server stored version 2^31 - 1 and the real notary reads it');

    await ok(['add', GUN, 'app/v3', file]);
    const changelist = join(c.trustDir, 'tuf', GUN, 'changelist');
    const before = await treeOf(c.trustDir);
    const changesBefore = await readdir(changelist);
    const posts = proxy.count(`/v2/${GUN}/_trust/tuf/`, 'POST');
    const refused = await c.run(['publish', GUN], { timeoutMs: 60_000 });
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /\* fatal: refusing to write version 2147483648: notary-server cannot store versions above 2147483647/);
    assert.doesNotMatch(refused.stderr, /TypeError|RangeError|    at /);
    assert.equal(proxy.count(`/v2/${GUN}/_trust/tuf/`, 'POST'), posts, 'nothing uploaded');
    assert.deepEqual(await readdir(changelist), changesBefore, 'the change is still staged');
    assert.deepEqual(await treeOf(c.trustDir), before, 'keys, cache and changelist unchanged');
    assert.match(await ok(['status', GUN]), /app\/v3/);
    assert.doesNotMatch((await notary.runOk(['list', GUN])).stdout, /app\/v3/);
  });
});
