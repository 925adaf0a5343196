// notary's config file (config/config.ts, config/gojson.ts) and docker's config.json
// (remote/credentials.ts): random and mutated files give a Config or a ConfigError, credentials
// or a RemoteError that never quotes a secret; the Go syntax check accepts exactly what a JSON
// parser accepts; both are linear in the file.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import fc from 'fast-check';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { goJsonSyntaxError } from '../../src/config/gojson.js';
import { RemoteError } from '../../src/remote/errors.js';
import { dockerConfigCredentials } from '../../src/remote/credentials.js';
import { canonicalString } from '../../src/tuf/canonical.js';
import type { Json } from '../../src/tuf/json.js';
import { delicateString, jsonValue } from './arbitraries.js';
import { property } from './budget.js';
import { assertPrototypesUntouched, outcomeAsync, typedAs } from './checks.js';
import { applyMutations, fileArb, mutationsArb } from './mutate.js';
import { assertLinear } from './timing.js';

const DIR = mkdtempSync(join(tmpdir(), 'dtrust-property-config-'));
after(() => rmSync(DIR, { recursive: true, force: true }));
/** An empty PATH: a credential helper named in a config is never found (and never run). */
const NO_PROGRAMS = join(DIR, 'no-programs');
mkdirSync(NO_PROGRAMS);

function jsonText(v: Json): string {
  return canonicalString(v, 'verify');
}

/** An object whose keys come from `keys` (any case) and values from `value`. */
function objectOf(keys: string[], value: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  const key = fc.oneof(fc.constantFrom(...keys), fc.constantFrom(...keys).map((k) => k.toUpperCase()), delicateString(3));
  return fc.array(fc.tuple(key, value), { maxLength: 5 }).map((e) => {
    const o = Object.create(null) as Record<string, Json>;
    for (const [k, v] of e) o[k] = v;
    return o;
  });
}

// ---------------------------------------------------------------------------------------------
// Go's syntax check

property(
  'config/go-syntax-check-agrees-with-json',
  fc.property(fc.oneof(jsonValue().map((v) => Buffer.from(jsonText(v), 'utf8')), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b))), mutationsArb(), (base, mutations) => {
    const b = applyMutations(base, mutations);
    const err = goJsonSyntaxError(b);
    let parses = true;
    try {
      JSON.parse(b.toString('latin1'));
    } catch {
      parses = false;
    }
    assert.equal(err === undefined, parses, `Go's check ${err ? `refuses (${err.message})` : 'accepts'} what JSON.parse ${parses ? 'accepts' : 'refuses'}`);
    if (err) {
      assert.ok(err.offset >= 0 && err.offset <= b.length && err.line >= 1 && err.column >= 1);
    }
  }),
);

// ---------------------------------------------------------------------------------------------
// notary's config file

const leaf = fc.oneof(jsonValue({ maxDigits15: true }), fc.constantFrom<Json>('~', '~/x', '/abs', 'rel/dir', '', 'none', 'true', 'https://notary.example.com', 't', '0'));
const section = (keys: string[]): fc.Arbitrary<Json> => fc.oneof(objectOf(keys, leaf), leaf);
const notaryConfig = fc.oneof(
  objectOf(['trust_dir', 'pkcs11_module'], leaf).chain((base) =>
    fc
      .record({
        remote_server: section(['url', 'root_ca', 'tls_client_cert', 'tls_client_key', 'skipTLSVerify']),
        trust_pinning: fc.oneof(section(['disable_tofu']), objectOf(['certs', 'ca', 'disable_tofu'], fc.oneof(objectOf(['example.com/app', 'example.com/*'], fc.oneof(leaf, fc.array(leaf))), leaf))),
        pkcs11: section(['module']),
      }, { requiredKeys: [] })
      .map((sections) => Object.assign(Object.create(null) as Record<string, Json>, base as Record<string, Json>, sections) as Json),
  ),
  leaf,
);

let configFiles = 0;

