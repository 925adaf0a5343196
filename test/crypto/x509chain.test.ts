// Chains as notary's CA trust pinning builds them (Go 1.19 Certificate.Verify with the default
// server-authentication key usage), on certificates made with openssl. Each refusal below is one
// that the real notary makes too (test/cli/trust-pinning.test.ts checks the main ones against it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspectCertificate, type CertInfo } from '../../src/crypto/x509.js';
import { chainVerifies } from '../../src/crypto/x509chain.js';
import { tempDir } from '../rig/tmp.js';
import { CA_EXT, LEAF_EXT, certDer, issue, makeCa, type Made } from '../support/openssl-ca.js';

const DAY = 86_400_000;

function info(m: Made): CertInfo {
  return inspectCertificate(certDer(m.cert));
}

test('chain rules: issuer, signature, CA flags, key usages, path length, validity, critical extensions', async () => {
  const dir = await tempDir('x509chain-');
  const ca = makeCa(dir, 'ca', { cn: 'Pinned CA' });
  const sameName = makeCa(dir, 'same-name', { cn: 'Pinned CA' });
  const leaf = (name: string, issuer: Made, ext = LEAF_EXT): Made => issue(dir, name, { cn: `example.com/${name}`, issuer, ext });
  const int = issue(dir, 'int', { cn: 'Intermediate', issuer: ca, ext: CA_EXT });
  const intPathLen0 = issue(dir, 'int0', { cn: 'Intermediate 0', issuer: ca, ext: 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n' });
  const intBelow0 = issue(dir, 'int-below-0', { cn: 'Below 0', issuer: intPathLen0, ext: CA_EXT });
  const notCa = leaf('not-a-ca', ca);
  const noBasicConstraints = makeCa(dir, 'no-bc', { ext: 'keyUsage=critical,keyCertSign\n' });
  const noCertSign = makeCa(dir, 'no-certsign', { ext: 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n' });
  const codeSigningCa = makeCa(dir, 'codesigning-ca', { ext: `${CA_EXT}extendedKeyUsage=codeSigning\n` });
  const rows: { name: string; leaf: Made; ints?: Made[]; roots: Made[]; at?: number; ok: boolean }[] = [
    { name: 'issued by the pinned CA', leaf: leaf('plain', ca), roots: [ca], ok: true },
    { name: 'one of several CAs in the bundle', leaf: leaf('second', ca), roots: [sameName, ca], ok: true },
    { name: 'another CA of the same name', leaf: leaf('other-ca', sameName), roots: [ca], ok: false },
    { name: 'no extended key usage', leaf: leaf('no-eku', ca, 'basicConstraints=critical,CA:FALSE\n'), roots: [ca], ok: true },
    { name: 'no extensions at all', leaf: leaf('no-ext', ca, ''), roots: [ca], ok: true },
    { name: 'codeSigning only (Go asks for serverAuth)', leaf: leaf('codesigning', ca, `${LEAF_EXT}extendedKeyUsage=codeSigning\n`), roots: [ca], ok: false },
    { name: 'serverAuth and codeSigning', leaf: leaf('serverauth', ca, `${LEAF_EXT}extendedKeyUsage=serverAuth,codeSigning\n`), roots: [ca], ok: true },
    { name: 'anyExtendedKeyUsage', leaf: leaf('any-eku', ca, `${LEAF_EXT}extendedKeyUsage=anyExtendedKeyUsage\n`), roots: [ca], ok: true },
    { name: 'a CA limited to codeSigning', leaf: leaf('under-codesigning', codeSigningCa), roots: [codeSigningCa], ok: false },
    { name: 'through an intermediate from the root file', leaf: leaf('via-int', int), ints: [int], roots: [ca], ok: true },
    { name: 'through an intermediate that is missing', leaf: leaf('via-missing', int), roots: [ca], ok: false },
    { name: 'the intermediate pinned as the CA', leaf: leaf('int-pinned', int), roots: [int], ok: true },
    { name: 'issued by a leaf of the pinned CA (used as intermediate)', leaf: leaf('by-leaf', notCa), ints: [notCa], roots: [ca], ok: false },
    { name: 'issued by a leaf pinned as the CA', leaf: leaf('by-pinned-leaf', notCa), roots: [notCa], ok: false },
    { name: 'the leaf itself pinned', leaf: notCa, roots: [notCa], ok: true },
    { name: 'a version 3 CA without basicConstraints', leaf: leaf('by-no-bc', noBasicConstraints), roots: [noBasicConstraints], ok: false },
    { name: 'a CA whose keyUsage lacks keyCertSign', leaf: leaf('by-no-certsign', noCertSign), roots: [noCertSign], ok: false },
    { name: 'pathlen:0 with one intermediate below it', leaf: leaf('too-deep', intBelow0), ints: [intBelow0, intPathLen0], roots: [ca], ok: false },
    { name: 'pathlen:0 directly above the leaf', leaf: leaf('under-pathlen0', intPathLen0), ints: [intPathLen0], roots: [ca], ok: true },
    { name: 'an unhandled critical extension', leaf: leaf('critical-ext', ca, `${LEAF_EXT}1.2.3.4=critical,ASN1:NULL\n`), roots: [ca], ok: false },
    { name: 'the leaf expired (CA still valid)', leaf: leaf('expired', ca), roots: [ca], at: Date.now() + 400 * DAY, ok: false },
    { name: 'the leaf not valid yet', leaf: leaf('not-yet', ca), roots: [ca], at: Date.now() - 2 * DAY, ok: false },
  ];
  const now = Date.now(); // after every certificate was made (their validity starts when they are)
  for (const r of rows) {
    const got = chainVerifies(info(r.leaf), (r.ints ?? []).map(info), r.roots.map(info), r.at ?? now);
    assert.equal(got, r.ok, r.name);
  }
});
