// CA trust pinning (trust_pinning.ca, cli.md §3) through bin/dtrust, against the real
// notary-server and the real notary client with the same configuration:
//  - a root certificate the pinned CA issued (made with openssl, `init --rootkey --rootcert`) is
//    accepted in both directions;
//  - roots notary refuses under the pin are refused by dtrust too, when initializing and when
//    reading: another CA's certificate (also one with the pinned CA's name), a certificate issued
//    by a leaf of the pinned CA, a codeSigning-only certificate (Go verifies for serverAuth),
//    a certificate that is itself a CA, and a generated one;
//  - a repository initialized without the pin is checked against it at its first publish;
//  - an unreadable or empty CA file is an error naming the file, and only matters for a first root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PASSPHRASE, NotaryClient, type DtrustClient } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { tempDir } from '../rig/tmp.js';
import { CA_EXT, LEAF_EXT, issue, makeCa, type Issued, type Made } from '../support/openssl-ca.js';
import { fails, fatal, file, freshDtrust, ok, tableRows } from './repo-helpers.js';

const server = useNotaryServer();
const PREFIX = 'example.com/pin/';
const NO_MATCH = 'could not validate the path to a trusted root: unable to match any certificates to trust_pinning config';

interface Pki {
  /** The directory of config.json and ca.pem (the pin's relative path is taken from it). */
  confDir: string;
  config: string;
  ca: Made;
  root(name: string, issuer?: Made, ext?: string): Issued;
}

async function pki(): Promise<Pki> {
  const dir = await tempDir('pin-pki-');
  const confDir = join(dir, 'conf');
  mkdirSync(confDir);
  const ca = makeCa(dir, 'pinned-ca', { cn: 'Pinned CA' });
  copyFileSync(ca.cert, join(confDir, 'ca.pem'));
  const config = file(confDir, 'config.json', JSON.stringify({ trust_pinning: { ca: { [PREFIX]: 'ca.pem' } } }));
  return { confDir, config, ca, root: (name, issuer = ca, ext = LEAF_EXT) => issue(dir, name, { cn: PREFIX + name, issuer, ext, passphrase: DEFAULT_PASSPHRASE }) };
}

/** The real notary with the pin: run in the config's directory, where notary looks for ca.pem. */
async function pinnedNotary(p: Pki): Promise<{ run: (args: string[]) => ReturnType<NotaryClient['run']>; client: NotaryClient }> {
  const client = await NotaryClient.create({ serverUrl: server().url, home: await tempDir('pin-notary-') });
  return { client, run: (args) => client.run(['-c', p.config, ...args], { cwd: p.confDir }) };
}

function cachedRoot(c: { trustDir: string }, gun: string): boolean {
  return existsSync(join(c.trustDir, 'tuf', gun, 'metadata', 'root.json'));
}

async function onServer(gun: string): Promise<boolean> {
  return (await fetch(`${server().url}/v2/${gun}/_trust/tuf/root.json`)).status === 200;
}

test('a root certificate issued by the pinned CA: dtrust publishes what notary reads, and reads what notary publishes', async () => {
  const p = await pki();
  const dtrust = await freshDtrust(server().url);
  const notary = await pinnedNotary(p);
  const d = async (args: string[]): Promise<void> => void ok('dtrust', args, await dtrust.run(['-c', p.config, ...args]));
  const target = file(dtrust.home, 't.txt', 'pinned\n');

  const byDtrust = PREFIX + 'by-dtrust';
  const r1 = p.root('by-dtrust');
  await d(['init', byDtrust, '--rootkey', r1.encryptedKey!, '--rootcert', r1.cert, '-p']);
  await d(['add', byDtrust, 'v1', target, '-p']);
  const nl = ok('notary', ['list'], await notary.run(['list', byDtrust]));
  assert.deepEqual(tableRows(nl.stdout).map((r) => r[0]), ['v1']);

  const byNotary = PREFIX + 'by-notary';
  const r2 = p.root('by-notary');
  ok('notary', ['init'], await notary.run(['init', byNotary, '--rootkey', r2.encryptedKey!, '--rootcert', r2.cert, '-p']));
  ok('notary', ['add'], await notary.run(['add', byNotary, 'v2', target, '-p']));
  const reader = await freshDtrust(server().url);
  const dl = ok('dtrust', ['list'], await reader.run(['-c', p.config, 'list', byNotary]));
  assert.deepEqual(tableRows(dl.stdout).map((r) => r[0]), ['v2']);
  // The pin's relative path is the config file's: dtrust ran in its HOME, not in the config's directory.
  assert.notEqual(reader.home, p.confDir);
});

