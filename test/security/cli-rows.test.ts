// Security matrix rows on bad command-line input, through bin/dtrust with the real notary 0.7
// client as the reference for the words: CLI-04 (addhash sizes and hashes), CLI-07 (delegation
// add with a certificate notary refuses) and CLI-09 (server URLs, credentials in them never
// echoed). Each refusal exits 1 with one fatal line and stages nothing, creates no key and
// leaves the trust directory as it was. No server is needed: the commands fail before any
// request, or against a loopback port nobody listens on.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DtrustClient, NotaryClient } from '../rig/notary.js';
import { makeTempDir } from '../rig/tmp.js';
import { rootCertKey } from '../support/memrepo.js';
import { sha256Hex } from '../../src/crypto/hash.js';
import { escapeRe, treeOf } from './harness.js';

const T = { timeout: 120_000 };
const ENV = { DTRUST_KDF_ITERATIONS: '2048' };
const GUN = 'example.com/cli-rows/a';
const H = sha256Hex(Buffer.from('x'));

let dir: string;
let closedPort: number;
before(async () => {
  dir = await makeTempDir('dtrust-cli-rows-');
  // A loopback port that was free a moment ago: connections to it are refused.
  closedPort = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
});

function fatalLine(text: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith('* fatal: '));
}

/** dtrust refuses `args` with `fatal`, stages and writes nothing; the real notary says `notaryFatal` (default: the same). */
async function refused(args: string[], fatal: string | RegExp, notaryFatal: string | null = typeof fatal === 'string' ? fatal : null): Promise<void> {
  const d = await DtrustClient.create({ serverUrl: `http://127.0.0.1:${closedPort}`, env: ENV });
  const before = await treeOf(d.home);
  const r = await d.run(args);
  assert.equal(r.code, 1, `dtrust ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  if (typeof fatal === 'string') assert.equal(fatalLine(r.stderr), `* fatal: ${fatal}`, r.stderr);
  else assert.match(fatalLine(r.stderr) ?? '', fatal, r.stderr);
  assert.doesNotMatch(r.stderr, /TypeError|RangeError|    at /);
  assert.deepEqual(await treeOf(d.home), before, 'nothing staged, no key, no cache');
  if (notaryFatal !== null) {
    const n = await NotaryClient.create({ serverUrl: `http://127.0.0.1:${closedPort}`, home: await makeTempDir('dtrust-cli-rows-notary-') });
    const nr = await n.run(args);
    assert.equal(nr.code, 1, `notary ${args.join(' ')}:\n${nr.stdout}`);
    assert.equal(fatalLine(nr.stdout), `* fatal: ${notaryFatal}`, nr.stdout);
  }
}

describe('CLI-04 addhash: sizes and hashes', () => {
  const rows: [string, string[], string, (string | null)?][] = [
    ['a size that is not a number', ['t', 'x', '--sha256', H], 'strconv.ParseInt: parsing "x": invalid syntax'],
    ['a negative size (after --)', ['--sha256', H, '--', 't', '-1'], 'strconv.ParseInt: parsing "-1": the byte size cannot be negative', null],
    [
      'a size of 2^53 (notary accepts it)',
      ['t', '9007199254740992', '--sha256', H],
      'strconv.ParseInt: parsing "9007199254740992": the byte size is larger than 2^53 - 1 (9007199254740991), the largest dtrust represents exactly',
      null,
    ],
    ['a sha256 one character short', ['t', '1', '--sha256', H.slice(1)], 'invalid sha256 hex contents provided'],
    ['a sha256 with a non-hex character', ['t', '1', '--sha256', `${H.slice(1)}z`], "encoding/hex: invalid byte: U+007A 'z'"],
    ['a sha256 given as --sha512', ['t', '1', '--sha512', H], 'invalid sha512 hex contents provided'],
    ['no hash', ['t', '1'], 'Must specify a GUN, target, byte size of target data, and at least one hash'],
  ];
  for (const [what, args, fatal, notaryFatal] of rows) {
    test(`${what}: exit 1, nothing staged`, T, async () => {
      await refused(['addhash', GUN, ...args], fatal, notaryFatal === undefined ? fatal : notaryFatal);
    });
  }
});

describe('CLI-07 delegation add with a certificate notary refuses', () => {
  test('an RSA-1024 certificate, an expired certificate, a file without a key: exit 1, nothing staged', T, async () => {
    const rsa = join(dir, 'rsa1024.pem');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', join(dir, 'rsa1024.key'), '-out', rsa, '-days', '30', '-subj', '/CN=alice'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const expired = join(dir, 'expired.pem');
    const day = 86_400_000;
    writeFileSync(expired, (await rootCertKey('alice', Date.now() - 10 * day, { days: 1 })).pub.pub);
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    const add = (file: string): string[] => ['delegation', 'add', GUN, 'targets/releases', file, '--all-paths'];
    await refused(
      add(rsa),
      `unable to parse valid public key certificate from PEM file ${rsa}: RSA keys must have at least 2048 bits`,
      `unable to parse valid public key certificate from PEM file ${rsa}: invalid certificate: RSA bit length is too short`,
    );
    const validity = '\\(valid from \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z to \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\)';
    await refused(add(expired), new RegExp(`^\\* fatal: unable to parse valid public key certificate from PEM file ${escapeRe(expired)}: the certificate is not valid now ${validity}$`));
    await refused(add(garbage), `unable to parse valid public key certificate from PEM file ${garbage}: no valid public key found`);
  });
});

describe('CLI-09 server URLs', () => {
  for (const url of ['localhost:4443', 'ftp://host:4443']) {
    test(`-s ${url}: refused before any request, naming the form`, T, async () => {
      await refused(['-s', url, 'list', GUN], `Trust server url has to be in the form of http(s)://URL:PORT. Got: ${url}`, 'client is offline');
    });
  }

  test('credentials in the URL are never echoed: list, publish, doctor, -D, a malformed URL', T, async () => {
    const secret = 'S3cretInUrl';
    const d = await DtrustClient.create({ serverUrl: `http://127.0.0.1:${closedPort}`, env: ENV });
    const runs = [
      await d.run(['-s', `http://user:${secret}@127.0.0.1:${closedPort}`, 'list', GUN]),
      await d.run(['-D', '-s', `http://user:${secret}@127.0.0.1:${closedPort}`, 'list', GUN]),
      await d.run(['-s', `https://user:${secret}@127.0.0.1:${closedPort}`, 'publish', GUN]),
      await d.run(['-s', `https://user:${secret}@a b`, 'list', GUN]),
      await d.run(['-s', `ftp://user:${secret}@host:1`, 'list', GUN]),
    ];
    const doctor = await d.run(['-D', '-s', `http://user:${secret}@127.0.0.1:${closedPort}`, 'doctor', '--json']);
    assert.equal(doctor.code, 0, doctor.stderr);
    assert.ok(!(doctor.stdout + doctor.stderr).includes(secret), `doctor echoed the password:\n${doctor.stdout}\n${doctor.stderr}`);
    for (const r of runs) {
      assert.equal(r.code, 1, r.stderr);
      assert.ok(!(r.stdout + r.stderr).includes(secret), `the password was echoed:\n${r.stdout}\n${r.stderr}`);
    }
    assert.match(runs[0]!.stderr, new RegExp(`\\* fatal: client is offline\\n  hint: check that http://127\\.0\\.0\\.1:${closedPort} is reachable`));
  });
});