property(
  'config/notary-config-files',
  fc.asyncProperty(notaryConfig, mutationsArb(), fc.boolean(), async (config, mutations, mutate) => {
    const text = Buffer.from(jsonText(config), 'utf8');
    const dir = join(DIR, `notary-${configFiles++}`);
    mkdirSync(dir);
    const file = join(dir, 'config.json');
    writeFileSync(file, mutate ? applyMutations(text, mutations) : text);
    try {
      const r = await outcomeAsync(() => loadConfig({ configFile: file }, { HOME: dir }, dir, 'notary'), typedAs(ConfigError));
      if (r.ok) assert.ok(r.value.trustDir.startsWith('/'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assertPrototypesUntouched();
  }),
);

// ---------------------------------------------------------------------------------------------
// docker's config.json

const SERVER = 'https://registry.example.com:5000';
/** Secrets carry a marker, so that a message quoting one is recognised. */
const secret = fc.string({ unit: fc.constantFrom(...'abcXYZ0129+/:='), minLength: 1, maxLength: 10 }).map((s) => `S3CRET${s}`);
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const authValue = fc.oneof(
  fc.tuple(delicateString(4), secret).map(([u, p]) => b64(`${u}:${p}`)),
  secret.map(b64),
  secret,
  secret.map((s) => b64(s) + '\n'),
);
const entry = fc.record(
  { auth: authValue, username: fc.oneof(delicateString(4), secret), password: secret, identitytoken: secret, email: delicateString(4) },
  { requiredKeys: [] },
);
const hostKey = fc.constantFrom('registry.example.com:5000', 'https://registry.example.com:5000', 'http://registry.example.com:5000/v1/', 'registry.example.com', 'other.example.com', '');
const dockerConfig = fc.record(
  {
    auths: fc.oneof(fc.array(fc.tuple(hostKey, fc.oneof(entry, leaf)), { maxLength: 3 }).map((e) => Object.fromEntries(e)), leaf),
    credsStore: fc.oneof(fc.constantFrom('', 'desktop', 'bad name', '-x'), leaf),
    credHelpers: fc.oneof(fc.array(fc.tuple(hostKey, fc.constantFrom('', 'pass', '../x', 'a b')), { maxLength: 2 }).map((e) => Object.fromEntries(e)), leaf),
  },
  { requiredKeys: [] },
);

let dockerDirs = 0;

property(
  'config/docker-config-files',
  fc.asyncProperty(dockerConfig, mutationsArb(), fc.boolean(), async (config, mutations, mutate) => {
    const text = Buffer.from(JSON.stringify(config), 'utf8');
    const bytes = mutate ? applyMutations(text, mutations) : text;
    const dir = join(DIR, `docker-${dockerDirs++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), bytes);
    try {
      const r = await outcomeAsync(() => dockerConfigCredentials(SERVER, { DOCKER_CONFIG: dir, PATH: NO_PROGRAMS }, { helperTimeoutMs: 5000 })(), typedAs(RemoteError));
      if (!r.ok) {
        const shown = `${r.error.message} ${JSON.stringify(r.error)}`;
        assert.ok(!/S3CRET/.test(shown), `a secret reached the error: ${shown}`);
        for (const m of bytes.toString('latin1').matchAll(/"([A-Za-z0-9+/]{8,}={0,2})/g)) {
          const decoded = Buffer.from(m[1]!, 'base64').toString('latin1');
          if (decoded.includes('S3CRET')) assert.ok(!shown.includes(m[1]!), `an encoded secret reached the error: ${shown}`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assertPrototypesUntouched();
  }),
);

// ---------------------------------------------------------------------------------------------

const UNITS = ['[', '{', '{"a":', '"a":1,', '[1,', '\\u00', '\\"', ' ', '\n', '"', '1e', '-', '\xff', 'tru'];

property(
  'config/linear-time',
  fc.property(fileArb([{ id: 'bare', pre: '', post: '' }, { id: 'in a string', pre: '{"trust_dir":"', post: '"}' }, { id: 'in an array', pre: '[', post: ']' }]), fc.oneof(fc.constantFrom(...UNITS), fc.string({ minLength: 1, maxLength: 4 })), (ctx, unit) => {
    assertLinear(
      'goJsonSyntaxError',
      (n) => Buffer.from(ctx.pre + unit.repeat(Math.ceil(n / unit.length)) + ctx.post, 'latin1'),
      (b) => void goJsonSyntaxError(b),
    );
  }),
);
