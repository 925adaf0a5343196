// Security matrix MV-23 on the read path, through the CLI against the simulator: a served root
// whose root certificate the real notary-server never gets from either client (one that is itself
// a CA) and one issued by another CA, read by a client whose config pins a CA for the GUN's
// prefix (trust_pinning.ca), and the CA root certificate again without any pin (TOFU); then
// disable_tofu without a pin, a certs pin naming another ID, a CN other than the GUN and an
// expired root certificate. Each is
// refused on first contact with notary's message (a CA certificate is no leaf, whatever the pin),
// and nothing is cached; a leaf the pinned CA
// issued is accepted, so the refusals are the pin's doing. The init and publish side runs against
// the real notary-server in test/cli/trust-pinning.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '../rig/tmp.js';
import { Simulator } from '../support/simulator.js';
import { CA_EXT, issue, makeCa, type Issued, type Made } from '../support/openssl-ca.js';
import { rootCertKey, type MemKey, type MemRepo } from '../support/memrepo.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { keyObjectSigner } from '../../src/tuf/sign.js';
import { newCase, run, type Case } from './harness.js';

const T = { timeout: 120_000 };
const PREFIX = 'example.com/mv23/';
const NO_MATCH = 'could not validate the path to a trusted root: unable to match any certificates to trust_pinning config';
const NO_LEAF = 'could not validate the path to a trusted root: unable to retrieve valid leaf certificates';

let sim: Simulator;
let dir: string;
let pinned: Made;
let other: Made;
let config: string;
before(async () => {
  sim = await Simulator.start();
  dir = await makeTempDir('dtrust-mv23-');
  pinned = makeCa(dir, 'pinned-ca', { cn: 'Pinned CA' });
  other = makeCa(dir, 'other-ca', { cn: 'Other CA' });
  const confDir = join(dir, 'conf');
  mkdirSync(confDir);
  copyFileSync(pinned.cert, join(confDir, 'ca.pem'));
  config = join(confDir, 'config.json');
  writeFileSync(config, JSON.stringify({ trust_pinning: { ca: { [PREFIX]: 'ca.pem' } } }));
});
after(() => sim.close());

/** The certificate's key as the repository's only root key. */
function useRootCert(repo: MemRepo, cert: Issued): void {
  const priv = createPrivateKey(readFileSync(cert.key));
  const pub = new PublicKey('ecdsa-x509', readFileSync(cert.cert));
  useRootKey(repo, { priv, pub, signer: keyObjectSigner(priv, pub) });
}

function useRootKey(repo: MemRepo, key: MemKey): void {
  for (const old of repo.keys.root) repo.root.keys.delete(old.pub.id);
  repo.root.keys.set(key.pub.id, key.pub);
  repo.root.roles.set('root', { keyids: [key.pub.id], threshold: 1 });
  repo.rootSigners = [key.signer];
  repo.keys.root = [key];
}

let n = 0;
/** A repository under PREFIX whose root certificate (CN the GUN) `issuer` issued with `ext`. */
function served(issuer: Made, ext?: string): Promise<Case> {
  const name = `root-${++n}`;
  return newCase(sim, 'mv23', (repo) => useRootCert(repo, issue(dir, name, { cn: repo.gun, issuer, ...(ext ? { ext } : {}) })));
}

/** A repository whose self-signed root certificate rootCertKey makes with `opts`. */
function servedSelfSigned(opts: Parameters<typeof rootCertKey>[2]): Promise<Case> {
  return newCase(sim, 'mv23', async (repo) => useRootKey(repo, await rootCertKey(repo.gun, Date.now(), opts)));
}

/** A config file (beside the CA file) with this trust_pinning section. */
function configWith(name: string, pinning: object): string {
  const path = join(dir, 'conf', `${name}.json`);
  writeFileSync(path, JSON.stringify({ trust_pinning: pinning }));
  return path;
}

async function cachedMetadata(c: Case): Promise<string[]> {
  return readdir(join(c.client.trustDir, 'tuf', c.gun, 'metadata')).catch(() => []);
}

async function refused(c: Case, args: string[], fatal: string): Promise<void> {
  const r = await run(c, [...args, 'list', c.gun]);
  assert.equal(r.code, 1, `expected a refusal:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.split('\n').find((l) => l.startsWith('* fatal: ')), `* fatal: ${fatal}`, r.stderr);
  assert.doesNotMatch(r.stderr, /TypeError|RangeError|    at /);
  assert.deepEqual(await cachedMetadata(c), [], 'nothing cached');
}

describe('MV-23 CA trust pinning on the read path', () => {
  test('a leaf the pinned CA issued: accepted (the control case)', T, async () => {
    const c = await served(pinned);
    const r = await run(c, ['-c', config, 'list', c.gun]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^app\/v1\s/m);
    assert.deepEqual((await cachedMetadata(c)).includes('root.json'), true);
  });

  test("another CA's leaf under the CA pin: refused, nothing cached", T, async () => {
    await refused(await served(other), ['-c', config], NO_MATCH);
  });

  test('a root certificate that is itself a CA, issued by the pinned CA: refused as notary (no leaf, before the pin is looked at), nothing cached', T, async () => {
    await refused(await served(pinned, CA_EXT), ['-c', config], NO_LEAF);
  });

  test('a root certificate that is itself a CA, without any pin (TOFU): refused as notary, nothing cached', T, async () => {
    await refused(await served(pinned, CA_EXT), [], NO_LEAF);
  });

  test('disable_tofu and no pin for the GUN: refused on first contact, nothing cached', T, async () => {
    await refused(await servedSelfSigned({}), ['-c', configWith('no-tofu', { disable_tofu: true })], 'could not validate the path to a trusted root: invalid trust pinning specified');
  });

  test('a certs pin naming another certificate ID: refused, nothing cached', T, async () => {
    const c = await servedSelfSigned({});
    await refused(c, ['-c', configWith('certs', { certs: { [c.gun]: ['a'.repeat(64)] } })], NO_MATCH);
  });

  test('a root certificate whose CN is not the GUN (TOFU): refused, nothing cached', T, async () => {
    await refused(await servedSelfSigned({ cn: 'example.com/someone-else' }), [], NO_LEAF);
  });

  test('an expired root certificate (TOFU): refused, nothing cached', T, async () => {
    await refused(await servedSelfSigned({ notBefore: Date.now() - 10 * 86_400_000, days: 1 }), [], NO_LEAF);
  });
});
