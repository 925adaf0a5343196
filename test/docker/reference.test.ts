// Image reference → GUN and tag, as docker's ParseNormalizedNamed maps them (cli.md §11.2), and
// where the registry, the trust server and the credentials of an image are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  credentialServer,
  defaultTrustServer,
  familiarName,
  isLoopbackHost,
  parseImageReference,
  registryEndpoints,
} from '../../src/docker/reference.js';
import { isDockerError } from '../../src/docker/errors.js';

const D = 'sha256:' + 'ab'.repeat(32);

test('references map to GUN, tag and digest as docker maps them', () => {
  const rows: [string, string, string | undefined, string | undefined][] = [
    ['alpine', 'docker.io/library/alpine', undefined, undefined],
    ['alpine:3.19', 'docker.io/library/alpine', '3.19', undefined],
    ['library/alpine:3.19', 'docker.io/library/alpine', '3.19', undefined],
    ['docker.io/alpine', 'docker.io/library/alpine', undefined, undefined],
    ['index.docker.io/library/alpine:edge', 'docker.io/library/alpine', 'edge', undefined],
    ['example/trust-demo:v1', 'docker.io/example/trust-demo', 'v1', undefined],
    ['example/a/b:v1', 'docker.io/example/a/b', 'v1', undefined],
    ['registry.example.com:5000/team/app:1.0', 'registry.example.com:5000/team/app', '1.0', undefined],
    ['registry.example.com/app', 'registry.example.com/app', undefined, undefined],
    ['localhost/app:v', 'localhost/app', 'v', undefined],
    ['localhost:5000/app', 'localhost:5000/app', undefined, undefined],
    ['127.0.0.1:5000/team/app:v1', '127.0.0.1:5000/team/app', 'v1', undefined],
    ['[::1]:5000/app:x', '[::1]:5000/app', 'x', undefined],
    [`alpine@${D}`, 'docker.io/library/alpine', undefined, D],
    [`alpine:3@${D}`, 'docker.io/library/alpine', '3', D],
    ['Registry.Example.com/app', 'Registry.Example.com/app', undefined, undefined],
    ['a.b/c__d/e-f.g:T_1', 'a.b/c__d/e-f.g', 'T_1', undefined],
  ];
  for (const [input, name, tag, digest] of rows) {
    const r = parseImageReference(input);
    assert.equal(r.name, name, input);
    assert.equal(r.tag, tag, input);
    assert.equal(r.digest, digest, input);
    assert.equal(r.original, input);
    assert.equal(`${r.domain}/${r.path}`, r.name);
  }
});

test('invalid references fail with docker messages', () => {
  const rows: [string, RegExp][] = [
    ['', /^repository name must have at least one component$/],
    ['Alpine', /^invalid reference format: repository name \(library\/Alpine\) must be lowercase$/],
    ['example/App:v1', /^invalid reference format: repository name \(example\/App\) must be lowercase$/],
    ['a'.repeat(64).replace(/a/g, 'f'), /cannot specify 64-byte hexadecimal strings/],
    ['alpine:', /^invalid reference format$/],
    ['alpine::x', /^invalid reference format$/],
    ['-alpine', /^invalid reference format$/],
    ['alpine:' + 'x'.repeat(129), /^invalid reference format$/],
    ['a/' + 'b'.repeat(250), /must not be more than 255 characters/],
    ['alpine@sha256:abc', /^invalid reference format$/],
    ['alpine@md5:' + 'ab'.repeat(16), /unsupported digest algorithm/],
    ['alpine@sha256:' + 'ab'.repeat(31), /^invalid reference format$|invalid checksum digest length/],
    ['alpine with space', /^invalid reference format$/],
  ];
  for (const [input, re] of rows) {
    assert.throws(() => parseImageReference(input), (e: unknown) => isDockerError(e, 'INVALID_REFERENCE') && re.test((e as Error).message), input);
  }
});

test('familiar names, trust servers, credentials keys and registry endpoints', () => {
  assert.equal(familiarName(parseImageReference('docker.io/library/alpine')), 'alpine');
  assert.equal(familiarName(parseImageReference('example/app')), 'example/app');
  assert.equal(familiarName(parseImageReference('r.example.com/x/y')), 'r.example.com/x/y');
  assert.equal(defaultTrustServer('docker.io'), 'https://notary.docker.io');
  assert.equal(defaultTrustServer('r.example.com:5000'), 'https://r.example.com:5000');
  assert.equal(credentialServer('docker.io'), 'https://index.docker.io/v1/');
  assert.equal(credentialServer('r.example.com:5000'), 'https://r.example.com:5000');
  assert.deepEqual(registryEndpoints('docker.io'), [{ url: 'https://registry-1.docker.io', skipVerify: false }]);
  assert.deepEqual(registryEndpoints('r.example.com'), [{ url: 'https://r.example.com', skipVerify: false }]);
  assert.deepEqual(
    registryEndpoints('127.0.0.1:5000').map((e) => e.url),
    ['https://127.0.0.1:5000', 'http://127.0.0.1:5000'],
  );
  assert.deepEqual(
    registryEndpoints('registry:5000', ['registry:5000']).map((e) => e.url),
    ['https://registry:5000', 'http://registry:5000'],
  );
  for (const h of ['localhost', 'localhost:5000', '127.0.0.1', '127.8.9.10:1', '[::1]:5000', '::1']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['example.com', '10.0.0.1:5000', 'localhost.example.com', '128.0.0.1']) assert.equal(isLoopbackHost(h), false, h);
});