test('roots notary refuses under the CA pin are refused by dtrust too, at init and when reading, and nothing is cached', async () => {
  const p = await pki();
  const notary = await pinnedNotary(p);
  const other = makeCa(p.confDir, 'other-ca', { cn: 'Other CA' });
  const sameName = makeCa(p.confDir, 'same-name-ca', { cn: 'Pinned CA' });
  const leafOfPinned = issue(p.confDir, 'leaf-of-pinned', { cn: 'a leaf', issuer: p.ca });
  const cases: { name: string; root: Issued; notaryFatal: string }[] = [
    { name: 'other-ca', root: p.root('other-ca', other), notaryFatal: NO_MATCH },
    { name: 'same-name', root: p.root('same-name', sameName), notaryFatal: NO_MATCH },
    { name: 'by-a-leaf', root: p.root('by-a-leaf', leafOfPinned), notaryFatal: NO_MATCH },
    { name: 'code-signing', root: p.root('code-signing', p.ca, `${LEAF_EXT}extendedKeyUsage=codeSigning\n`), notaryFatal: NO_MATCH },
  ];
  for (const c of cases) {
    const gun = PREFIX + c.name;
    // dtrust refuses to make it; notary makes it locally but refuses to publish it.
    const dtrust = await freshDtrust(server().url);
    const init = ['init', gun, '--rootkey', c.root.encryptedKey!, '--rootcert', c.root.cert, '-p'];
    const r = fails('dtrust', init, await dtrust.run(['-c', p.config, ...init]));
    assert.equal(fatal(r.stderr), NO_MATCH, c.name);
    assert.match(r.stderr, /hint: the root certificate of .* does not chain to a CA in .*conf\/ca\.pem \(trust_pinning\.ca\["example\.com\/pin\/"\]\)/, c.name);
    assert.equal(cachedRoot(dtrust, gun), false, c.name);
    assert.equal(fatal(fails('notary', init, await notary.run(init)).stdout), c.notaryFatal, c.name);
    assert.equal(await onServer(gun), false, c.name);

    // Published without the pin, neither client with the pin trusts it (fresh ones: notary's own
    // attempt above left its root in its cache, which would be the anchor).
    ok('dtrust', init, await dtrust.run(init));
    assert.equal(fatal(fails('notary', ['list'], await (await pinnedNotary(p)).run(['list', gun])).stdout), NO_MATCH, c.name);
    const reader = await freshDtrust(server().url);
    assert.equal(fatal(fails('dtrust', ['list'], await reader.run(['-c', p.config, 'list', gun])).stderr), NO_MATCH, c.name);
    assert.equal(cachedRoot(reader, gun), false, `${c.name}: a refused root is not cached`);
  }

  // A repository initialized here without the pin is checked against it at its first publish (as notary does).
  const late = PREFIX + 'pinned-later';
  const lateRoot = p.root('pinned-later', other);
  const lateInit = ['init', late, '--rootkey', lateRoot.encryptedKey!, '--rootcert', lateRoot.cert];
  const lateD = await freshDtrust(server().url);
  ok('dtrust', lateInit, await lateD.run(lateInit));
  assert.equal(fatal(fails('dtrust', ['publish'], await lateD.run(['-c', p.config, 'publish', late])).stderr), NO_MATCH);
  const lateN = await pinnedNotary(p);
  ok('notary', lateInit, await lateN.client.run(lateInit));
  assert.equal(fatal(fails('notary', ['publish'], await lateN.run(['publish', late])).stdout), NO_MATCH);
  assert.equal(await onServer(late), false);

  // The pinned "CA" being that leaf does not help: a certificate that is not a CA issues nothing.
  const leafPin = file(p.confDir, 'leaf-pin.json', JSON.stringify({ trust_pinning: { ca: { [PREFIX]: 'leaf-of-pinned.pem' } } }));
  const gun = PREFIX + 'by-a-leaf';
  assert.equal(fatal(fails('notary', ['list'], await (await pinnedNotary(p)).client.run(['-c', leafPin, 'list', gun], { cwd: p.confDir })).stdout), NO_MATCH);
  assert.equal(fatal(fails('dtrust', ['list'], await (await freshDtrust(server().url)).run(['-c', leafPin, 'list', gun])).stderr), NO_MATCH);

  // A root certificate that is itself a CA: neither client makes such a repository.
  const isCa = p.root('is-ca', p.ca, CA_EXT);
  const caGun = PREFIX + 'is-ca';
  const caInit = ['init', caGun, '--rootkey', isCa.encryptedKey!, '--rootcert', isCa.cert, '-p'];
  const dtrust = await freshDtrust(server().url);
  assert.match(fatal(fails('dtrust', caInit, await dtrust.run(['-c', p.config, ...caInit])).stderr), /^the root certificate is a CA certificate/);
  assert.equal(fatal(fails('notary', caInit, await notary.run(caInit)).stdout), 'could not validate the path to a trusted root: unable to retrieve valid leaf certificates');
  assert.equal(await onServer(caGun), false);

  // Without --rootcert the certificate would be generated, self-signed: refused before any key is made.
  const genGun = PREFIX + 'generated';
  const gen = await freshDtrust(server().url);
  const g = fails('dtrust', ['init'], await gen.run(['-c', p.config, 'init', genGun, '-p']));
  assert.match(fatal(g.stderr), /^example\.com\/pin\/generated is under trust_pinning\.ca\["example\.com\/pin\/"\]: its root certificate must be issued by the CA in .*conf\/ca\.pem/);
  assert.match(g.stderr, /hint: .* dtrust init example\.com\/pin\/generated --rootkey <key\.pem> --rootcert <cert\.pem>/);
  assert.equal(existsSync(join(gen.trustDir, 'private')) && readdirSync(join(gen.trustDir, 'private')).length > 0, false, 'no key was made');
  assert.equal(fatal(fails('notary', ['init'], await notary.run(['init', genGun, '-p'])).stdout), NO_MATCH);
});

