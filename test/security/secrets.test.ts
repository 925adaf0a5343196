// Security matrix KS-07 (a plain key planted in private/: warned about every time it is read,
// never used silently) and KS-08 (secrets never in -D output, nor in a heap snapshot taken in the
// middle of a publish), through the CLI against the REAL notary-server behind a fault proxy that
// asks for Basic credentials (SEC-F5, SEC-F7).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DTRUST_BIN, DtrustClient, NotaryClient, baseEnv, killAfter, type RunResult } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { makeTempDir } from '../rig/tmp.js';
import { startFaultProxy, type FaultProxy, type ProxyHook } from '../support/faultproxy.js';
import { spkiDer } from '../../src/crypto/signature.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { ENV } from './harness.js';

const T = { timeout: 180_000 };

const USER = 'alice';
const PASSWORD = 'Pw-Sentinel-5f2c9e1a';
const SENTINELS = {
  NOTARY_ROOT_PASSPHRASE: 'S3ntinel-root-8b1d47c2',
  NOTARY_TARGETS_PASSPHRASE: 'S3ntinel-targets-0e9a63f5',
  NOTARY_SNAPSHOT_PASSPHRASE: 'S3ntinel-snapshot-c47d2b80',
  NOTARY_DELEGATION_PASSPHRASE: 'S3ntinel-delegation-71aa5e03',
};
const AUTH = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
const SECRET_ENV = { ...SENTINELS, NOTARY_AUTH: AUTH };
/** What must never be seen: each passphrase, the password, and the credentials as sent. */
const SECRETS = [...Object.values(SENTINELS), PASSWORD, AUTH];

let server: () => { url: string };
let proxy: FaultProxy;

const basic = `Basic ${AUTH}`;
const unauthorized = { status: 401, headers: { 'www-authenticate': 'Basic realm="dtrust-test"', 'content-type': 'application/json' }, body: Buffer.from('{"errors":[{"code":"UNAUTHORIZED"}]}') };
const requireAuth: ProxyHook = (req, forward) => (req.headers.authorization === basic ? forward() : unauthorized);

