// One error tree (design principle 4): every layer's error is a DtrustError built as
// new X(code, message, fields, cause), and the renderer reads that one shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CliError, UsageError } from '../src/cli/errors.js';
import { ClientError, describeError } from '../src/client/errors.js';
import { PayloadError } from '../src/client/payload.js';
import { ConfigError } from '../src/config/errors.js';
import { DerError } from '../src/crypto/der.js';
import { KeyFileError } from '../src/crypto/pbes2.js';
import { CryptoError } from '../src/crypto/signature.js';
import { DockerError } from '../src/docker/errors.js';
import { DtrustError } from '../src/errors.js';
import { KeyStoreError } from '../src/keystore/errors.js';
import { RemoteError } from '../src/remote/errors.js';
import { StorageError } from '../src/storage/errors.js';
import { TrustError } from '../src/tuf/errors.js';

test('every layer builds its error as (code, message, fields, cause); the renderer reads code, message and hint', () => {
  const cause = new Error('underneath');
  const errors: [DtrustError, string][] = [
    [new TrustError('EXPIRED', 'm', { role: 'root', hint: 'h' }, cause), 'TrustError'],
    [new KeyStoreError('KEY_NOT_FOUND', 'm', { keyId: 'k', hint: 'h' }, cause), 'KeyStoreError'],
    [new StorageError('WRITE_FAILED', 'm', { path: '/p', hint: 'h' }, cause), 'StorageError'],
    [new RemoteError('OFFLINE', 'm', { url: 'https://x', hint: 'h' }, cause), 'RemoteError'],
    [new ConfigError('CONFIG_SYNTAX', 'm', { path: '/c', hint: 'h' }, cause), 'ConfigError'],
    [new DockerError('NOT_SIGNED', 'm', { hint: 'h' }, cause), 'DockerError'],
    [new CliError('BAD_INPUT', 'm', { hint: 'h' }, cause), 'CliError'],
    [new ClientError('COSIGN', 'm', { hint: 'h' }, cause), 'ClientError'],
    [new PayloadError('PAYLOAD_SPOOL', 'm', { hint: 'h' }, cause), 'PayloadError'],
    [new CryptoError('BAD_PUBLIC_KEY', 'm', { hint: 'h' }, cause), 'CryptoError'],
    [new KeyFileError('BAD_KEY_FILE', 'm', { hint: 'h' }, cause), 'KeyFileError'],
  ];
  for (const [e, name] of errors) {
    assert.ok(e instanceof DtrustError, name);
    assert.equal(e.name, name);
    assert.equal(e.cause, cause, name);
    assert.equal(e.fields.hint, 'h', name);
    assert.deepEqual(describeError(e), { message: 'm', hint: 'h', code: e.code }, name);
  }
  const der = new DerError('BAD_DER', 'length too long', { offset: 7 });
  assert.deepEqual(describeError(der), { message: 'malformed DER at offset 7: length too long', hint: undefined, code: 'BAD_DER' });
  assert.equal(der.offset, 7);
  assert.deepEqual(describeError(new UsageError('Must specify a GUN')), { message: 'Must specify a GUN', hint: undefined, code: 'USAGE' });
  // Without a hint, a remote error says what to check by its code.
  assert.match(new RemoteError('OFFLINE', 'm', { url: 'https://x' }).hint, /check the server URL/);
});

test('anything else is rendered by its message only, with its errno code', () => {
  const enoent = Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT', hint: 'not read' });
  assert.deepEqual(describeError(enoent), { message: 'ENOENT: no such file or directory', hint: undefined, code: 'ENOENT' });
  assert.deepEqual(describeError('text'), { message: 'text' });
});
