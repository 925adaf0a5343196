// The rule that picks notary's or docker's `key generate` (docs/commands/trust-key.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDockerError } from '../../src/docker/errors.js';
import { keyGenerateVerb, looksLikeAlgorithm, type KeyGenerateLine } from '../../src/docker/keygen.js';

const line = (arg: string | undefined, o: Partial<KeyGenerateLine> = {}): KeyGenerateLine => ({ program: 'dtrust', arg, notaryFlags: false, dockerFlags: false, ...o });

test('run as notary, always notary\'s verb', () => {
  for (const arg of [undefined, 'ecdsa', 'bogus', 'Alice', 'my.key']) assert.equal(keyGenerateVerb(line(arg, { program: 'notary' })), 'notary');
  assert.equal(keyGenerateVerb(line('alice', { program: 'notary', dockerFlags: true })), 'notary');
});

test('run as dtrust: algorithms and their look-alikes are notary\'s, clear signer names docker\'s', () => {
  const rows: [string | undefined, Partial<KeyGenerateLine>, 'notary' | 'docker'][] = [
    [undefined, {}, 'notary'],
    ['ecdsa', {}, 'notary'],
    ['RSA', {}, 'notary'],
    ['Ed25519', {}, 'notary'],
    ['ecdsa256', {}, 'notary'],
    ['ecdsa-p384', {}, 'notary'],
    ['rsa4096', {}, 'notary'],
    ['EC', {}, 'notary'],
    ['P-256', {}, 'notary'],
    ['secp256r1', {}, 'notary'],
    ['prime256v1', {}, 'notary'],
    ['alice', { notaryFlags: true }, 'notary'],
    ['alice', {}, 'docker'],
    ['bogus', {}, 'docker'],
    ['ci-bot', {}, 'docker'],
    ['release_2', {}, 'docker'],
    ['echo', {}, 'docker'],
    ['rsa', { dockerFlags: true }, 'docker'],
    [undefined, { dockerFlags: true }, 'docker'],
  ];
  for (const [arg, o, want] of rows) assert.equal(keyGenerateVerb(line(arg, o)), want, `${arg} ${JSON.stringify(o)}`);
});

test('run as dtrust: neither an algorithm nor a signer name, or both kinds of flags, is refused', () => {
  for (const l of [line('Alice'), line('my.key'), line('-x-'), line('alice', { notaryFlags: true, dockerFlags: true })]) {
    assert.throws(() => keyGenerateVerb(l), (e) => isDockerError(e, 'USAGE') && /trust key generate NAME/.test(e.hint ?? ''), JSON.stringify(l));
  }
  assert.equal(looksLikeAlgorithm('alice'), false);
});
