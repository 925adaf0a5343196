// Unit tests of src/remote's parsing and building: server URLs, escaping, WWW-Authenticate,
// token URLs, the multipart body, server error bodies, NOTARY_AUTH.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChallenges, tokenRequestUrl } from '../../src/remote/auth.js';
import { chainCredentials, notaryAuthCredentials } from '../../src/remote/credentials.js';
import { RemoteError, isRemoteError, sanitize } from '../../src/remote/errors.js';
import type { HttpResponse } from '../../src/remote/http.js';
import { multipartBody, parseServerErrors, statusError } from '../../src/remote/notary.js';
import { escapeGun, escapeName, escapeSegment, parseServerUrl } from '../../src/remote/url.js';
import { everythingIn } from './support.js';

function configError(fn: () => unknown): RemoteError {
  try {
    fn();
  } catch (e) {
    assert.ok(isRemoteError(e, 'CONFIG'), `expected CONFIG, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a CONFIG error');
}

describe('server URL (cli.md §7.1)', () => {
  test('notary messages for URLs without a scheme', () => {
    assert.equal(
      configError(() => parseServerUrl('127.0.0.1:4471')).message,
      'Could not parse remote trust server url (127.0.0.1:4471): parse "127.0.0.1:4471": first path segment in URL cannot contain colon',
    );
    assert.equal(configError(() => parseServerUrl('localhost')).message, 'Trust server url has to be in the form of http(s)://URL:PORT. Got: localhost');
    assert.match(configError(() => parseServerUrl(':4443')).message, /missing protocol scheme$/);
    // Go would take "localhost" as the scheme here and fail later; dtrust refuses at once.
    assert.match(configError(() => parseServerUrl('localhost:4443')).message, /has to be in the form of http\(s\):\/\/URL:PORT\. Got: localhost:4443$/);
    assert.match(configError(() => parseServerUrl('ftp://x')).message, /Got: ftp:\/\/x$/);
    assert.match(configError(() => parseServerUrl('https://h/?q=1')).message, /query or a fragment/);
    assert.match(configError(() => parseServerUrl('http://h\n/')).message, /invalid control character/);
  });

  test('prefix kept, trailing slashes dropped, user info removed and never shown', () => {
    const u = parseServerUrl('https://user:s3cret-pw@Notary.Example.com:4443/some/prefix//');
    assert.equal(u.prefix, '/some/prefix');
    assert.equal(u.host, 'notary.example.com:4443');
    assert.equal(u.display, 'https://notary.example.com:4443/some/prefix');
    assert.equal(u.port, 4443);
    assert.equal(u.url.username, '');
    const plain = parseServerUrl('http://127.0.0.1');
    assert.deepEqual([plain.prefix, plain.port, plain.host, plain.display], ['', 80, '127.0.0.1', 'http://127.0.0.1']);
    const v6 = parseServerUrl('https://[::1]:4443/');
    assert.deepEqual([v6.hostname, v6.port, v6.host], ['::1', 4443, '[::1]:4443']);
    const e = configError(() => parseServerUrl('ftp://admin:hunter2-secret@h'));
    assert.ok(!everythingIn(e).includes('hunter2-secret'));
  });

  test('GUN and role segments are escaped; dangerous names refused', () => {
    assert.equal(escapeGun('docker.io/library/alpine', 'u'), 'docker.io/library/alpine');
    assert.equal(escapeGun('localhost:5000/a b/c?d#e%f', 'u'), 'localhost:5000/a%20b/c%3Fd%23e%25f');
    assert.equal(escapeSegment('é'), '%C3%A9');
    assert.equal(escapeName('targets/releases.abc', 'u'), 'targets/releases.abc');
    for (const bad of ['', '/a', 'a/', 'a//b', '../x', 'a/./b', 'a/..', 'a\\b', 'a\nb', 'a*b', 'x'.repeat(256)]) {
      configError(() => escapeGun(bad, 'u'));
    }
    for (const bad of ['', '..', 'targets/../root', 'a\u0000']) configError(() => escapeName(bad, 'u'));
  });
});

describe('WWW-Authenticate', () => {
  test('Bearer with quoted params, case-insensitive names and escapes', () => {
    const [c, ...rest] = parseChallenges('Bearer realm="https://auth.example.com/token",Service="notary \\"srv\\"", scope=repository:a/b:pull');
    assert.equal(rest.length, 0);
    assert.equal(c?.scheme, 'bearer');
    assert.equal(c?.params.get('realm'), 'https://auth.example.com/token');
    assert.equal(c?.params.get('service'), 'notary "srv"');
    assert.equal(c?.params.get('scope'), 'repository:a/b:pull');
  });

  test('several challenges in one header and in several headers', () => {
    const one = parseChallenges('Bearer realm="https://a/t", service="s", Basic realm="notary"');
    assert.deepEqual(one.map((c) => [c.scheme, Object.fromEntries(c.params)]), [
      ['bearer', { realm: 'https://a/t', service: 's' }],
      ['basic', { realm: 'notary' }],
    ]);
    const two = parseChallenges(['Basic realm="x, y"', 'Bearer realm="https://a/t",error="invalid_token"']);
    assert.deepEqual(two.map((c) => c.scheme), ['basic', 'bearer']);
    assert.equal(two[0]?.params.get('realm'), 'x, y');
    assert.equal(two[1]?.params.get('error'), 'invalid_token');
    assert.deepEqual(parseChallenges('Negotiate, Basic').map((c) => c.scheme), ['negotiate', 'basic']);
    assert.deepEqual(parseChallenges(undefined), []);
    assert.deepEqual(parseChallenges(['', '  ,, ']), []);
    // Garbage never throws.
    for (const g of ['Bearer realm="unterminated', '=,=', 'Bearer ===', 'Basic realm=', '\u0000']) parseChallenges(g);
  });

  test('token request URL: realm query kept, keys sorted, Go query escaping', () => {
    const u = tokenRequestUrl(new URL('https://auth.example.com/token?client_id=dtrust'), [
      ['service', 'notary server'],
      ['scope', 'repository:example.com/a b:push,pull'],
      ['account', 'al@ice'],
    ]);
    assert.equal(
      u.href,
      'https://auth.example.com/token?account=al%40ice&client_id=dtrust&scope=repository%3Aexample.com%2Fa+b%3Apush%2Cpull&service=notary+server',
    );
  });
});

describe('publish body (formats.md §6)', () => {
  test('multipart exactly as Go writes CreateFormFile parts', () => {
    const b = 'a'.repeat(60);
    const files = new Map([
      ['root', Buffer.from('{"r":1}')],
      ['targets/releases', Buffer.from([0, 1, 2, 0xff])],
    ]);
    const { body, contentType } = multipartBody(files, b);
    assert.equal(contentType, `multipart/form-data; boundary=${b}`);
    const expected = Buffer.concat([
      Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="files"; filename="root"\r\nContent-Type: application/octet-stream\r\n\r\n{"r":1}`),
      Buffer.from(`\r\n--${b}\r\nContent-Disposition: form-data; name="files"; filename="targets/releases"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      Buffer.from([0, 1, 2, 0xff]),
      Buffer.from(`\r\n--${b}--\r\n`),
    ]);
    assert.deepEqual(body, expected);
    const random = multipartBody(files);
    assert.match(random.contentType, /^multipart\/form-data; boundary=[0-9a-f]{60}$/);
  });
});

function response(status: number, body: string, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers, wwwAuthenticate: [], body: Buffer.from(body), truncated: false, url: 'http://127.0.0.1:1/v2/g/_trust/tuf/' };
}

describe('status → error (storage/httpstore.go)', () => {
  test('404, 401, 5xx and 3xx use notary texts', () => {
    const nf = statusError(response(404, '{"errors":[{"code":"METADATA_NOT_FOUND","message":"not found"}]}'), 'root');
    assert.equal(nf.code, 'NOT_FOUND');
    assert.equal(nf.message, 'root trust data unavailable.  Has a notary repository been initialized?');
    assert.equal(nf.resource, 'root');
    assert.equal(statusError(response(401, ''), 'x').message, 'you are not authorized to perform this operation: server returned 401.');
    const se = statusError(response(503, 'oops'), 'x');
    assert.deepEqual([se.code, se.message, se.status], ['SERVER_ERROR', 'unable to reach trust server at this time: 503.', 503]);
    const moved = statusError(response(301, '', { location: 'https://other/\u001b[31m' }), 'x');
    assert.equal(moved.message, 'unable to reach trust server at this time: 301.');
    assert.match(moved.hint, /does not follow redirects/);
    assert.ok(!moved.hint.includes('\u001b'));
  });

  test('400 with one known validation error shows it; others are generic but parsed', () => {
    const badRoot = statusError(
      response(400, '{"errors":[{"code":"INVALID_UPDATE","message":"update rejected","detail":{"Name":"ErrBadRoot","Error":{"Msg":"Root modifications must increment the version. Current 2, new 1"}}}]}'),
      'POST metadata endpoint',
    );
    assert.equal(badRoot.code, 'REJECTED');
    assert.equal(badRoot.message, 'The root metadata is invalid: Root modifications must increment the version. Current 2, new 1');
    assert.deepEqual(
      [badRoot.serverError?.code, badRoot.serverError?.detailName, badRoot.serverError?.detailMsg],
      ['INVALID_UPDATE', 'ErrBadRoot', 'Root modifications must increment the version. Current 2, new 1'],
    );
    const hierarchy = statusError(
      response(400, '{"errors":[{"code":"INVALID_UPDATE","message":"x","detail":{"Name":"ErrBadHierarchy","Error":{"Missing":"snapshot","Msg":"no snapshot was included in update and server does not hold current snapshot key for repository"}}}]}'),
      'p',
    );
    assert.equal(hierarchy.message, 'Metadata hierarchy is incomplete: no snapshot was included in update and server does not hold current snapshot key for repository');
    assert.equal(hierarchy.serverError?.detailMissing, 'snapshot');
    const version = statusError(response(400, '{"errors":[{"code":"VERSION","message":"version conflict","detail":{}}]}'), 'p');
    assert.equal(version.message, 'trust server rejected operation.');
    assert.equal(version.serverError?.code, 'VERSION');
    assert.match(version.hint, /run the command again/);
    assert.equal(statusError(response(400, 'not json'), 'p').message, 'trust server rejected operation.');
    assert.equal(statusError(response(400, '{"errors":[{"code":"A","detail":{"Name":"ErrBadRoot","Error":{"Msg":"m"}}},{"code":"B"}]}'), 'p').message, 'trust server rejected operation.');
    const hostile = statusError(response(400, '{"errors":[{"code":"INVALID_UPDATE","detail":{"Name":"ErrValidation","Error":{"Msg":"\\u001b]0;pwned\\u0007"}}}]}'), 'p');
    assert.ok(!/[\u0000-\u001f]/.test(hostile.message), hostile.message);
    assert.match(hostile.message, /^An error occurred during validation: /);
    assert.deepEqual(parseServerErrors(Buffer.from('{"errors":{}}')), undefined);
    assert.deepEqual(parseServerErrors(Buffer.from('{"__proto__":{"errors":[1]}}')), undefined);
  });

  test('sanitize removes control and bidi characters and bounds length', () => {
    assert.equal(sanitize('a\u0000b\u202ec\u009b'), 'a\uFFFDb\uFFFDc\uFFFD');
    assert.equal(sanitize('x'.repeat(600)).length, 513);
  });
});

describe('NOTARY_AUTH (cli.md §7.4)', () => {
  const enc = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

  test('decodes user:password and trims the password', async () => {
    assert.deepEqual(await notaryAuthCredentials({ NOTARY_AUTH: enc('alice:  pa:ss word \n') })(), { username: 'alice', password: 'pa:ss word' });
    assert.equal(await notaryAuthCredentials({})(), undefined);
    assert.equal(await notaryAuthCredentials({ NOTARY_AUTH: '' })(), undefined);
  });

  test('malformed values are CONFIG errors with notary texts that never show the value', async () => {
    const cases: [string, RegExp][] = [
      ['not base64 topsecret!', /^Could not base64-decode authentication string$/],
      [enc('topsecret1').replace(/=+$/, ''), /^Could not base64-decode authentication string$/],
      [enc(':topsecret'), /^Authentication string with zero-length username$/],
      [enc('topsecret'), /^Malformatted authentication string; format must be <username>:<password>$/],
      [enc('user:   '), /^Authentication string with zero-length password$/],
    ];
    for (const [value, re] of cases) {
      const err = await notaryAuthCredentials({ NOTARY_AUTH: value })().then(
        () => assert.fail(`accepted ${value}`),
        (e: unknown) => e,
      );
      assert.ok(isRemoteError(err, 'CONFIG'), String(err));
      assert.match(err.message, re);
      assert.match(err.hint, /NOTARY_AUTH/);
      const all = everythingIn(err);
      assert.ok(!all.includes('topsecret') && !all.includes(value), all);
    }
  });

  test('chain: first provider with credentials wins, errors propagate', async () => {
    const none = async (): Promise<undefined> => undefined;
    const bob = async (): Promise<{ username: string; password: string }> => ({ username: 'bob', password: 'pw' });
    assert.deepEqual(await chainCredentials(none, undefined, bob)(), { username: 'bob', password: 'pw' });
    assert.equal(await chainCredentials(none)(), undefined);
    await assert.rejects(chainCredentials(notaryAuthCredentials({ NOTARY_AUTH: '!!' }), bob)(), /base64/);
  });
});
