// Root keys rebuilt from their certificates (formats.md §3.4, §7.3): which certificates make a
// usable root key, at the edges of each of notary's checks, and which common names match a GUN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRootCertificate } from '../../src/crypto/certgen.js';
import { goPemCertificates, inspectCertificate } from '../../src/crypto/x509.js';
import { PublicKey } from '../../src/tuf/keys.js';
import type { Root } from '../../src/tuf/metadata.js';
import { cnMatches, validRootKeys } from '../../src/tuf/rootcerts.js';
import { tempDir } from '../rig/tmp.js';
import { LEAF_EXT, certDer, issue, makeCa } from '../support/openssl-ca.js';

const GUN = 'example.com/team/app';
const DAY = 86_400_000;

function rootWith(...keys: PublicKey[]): Root {
  return { roles: new Map([['root', { keyids: keys.map((k) => k.id), threshold: 1 }]]), keys: new Map(keys.map((k) => [k.id, k])) } as unknown as Root;
}

const x509 = (...ders: Buffer[]): PublicKey => new PublicKey('ecdsa-x509', Buffer.from(goPemCertificates(ders), 'latin1'));

/** The keys validRootKeys keeps, and its warnings. */
function kept(key: PublicKey, o: { nowMs?: number; checkExpiry?: boolean; gun?: string } = {}): { n: number; warnings: string[] } {
  const warnings: string[] = [];
  const m = validRootKeys(rootWith(key), { gun: o.gun ?? GUN, nowMs: o.nowMs ?? Date.now(), checkExpiry: o.checkExpiry ?? true, warnings });
  return { n: m.size, warnings };
}

