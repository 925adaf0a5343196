// The engine against the real notary-server and notary client, with raw HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { useNotaryServer } from '../rig/server.js';
import { NotaryClient } from '../rig/notary.js';
import { notaryPublishRepo } from '../rig/publish.js';
import { MemRepo } from '../support/memrepo.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { TrustedCollectionBuilder } from '../../src/tuf/builder.js';
import { sha256Hex } from '../../src/crypto/hash.js';

const server = useNotaryServer();

const NAMES = ['plain', 'amp & <lt> >gt', 'line\u2028sep', 'caf\u00e9 \u65e5\u672c \ud83d\ude00', 'with spaces in it'];

async function serverKey(gun: string): Promise<PublicKey> {
  const r = await fetch(`${server().url}/v2/${gun}/_trust/tuf/timestamp.key`);
  assert.equal(r.status, 200);
  const j = (await r.json()) as { keytype: string; keyval: { public: string } };
  return new PublicKey(j.keytype, Buffer.from(j.keyval.public, 'base64'));
}

function multipart(files: Map<string, Buffer>): { body: Buffer; type: string } {
  const boundary = randomBytes(30).toString('hex');
  const parts: Buffer[] = [];
  for (const [role, bytes] of files) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${role}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      bytes,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

async function get(gun: string, name: string): Promise<Buffer> {
  const r = await fetch(`${server().url}/v2/${gun}/_trust/tuf/${name}`);
  assert.equal(r.status, 200, `GET ${name}`);
  return Buffer.from(await r.arrayBuffer());
}

test('metadata built and signed by dtrust is accepted by notary-server and read by the real notary', async () => {
  const gun = 'example.com/dtrust-built';
  const repo = await MemRepo.create(gun, Date.now(), { timestampKey: await serverKey(gun) });
  const contents = new Map<string, Buffer>();
  for (const name of NAMES) {
    const c = randomBytes(40);
    contents.set(name, c);
    repo.addTarget(name, c);
  }
  await repo.sign({ timestamp: false });
  const upload = new Map(['root', 'targets', 'snapshot'].map((r) => [r, repo.files.get(r)!]));
  const { body, type } = multipart(upload);
  const r = await fetch(`${server().url}/v2/${gun}/_trust/tuf/`, { method: 'POST', body, headers: { 'Content-Type': type } });
  assert.equal(r.status, 200, await r.text());

  // The server's timestamp names exactly the snapshot bytes dtrust uploaded (no re-serialisation drift).
  const ts = JSON.parse((await get(gun, 'timestamp.json')).toString()) as { signed: { meta: { snapshot: { length: number } } } };
  assert.equal(ts.signed.meta.snapshot.length, repo.files.get('snapshot')!.length);

  const notary = await NotaryClient.create({ serverUrl: server().url });
  const list = await notary.run(['list', gun]);
  assert.equal(list.code, 0, list.stdout + list.stderr);
  for (const [name, c] of contents) {
    assert.ok(list.stdout.includes(name), `notary list shows ${JSON.stringify(name)}:\n${list.stdout}`);
    assert.ok(list.stdout.includes(sha256Hex(c)));
  }
  for (const [name, c] of contents) {
    const look = await notary.run(['lookup', gun, name]);
    assert.equal(look.code, 0, look.stdout + look.stderr);
    assert.ok(look.stdout.includes(sha256Hex(c)), look.stdout);
  }
});

test('the builder verifies a repository the real notary published', async () => {
  const gun = 'example.com/notary-built';
  const notary = await NotaryClient.create({ serverUrl: server().url });
  const targets = NAMES.filter((n) => !n.includes('\u2028')).map((name) => ({ name, content: randomBytes(33) }));
  await notaryPublishRepo(notary, gun, targets);

  const b = new TrustedCollectionBuilder({ gun, now: Date.now() });
  b.loadRoot(await get(gun, 'root.json'), 'remote');
  b.updateTimestamp(await get(gun, 'timestamp.json'));
  const snapMeta = b.expectedSnapshot();
  b.updateSnapshot(await get(gun, `snapshot.${snapMeta.hashes.get('sha256')!.toString('hex')}.json`));
  const tMeta = b.expectedMeta('targets')!;
  b.updateTargets(await get(gun, `targets.${tMeta.hashes.get('sha256')!.toString('hex')}.json`));
  const listed = new Map(b.listTargets().map((t) => [t.name, t.meta]));
  assert.equal(listed.size, targets.length);
  for (const t of targets) {
    assert.equal(listed.get(t.name)?.hashes.get('sha256')?.toString('hex'), sha256Hex(t.content), t.name);
  }
});