test('an unreadable or empty CA file is an error naming the file; a cached root does not need it (as notary)', async () => {
  const p = await pki();
  const gun = PREFIX + 'files';
  const r = p.root('files');
  const owner = await freshDtrust(server().url);
  ok('dtrust', ['init'], await owner.run(['-c', p.config, 'init', gun, '--rootkey', r.encryptedKey!, '--rootcert', r.cert, '-p']));
  const notary = await pinnedNotary(p);

  const withCa = (name: string, ca: string): string => file(p.confDir, `${name}.json`, JSON.stringify({ trust_pinning: { ca: { [PREFIX]: ca } } }));
  writeFileSync(join(p.confDir, 'empty.pem'), '');
  mkdirSync(join(p.confDir, 'a-directory.pem'));
  const rows: { name: string; ca: string; ours: (path: string) => string }[] = [
    { name: 'missing', ca: 'missing.pem', ours: (f) => `could not load root cert from CA path: open ${f}: no such file or directory` },
    { name: 'empty', ca: 'empty.pem', ours: (f) => `could not load root cert from CA path ${f}: no certificates in it` },
    { name: 'directory', ca: 'a-directory.pem', ours: (f) => `could not load root cert from CA path: read ${f}: is a directory` },
    { name: 'a key', ca: r.key, ours: (f) => `could not load root cert from CA path ${f}: it holds a PEM block that is not a certificate` },
  ];
  for (const row of rows) {
    const cfg = withCa(row.name.replace(/ /g, '-'), row.ca);
    const path = row.ca.startsWith('/') ? row.ca : join(p.confDir, row.ca);
    const reader: DtrustClient = await freshDtrust(server().url);
    const d = fails('dtrust', ['list'], await reader.run(['-c', cfg, 'list', gun]));
    assert.equal(fatal(d.stderr), `could not validate the path to a trusted root: ${row.ours(path)}`, row.name);
    assert.match(d.stderr, new RegExp(`hint: trust_pinning\\.ca\\["example\\.com/pin/"\\] names ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), row.name);
    // notary says the same, without naming the file.
    const n = fails('notary', ['list'], await notary.client.run(['-c', cfg, 'list', gun], { cwd: p.confDir }));
    assert.equal(fatal(n.stdout), 'could not validate the path to a trusted root: could not load root cert from CA path', row.name);
  }
  // Once the root is cached it is the anchor: the CA file is not read again.
  ok('dtrust', ['list'], await owner.run(['-c', withCa('gone', 'gone.pem'), 'list', gun]));
});
