// Smoke test of the test rig itself: real notary-server + real notary client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { httpGet, pidAlive, portAcceptsConnections, startNotaryServer, useNotaryServer } from './server.js';
import { DTRUST_BIN, NotaryClient, ProcessTimeoutError, runProcess } from './notary.js';
import { notaryPublishRepo } from './publish.js';
import { makeTempDir, tempDir } from './tmp.js';

const server = useNotaryServer();

test('temp dirs are 0700 and tempDir() registers removal', async () => {
  const d = await tempDir('rig-smoke-');
  assert.equal(statSync(d).mode & 0o777, 0o700);
  const m = await makeTempDir('rig-smoke-');
  assert.equal(statSync(m).mode & 0o777, 0o700);
});

test('notary-server answers health and the /v2/ ping', async () => {
  const s = server();
  assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const health = await httpGet(`${s.url}/_notary_server/health`);
  assert.equal(health.status, 200, health.body);
  assert.equal(health.body, '{}');
  const ping = await httpGet(`${s.url}/v2/`);
  assert.equal(ping.status, 200);
});

test('real notary client inits, publishes and lists a repository', async () => {
  const s = server();
  const client = await NotaryClient.create({ serverUrl: s.url });
  const gun = 'example.com/rig/smoke';
  await notaryPublishRepo(client, gun, [
    { name: 'hello', content: 'hello world\n' },
    { name: 'with space', content: Buffer.from([0, 1, 2, 255]) },
  ]);
  const r = await client.run(['list', gun]);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.split('\n').filter((l) => /\btargets\s*$/.test(l));
  assert.equal(rows.length, 2, r.stdout);
  assert.ok(rows.some((l) => /^hello\s+[0-9a-f]{64}\s+12\s+targets$/.test(l)), r.stdout);
  assert.ok(rows.some((l) => /^with space\s+[0-9a-f]{64}\s+4\s+targets$/.test(l)), r.stdout);
  // The client used its own trust dir under its own HOME.
  assert.ok(existsSync(`${client.trustDir}/tuf/${gun}/metadata/root.json`));
  assert.equal(statSync(client.trustDir).mode & 0o777, 0o700);

  // A second, fresh client (nothing cached) sees the same data from the server.
  const other = await NotaryClient.create({ serverUrl: s.url });
  const r2 = await other.run(['list', gun]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, /^with space\s/m);
});

test('stop() kills the process by pid and frees the port', async () => {
  const s = await startNotaryServer();
  assert.notEqual(s.port, server().port);
  assert.ok(pidAlive(s.pid));
  assert.equal(await portAcceptsConnections(s.port), true);
  await s.stop();
  assert.throws(() => process.kill(s.pid, 0), { code: 'ESRCH' });
  assert.equal(await portAcceptsConnections(s.port), false);
  assert.equal(existsSync(s.dir), false);
  await s.stop(); // idempotent
});

test('runProcess: input, exit codes, timeout', async () => {
  const cat = await runProcess('cat', [], { input: 'abc\u00e9' });
  assert.deepEqual([cat.code, cat.stdout, cat.stderr], [0, 'abc\u00e9', '']);
  const closed = await runProcess('cat', []);
  assert.deepEqual([closed.code, closed.stdout], [0, '']);
  const fail = await runProcess('sh', ['-c', 'echo out; echo err >&2; exit 3']);
  assert.deepEqual([fail.code, fail.stdout, fail.stderr], [3, 'out\n', 'err\n']);
  const env = await runProcess('sh', ['-c', 'echo "$HOME|${FOO-unset}"'], { env: { PATH: process.env['PATH'], HOME: '/nowhere' } });
  assert.equal(env.stdout, '/nowhere|unset\n');
  await assert.rejects(runProcess('sleep', ['10'], { timeoutMs: 200 }), ProcessTimeoutError);
  assert.ok(DTRUST_BIN.endsWith('/bin/dtrust') && existsSync(DTRUST_BIN), DTRUST_BIN);
});
