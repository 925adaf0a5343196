// The Quick start's main job: a full signing flow against a local notary-server that this script
// starts itself. dtrust's engine creates the keys and the root certificate, signs root, targets
// and snapshot, and publishes them; then dtrust's verifier and the real notary client read the
// repository back.
import { randomBytes } from 'node:crypto';
import { startNotaryServer } from '../test/rig/server.js';
import { NotaryClient } from '../test/rig/notary.js';
import { MemRepo } from '../test/support/memrepo.js';
import { PublicKey } from '../src/tuf/keys.js';
import { TrustedCollectionBuilder } from '../src/tuf/builder.js';

const gun = 'example.com/quickstart';
const server = await startNotaryServer();
try {
  console.log(`notary-server running at ${server.url} (pid ${server.pid})`);
  const keyRes = await fetch(`${server.url}/v2/${gun}/_trust/tuf/timestamp.key`);
  const key = (await keyRes.json()) as { keytype: string; keyval: { public: string } };
  const repo = await MemRepo.create(gun, Date.now(), {
    timestampKey: new PublicKey(key.keytype, Buffer.from(key.keyval.public, 'base64')),
  });
  console.log(`root key ${repo.keys.root[0]!.pub.canonicalId} (certificate ${repo.keys.root[0]!.pub.id})`);
  repo.addTarget('v1.0', randomBytes(1000));
  repo.addTarget('latest', randomBytes(2000));
  await repo.sign({ timestamp: false });

  const boundary = randomBytes(30).toString('hex');
  const parts: Buffer[] = [];
  for (const role of ['root', 'targets', 'snapshot']) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${role}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      repo.files.get(role)!,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  const post = await fetch(`${server.url}/v2/${gun}/_trust/tuf/`, {
    method: 'POST',
    body: Buffer.concat(parts),
    headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
  });
  if (post.status !== 200) throw new Error(`publish failed: ${post.status} ${await post.text()}`);
  console.log('published root, targets and snapshot signed by dtrust');

  const get = async (name: string): Promise<Buffer> => Buffer.from(await (await fetch(`${server.url}/v2/${gun}/_trust/tuf/${name}`)).arrayBuffer());
  const b = new TrustedCollectionBuilder({ gun, now: Date.now() });
  b.loadRoot(await get('root.json'), 'remote');
  b.checkRootFresh();
  b.updateTimestamp(await get('timestamp.json'));
  b.updateSnapshot(await get(`snapshot.${b.expectedSnapshot().hashes.get('sha256')!.toString('hex')}.json`));
  b.updateTargets(await get(`targets.${b.expectedMeta('targets')!.hashes.get('sha256')!.toString('hex')}.json`));
  console.log('dtrust verified:', b.listTargets().map((t) => `${t.name} (${t.meta.length} bytes)`).join(', '));

  const notary = await NotaryClient.create({ serverUrl: server.url });
  const list = await notary.run(['list', gun]);
  console.log(`the real notary client lists the repository (exit ${list.code}):\n${list.stdout}`);
  if (list.code !== 0) process.exitCode = 1;
} finally {
  await server.stop();
}
