// Trust pinning in the engine: which rule of trust_pinning decides a GUN (notary's precedence),
// and a CA rule applied to root certificates, with the CA bundle's bytes as the caller read them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { goPemCertificates } from '../../src/crypto/x509.js';
import { isTrustError } from '../../src/tuf/errors.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { applyPin, pinRule, type RootPin } from '../../src/tuf/rootcerts.js';
import { tempDir } from '../rig/tmp.js';
import { certDer, issue, makeCa } from '../support/openssl-ca.js';

const GUN = 'example.com/team/app';

test('pinRule: exact certs entry, then the longest prefix* entry, then the longest CA prefix, then TOFU or refusal', () => {
  const certs = { [GUN]: ['a'], 'example.com/*': ['b'], 'example.com/team/*': ['c'], 'other/*': ['d'] };
  const ca = { '': '/ca/all.pem', 'example.com/': '/ca/example.pem', 'example.com/team/': '/ca/team.pem' };
  assert.deepEqual(pinRule(GUN, { certs, ca }), { kind: 'certs', entry: GUN, ids: ['a'] });
  assert.deepEqual(pinRule('example.com/team/x', { certs, ca }), { kind: 'certs', entry: 'example.com/team/*', ids: ['c'] });
  assert.deepEqual(pinRule('example.com/team/x', { ca }), { kind: 'ca', prefix: 'example.com/team/', file: '/ca/team.pem' });
  assert.deepEqual(pinRule('example.com/solo', { ca }), { kind: 'ca', prefix: 'example.com/', file: '/ca/example.pem' });
  assert.deepEqual(pinRule('elsewhere/x', { ca }), { kind: 'ca', prefix: '', file: '/ca/all.pem' }, 'an empty prefix covers every GUN');
  assert.deepEqual(pinRule('elsewhere/x', { certs }), { kind: 'tofu' });
  assert.deepEqual(pinRule('elsewhere/x', { certs, disableTofu: true }), { kind: 'refuse' });
  assert.deepEqual(pinRule(GUN, undefined), { kind: 'tofu' });
  // An exact entry wins even when its list is empty: nothing can match it.
  assert.deepEqual(pinRule(GUN, { certs: { [GUN]: [] }, ca }), { kind: 'certs', entry: GUN, ids: [] });
});

test('applyPin with a CA: keeps the root certificates the CA issued; refuses others and unusable bundles, naming the file', async () => {
  const dir = await tempDir('pinning-');
  const ca = makeCa(dir, 'ca');
  const other = makeCa(dir, 'other');
  const key = (cert: string): PublicKey => new PublicKey('ecdsa-x509', Buffer.from(goPemCertificates([certDer(cert)]), 'latin1'));
  const good = key(issue(dir, 'good', { cn: GUN, issuer: ca }).cert);
  const stranger = key(issue(dir, 'stranger', { cn: GUN, issuer: other }).cert);
  const now = Date.now();
  const pin = (bundle: string | Buffer): RootPin => ({ kind: 'ca', prefix: 'example.com/', file: '/etc/pins/ca.pem', bundle: Buffer.from(bundle) });
  const caPem = readFileSync(ca.cert);

  const both = new Map([[good.id, good], [stranger.id, stranger]]);
  assert.deepEqual([...applyPin(both, GUN, pin(caPem), now).keys()], [good.id]);
  const refused = (p: RootPin, keys: Map<string, PublicKey>, message: RegExp, hint: RegExp): void => {
    assert.throws(
      () => applyPin(keys, GUN, p, now),
      (e: unknown) => isTrustError(e, 'TRUST_PINNING') && message.test(e.message) && hint.test(e.fields.hint ?? ''),
    );
  };
  refused(pin(caPem), new Map([[stranger.id, stranger]]), /^could not validate the path to a trusted root: unable to match any certificates to trust_pinning config$/, /does not chain to a CA in \/etc\/pins\/ca\.pem \(trust_pinning\.ca\["example\.com\/"\]\)/);
  refused(pin(''), both, /could not load root cert from CA path \/etc\/pins\/ca\.pem: no certificates in it$/, /trust_pinning\.ca\["example\.com\/"\] names \/etc\/pins\/ca\.pem/);
  refused(pin(Buffer.concat([caPem, readFileSync(ca.key)])), both, /\/etc\/pins\/ca\.pem: it holds a PEM block that is not a certificate$/, /PEM certificates of the CA/);
  refused(pin('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), both, /could not load root cert from CA path \/etc\/pins\/ca\.pem: /, /names \/etc\/pins\/ca\.pem/);
  // A bundle whose every CA has expired (notary: "invalid CA certs provided").
  assert.throws(
    () => applyPin(both, GUN, pin(caPem), now + 11 * 365 * 86_400_000),
    (e: unknown) => isTrustError(e, 'TRUST_PINNING') && e.message === 'could not validate the path to a trusted root: invalid CA certs provided in /etc/pins/ca.pem',
  );
  // Other rules.
  assert.equal(applyPin(both, GUN, { kind: 'tofu' }, now), both);
  assert.equal(applyPin(both, GUN, undefined, now), both);
  refused({ kind: 'refuse' }, both, /: invalid trust pinning specified$/, /disable_tofu is set/);
  refused({ kind: 'certs', entry: GUN, ids: ['0'.repeat(64)] }, both, /unable to match any certificates/, new RegExp(`lists none of the root certificate IDs .*${good.id}`));
  assert.deepEqual([...applyPin(both, GUN, { kind: 'certs', entry: GUN, ids: [stranger.id] }, now).keys()], [stranger.id]);
});