function assertNoSecret(what: string, text: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${what} contains a secret (${s.slice(0, 8)}…):\n${text.slice(0, 2000)}`);
}

describe('secrets and plain keys, against the real notary-server', () => {
  server = useNotaryServer();
  before(async () => {
    proxy = await startFaultProxy(server().url, { hook: requireAuth });
  });
  after(() => proxy.close());

  test('KS-07: a plain root key planted in private/ is used by init only with a warning, every time it is read; key passwd encrypts it', T, async () => {
    const gun = 'example.com/security/planted';
    const c = await DtrustClient.create({ serverUrl: proxy.url, env: { ...ENV, NOTARY_AUTH: AUTH } });
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = new PublicKey('ecdsa', spkiDer(publicKey)).id;
    const planted = join(c.trustDir, 'private', `${id}.key`);
    await mkdir(join(c.trustDir, 'private'), { recursive: true, mode: 0o700 });
    const pem = (privateKey.export({ format: 'pem', type: 'pkcs8' }) as string).replace('-----BEGIN PRIVATE KEY-----\n', '-----BEGIN PRIVATE KEY-----\nrole: root\n\n');
    await writeFile(planted, pem, { mode: 0o600 });
    const warning = new RegExp(`the key file ${planted.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not encrypted: anyone who can read it can sign as its root key; if you did not put it there, remove it, else encrypt it with: dtrust key passwd ${id}`);

    const list = await c.run(['key', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`root\\s+${id}`));
    assert.match(list.stderr, warning);

    const init = await c.run(['init', '-p', gun], { timeoutMs: 60_000 });
    assert.equal(init.code, 0, init.stdout + init.stderr);
    assert.match(init.stdout, new RegExp(`Root key found, using: ${id}`), 'init uses the planted key…');
    assert.match(init.stderr, warning, '…and says so');
    assert.equal(init.stderr.match(warning)!.length, 1);

    // Encrypted with key passwd, the warning stops and the key still signs root metadata.
    const passwd = await c.run(['key', 'passwd', id], { env: { DTRUST_NEW_PASSPHRASE: SENTINELS.NOTARY_ROOT_PASSPHRASE } });
    assert.equal(passwd.code, 0, passwd.stdout + passwd.stderr);
    assert.match(passwd.stderr, warning);
    assert.match(readFileSync(planted, 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    const after = await c.run(['key', 'list']);
    assert.doesNotMatch(after.stderr, /not encrypted/);
    const rotate = await c.run(['key', 'rotate', gun, 'targets'], { env: { NOTARY_ROOT_PASSPHRASE: SENTINELS.NOTARY_ROOT_PASSPHRASE }, timeoutMs: 60_000 });
    assert.equal(rotate.code, 0, rotate.stdout + rotate.stderr);
    assert.doesNotMatch(rotate.stderr, /not encrypted/);
    const notary = await NotaryClient.create({ serverUrl: server().url });
    assert.equal((await notary.run(['list', gun])).code, 0, 'the real notary reads the rotated repository');
  });

  test('KS-08: with -D, no passphrase, password or credential reaches stdout or stderr, on success or failure', T, async () => {
    const gun = 'example.com/security/debug';
    const c = await DtrustClient.create({ serverUrl: proxy.url, env: { ...ENV, ...SECRET_ENV } });
    const file = join(c.home, 'payload');
    await writeFile(file, 'payload\n');
    const runs: [string, RunResult][] = [];
    const step = async (args: string[], env: Record<string, string> = {}, expect = 0): Promise<void> => {
      const r = await c.run(['-D', ...args], { env, timeoutMs: 60_000 });
      runs.push([args.join(' '), r]);
      assert.equal(r.code, expect, `${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    };
    await step(['init', '-p', gun]);
    await step(['add', '-p', gun, 'app/v1', file]);
    await step(['list', gun]);
    await step(['lookup', gun, 'app/v1']);
    await step(['key', 'list']);
    await step(['delegation', 'list', gun]);
    await step(['add', gun, 'app/v2', file]);
    // Failures: a wrong targets passphrase, wrong credentials, a malformed NOTARY_AUTH.
    await step(['publish', gun], { NOTARY_TARGETS_PASSPHRASE: `${SENTINELS.NOTARY_TARGETS_PASSPHRASE}-wrong` }, 1);
    await step(['publish', gun], { NOTARY_AUTH: Buffer.from(`${USER}:${PASSWORD}-wrong`).toString('base64') }, 1);
    await step(['publish', gun], { NOTARY_AUTH: `${PASSWORD}:not-base64` }, 1);
    await step(['publish', gun]);
    for (const [what, r] of runs) {
      assertNoSecret(`dtrust -D ${what} stdout`, r.stdout);
      assertNoSecret(`dtrust -D ${what} stderr`, r.stderr);
    }
    // The wrong passphrase itself is not echoed either.
    assert.ok(!runs.some(([, r]) => r.stderr.includes(`${SENTINELS.NOTARY_TARGETS_PASSPHRASE}-wrong`)));
  });

  test('KS-08: a heap snapshot of dtrust taken while its publish waits for the server holds no passphrase', T, async () => {
    const gun = 'example.com/security/heap';
    const c = await DtrustClient.create({ serverUrl: proxy.url, env: { ...ENV, ...SECRET_ENV } });
    const file = join(c.home, 'payload');
    await writeFile(file, 'payload\n');
    for (const args of [['init', '-p', gun], ['add', gun, 'app/v1', file]]) {
      const r = await c.run(args, { timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    const dir = await makeTempDir('dtrust-heap-');
    let posted!: () => void;
    const postSeen = new Promise<void>((r) => (posted = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    proxy.hook = async (req, forward) => {
      if (req.headers.authorization !== basic) return unauthorized;
      if (req.method === 'POST') {
        posted();
        await released;
      }
      return forward();
    };
    try {
      const child = spawn(process.execPath, ['--heapsnapshot-signal=SIGUSR2', '--diagnostic-dir', dir, DTRUST_BIN, '-s', c.serverUrl, '-d', c.trustDir, 'publish', gun], {
        cwd: dir,
        env: { ...baseEnv(c.home), ...ENV, ...SECRET_ENV },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      killAfter(child);
      const out: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => out.push(b));
      const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
      await Promise.race([postSeen, exited.then(() => assert.fail(`publish ended before its POST: ${Buffer.concat(out).toString()}`))]);
      child.kill('SIGUSR2');
      // The snapshot is written on the main thread; wait until the file exists and stops growing.
      let size = -1;
      for (let stable = 0; stable < 3; ) {
        await sleep(200);
        const f = readdirSync(dir).find((n) => n.endsWith('.heapsnapshot'));
        const now = f ? statSync(join(dir, f)).size : -1;
        stable = now > 0 && now === size ? stable + 1 : 0;
        size = now;
      }
      release();
      assert.equal(await exited, 0, Buffer.concat(out).toString());
      assertNoSecret('publish output', Buffer.concat(out).toString());
    } finally {
      release();
      proxy.hook = requireAuth;
    }
    const snap = readdirSync(dir).find((n) => n.endsWith('.heapsnapshot'));
    assert.ok(snap && existsSync(join(dir, snap)), 'a heap snapshot was written');
    const text = readFileSync(join(dir, snap), 'utf8');
    assert.ok(text.length > 1_000_000 && text.includes('"strings"'), 'a complete snapshot');
    for (const s of Object.values(SENTINELS)) assert.ok(!text.includes(s), `the heap holds ${s.slice(0, 10)}…`);
    // Not checked: NOTARY_AUTH. While a request carries them, the credentials are in memory as the
    // Authorization header node:http sends (base64 of user:password), and the remote layer keeps
    // the decoded pair for the challenges of later requests (docs/testing-matrix.md, KS-08).
    assert.ok(text.includes('S3ntinel') === false, 'no passphrase sentinel at all');
  });
});