function ecKeys(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

async function selfSigned(notBefore: number, notAfter: number, commonName = GUN): Promise<Buffer> {
  return createRootCertificate({ ...ecKeys(), commonName, notBefore: new Date(notBefore), notAfter: new Date(notAfter) });
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('a notary root certificate is kept; a key whose bytes are a certificate but whose type is not x509 is not', async () => {
  const now = Date.now();
  const der = await selfSigned(now - DAY, now + 3650 * DAY);
  assert.equal(kept(x509(der)).n, 1);
  // keytype "ecdsa" with a PEM certificate as its bytes: not a certificate key, whatever it holds.
  assert.equal(kept(new PublicKey('ecdsa', Buffer.from(goPemCertificates([der]), 'latin1'))).n, 0);
});

test('the PEM must hold certificates only; the leaf must not be a CA, and every certificate after it must be one', async () => {
  const dir = await tempDir('rootcerts-chain-');
  const ca = makeCa(dir, 'ca');
  const leaf = certDer(issue(dir, 'leaf', { cn: GUN, issuer: ca }).cert);
  const caDer = certDer(ca.cert);
  assert.equal(kept(x509(leaf)).n, 1);
  assert.equal(kept(x509(leaf, caDer)).n, 1, 'leaf + CA intermediate');
  const rebuilt = [...validRootKeys(rootWith(x509(leaf, caDer)), { gun: GUN, nowMs: Date.now(), checkExpiry: true }).values()][0]!;
  assert.equal(rebuilt.pub.toString('latin1'), goPemCertificates([leaf, caDer]), 'the usable intermediate is kept');
  const other = certDer(issue(dir, 'other', { cn: GUN, issuer: ca }).cert);
  assert.equal(kept(x509(leaf, other)).n, 0, 'a non-CA certificate after the leaf');
  assert.equal(kept(x509(certDer(makeCa(dir, 'cacn', { cn: GUN }).cert))).n, 0, 'a CA certificate as the leaf');
  const withKey = Buffer.from(goPemCertificates([leaf]) + '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', 'latin1');
  assert.equal(kept(new PublicKey('ecdsa-x509', withKey)).n, 0, 'a certificate followed by another PEM block');
  assert.equal(kept(new PublicKey('ecdsa-x509', Buffer.from('no PEM here'))).n, 0);
});

test('validity: not before its start, not after its end, a day of clock skew allowed at the start; the end ignored for an old root', async () => {
  const start = Date.parse('2030-01-01T00:00:00Z');
  const end = Date.parse('2031-01-01T00:00:00Z');
  const der = await selfSigned(start, end);
  const info = inspectCertificate(der);
  assert.deepEqual([info.notBefore, info.notAfter], [start, end]);
  assert.equal(kept(x509(der), { nowMs: end }).n, 1, 'valid at its last instant');
  assert.equal(kept(x509(der), { nowMs: end + 1000 }).n, 0);
  assert.equal(kept(x509(der), { nowMs: start - DAY }).n, 1, 'a day early is clock skew');
  assert.equal(kept(x509(der), { nowMs: start - DAY - 1000 }).n, 0);
  assert.equal(kept(x509(der), { nowMs: end + 365 * DAY, checkExpiry: false }).n, 1, 'an old root\'s expired certificate still counts');
  // A certificate that ends before it starts is never usable; one that ends as it starts is.
  assert.equal(kept(x509(await selfSigned(end, start)), { nowMs: end, checkExpiry: false }).n, 0);
  assert.equal(kept(x509(await selfSigned(start, start)), { nowMs: start, checkExpiry: false }).n, 1);
});

test('a certificate within 182 days of its end is kept with a warning to rotate; none for an old root or a later end', async () => {
  const start = Date.parse('2030-01-01T00:00:00Z');
  const end = Date.parse('2031-01-01T00:00:00Z');
  const key = x509(await selfSigned(start, end));
  assert.deepEqual(kept(key, { nowMs: end - 182 * DAY }).warnings, []);
  const soon = kept(key, { nowMs: end - 182 * DAY + 1000 });
  assert.deepEqual(soon, { n: 1, warnings: [`certificate for ${GUN} expires soon (2031-01-01T00:00:00.000Z); rotate the root key`] });
  assert.deepEqual(kept(key, { nowMs: end - 10 * DAY, checkExpiry: false }).warnings, []);
});

test('weak certificates are refused: signed with SHA-1, or an RSA key under 2048 bits (2048 is enough)', async () => {
  const dir = await tempDir('rootcerts-weak-');
  const make = (name: string, keyArgs: string[], digest: string, subject = `/CN=${GUN.replace(/\//g, '\\/')}`): Buffer => {
    const key = join(dir, `${name}.key`);
    const cert = join(dir, `${name}.pem`);
    openssl([...keyArgs, '-out', key]);
    writeFileSync(join(dir, 'leaf.ext'), LEAF_EXT);
    openssl(['req', '-new', '-key', key, '-subj', subject, '-out', join(dir, `${name}.csr`)]);
    openssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-signkey', key, `-${digest}`, '-days', '365', '-extfile', join(dir, 'leaf.ext'), '-out', cert]);
    return certDer(cert);
  };
  const ec = ['ecparam', '-genkey', '-name', 'prime256v1', '-noout'];
  assert.equal(kept(x509(make('ec256', ec, 'sha256'))).n, 1);
  assert.equal(kept(x509(make('ecsha1', ec, 'sha1'))).n, 0);
  const rsa = (bits: number): string[] => ['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${bits}`];
  assert.equal(kept(new PublicKey('rsa-x509', Buffer.from(goPemCertificates([make('rsa2048', rsa(2048), 'sha256')]), 'latin1'))).n, 1);
  assert.equal(kept(new PublicKey('rsa-x509', Buffer.from(goPemCertificates([make('rsa1024', rsa(1024), 'sha256')]), 'latin1'))).n, 0);
  // No common name at all: refused, not a crash.
  assert.equal(kept(x509(make('nocn', ec, 'sha256', '/O=no common name'))).n, 0);
});

test('common names: the GUN itself, or a prefix ending in * (notary\'s wildcard); nothing else', async () => {
  assert.equal(cnMatches(GUN, GUN), true);
  assert.equal(cnMatches('example.com/*', GUN), true);
  assert.equal(cnMatches('example.com/team/app*', GUN), true);
  assert.equal(cnMatches('*', GUN), true);
  assert.equal(cnMatches('example.com/team', GUN), false, 'a prefix without * is not a wildcard');
  assert.equal(cnMatches('other.com/*', GUN), false);
  assert.equal(cnMatches('*/app', GUN), false, '* only at the end');
  assert.equal(cnMatches('team/app*', GUN), false);
  assert.equal(cnMatches(null, GUN), false);
  const now = Date.now();
  assert.equal(kept(x509(await selfSigned(now - DAY, now + 3650 * DAY, 'example.com/*'))).n, 1);
  assert.equal(kept(x509(await selfSigned(now - DAY, now + 3650 * DAY, 'example.com/other'))).n, 0);
});
