// Messages that lead somewhere (issue 18 item 5), compared literally.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { KeyStoreError, PassphraseRetriever } from '../../src/keystore/index.js';
import { withArticle } from '../../src/errors.js';
import { killAfter, runDtrust, runProcess } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { tempDir } from '../rig/tmp.js';
import { dtrustKey } from './key-helpers.js';

const server = useNotaryServer();

async function work(): Promise<{ dir: string; trust: string }> {
  const dir = await tempDir('dtrust-messages-');
  await mkdir(join(dir, 'adir'));
  const plain = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string;
  await writeFile(join(dir, 'plain.pem'), plain);
  return { dir, trust: join(dir, 'trust') };
}

const fatal = (message: string, hint?: string): string => `\n* fatal: ${message}\n${hint !== undefined ? `  hint: ${hint}\n` : ''}`;
const DIR_HINT = 'pass the path of a file, not a directory';

test('a directory where a file is expected: one wording everywhere', async () => {
  const { dir, trust } = await work();
  const run = (args: string[]) => dtrustKey(trust, args, { cwd: dir });
  const cases: [string[], string][] = [
    [['delegation', 'add', 'example.com/app', 'targets/a', 'adir'], 'read adir: is a directory'],
    [['init', 'example.com/app', '--rootcert', 'adir'], 'error reading certificate file: read adir: is a directory'],
    [['-c', 'adir', 'list', 'example.com/app'], 'error opening config file: read adir: is a directory'],
    [['key', 'import', 'adir'], 'read adir: is a directory'],
    [['add', 'example.com/app', 't', 'adir'], 'read adir: is a directory'],
  ];
  for (const [args, message] of cases) {
    const r = await run(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stderr, fatal(message, DIR_HINT), args.join(' '));
  }
});

test('init --rootkey with a plain key leads to key import -r root; grammar of key messages', async () => {
  const { dir, trust } = await work();
  const r = await dtrustKey(trust, ['init', 'example.com/app', '--rootkey', 'plain.pem'], { cwd: dir });
  assert.equal(
    r.stderr,
    fatal('only encrypted root keys may be imported', `import it into the key store as the root key, then run init without --rootkey: dtrust key import ${join(dir, 'plain.pem')} -r root`),
  );
  const priv = await dtrustKey(trust, ['delegation', 'add', 'example.com/app', 'targets/a', 'plain.pem'], { cwd: dir });
  assert.equal(
    priv.stderr,
    fatal('unable to parse valid public key certificate from PEM file plain.pem: no valid public key found', 'the first PEM block is an EC PRIVATE KEY, not a CERTIFICATE or PUBLIC KEY'),
  );
  assert.deepEqual(['CERTIFICATE', 'EC PRIVATE KEY', 'RSA PUBLIC KEY', 'PUBLIC KEY', 'ed25519 key', 'X509 certificate'].map(withArticle), [
    'a CERTIFICATE',
    'an EC PRIVATE KEY',
    'an RSA PUBLIC KEY',
    'a PUBLIC KEY',
    'an ed25519 key',
    'an X509 certificate',
  ]);
  const help = await runDtrust(['delegation', '--help']);
  assert.match(help.stdout, /\n {2}add GUN ROLE X509-FILE-PATH\.\.\. +Add keys to a delegation using the provided\n +public key X509 certificates\.\n/);
});

test('a wrong shared passphrase for the snapshot key names NOTARY_SNAPSHOT_PASSPHRASE', async () => {
  const r = new PassphraseRetriever({ env: { DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'the-targets-one' } });
  await assert.rejects(
    r.unlock({ keyId: 'ab'.repeat(32), alias: 'snapshot' }, async () => null),
    (e: unknown) =>
      e instanceof KeyStoreError &&
      e.message === 'the passphrase in DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE does not decrypt the snapshot key abababa' &&
      e.hint === "set NOTARY_SNAPSHOT_PASSPHRASE to this key's passphrase (it is read before DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE, which other keys use too)",
  );
});

test('list after a local init says it is not published yet and how to publish', async () => {
  const { dir, trust } = await work();
  const url = server().url;
  const gun = `example.com/local-${Date.now()}`;
  const init = await dtrustKey(trust, ['-s', url, 'init', gun], { cwd: dir });
  assert.equal(init.code, 0, init.stderr);
  const list = await dtrustKey(trust, ['-s', url, 'list', gun], { cwd: dir });
  assert.equal(list.code, 1);
  assert.equal(
    list.stderr,
    fatal(`${gun} is initialized here but not yet published to ${new URL(url).host}`, `publish it (with any staged changes) with: dtrust publish ${gun}`),
  );
});

test('TLS failures in words: plain HTTP on the port, a server offering only TLS 1.0', async () => {
  const { trust } = await work();
  const http = createServer((_q, s) => s.end('plain'));
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  try {
    const port = (http.address() as AddressInfo).port;
    const r = await dtrustKey(trust, ['-s', `https://127.0.0.1:${port}`, 'list', 'example.com/app']);
    assert.equal(
      r.stderr,
      fatal(
        `could not establish a secure connection to https://127.0.0.1:${port}/v2/: the server speaks plain HTTP on this port`,
        'use http:// in the server URL if the server really has no TLS, or the port where it serves https',
      ),
    );
  } finally {
    http.close();
  }
  const dir = await tempDir('dtrust-tls10-');
  const gen = await runProcess('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1']);
  assert.equal(gen.code, 0, gen.stderr);
  const port = 20000 + (process.pid % 20000);
  const old = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', join(dir, 'c.pem'), '-key', join(dir, 'k.pem'), '-tls1', '-www', '-quiet'], { stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    let r;
    for (let i = 0; i < 50; i++) {
      r = await dtrustKey(trust, ['-s', `https://127.0.0.1:${port}`, 'list', 'example.com/app']);
      if (!/connection refused|client is offline/.test(r.stderr)) break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.equal(
      r!.stderr,
      fatal(`could not establish a secure connection to https://127.0.0.1:${port}/v2/: the server offers only TLS 1.0/1.1`, 'dtrust (as notary) needs TLS 1.2 or later: enable TLS 1.2 on the server'),
    );
  } finally {
    killAfter(old);
  }
});
