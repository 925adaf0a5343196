// targetsText must give exactly the bytes of a full serialisation, whatever the base file holds:
// random repositories and edits, and base files in forms the model does not keep byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalBytes, fileFormString } from '../../src/tuf/canonical.js';
import { envelopeBytes } from '../../src/tuf/envelope.js';
import { isTrustError } from '../../src/tuf/errors.js';
import { expiresAfter } from '../../src/tuf/expires.js';
import type { Json, JsonObject } from '../../src/tuf/json.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { toJson, type FileMeta, type Targets } from '../../src/tuf/metadata.js';
import { targetsText } from '../../src/tuf/splice.js';
import { parseTargetsFile } from '../../src/tuf/targetfiles.js';

/** A small seeded PRNG (mulberry32), so that a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PLAIN = ['a', 'b', 'z', 'A', '0', '9', '-', '_', '/', '.', ' ', ':', 'é', 'ß', '中', '😀', '\uffff', '\ue000', '~', '\u007f'];
/** Characters that names and keys in the files notary writes hold only as escapes. */
const ESCAPED = ['<', '>', '&', '"', '\\', '\u2028', '\u2029'];
const ANY = [...PLAIN, ...ESCAPED];

function randomString(r: () => number, max: number, pieces = ANY): string {
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += pieces[Math.floor(r() * pieces.length)]!;
  return s;
}

/** Random JSON; `keys` are the characters object keys are made of. */
function randomJson(r: () => number, depth: number, keys: string[]): Json {
  const k = Math.floor(r() * (depth > 2 ? 5 : 7));
  switch (k) {
    case 0:
      return randomString(r, 6);
    case 1:
      return Math.floor((r() - 0.3) * 10 ** Math.floor(r() * 15));
    case 2:
      return r() < 0.5;
    case 3:
      return null;
    case 4:
      return '';
    case 5:
      return Array.from({ length: Math.floor(r() * 3) }, () => randomJson(r, depth + 1, keys));
    default: {
      const o: JsonObject = {};
      for (let i = Math.floor(r() * 4); i > 0; i--) o[randomString(r, 4, keys)] = randomJson(r, depth + 1, keys);
      return o;
    }
  }
}

/** `odd`: names and keys may hold characters the splice leaves to the full serialisation. */
function randomMeta(r: () => number, odd: boolean): FileMeta {
  const hashes = new Map<string, Buffer>();
  const algs = r() < 0.8 ? ['sha256', 'sha512'] : ['sha512', 'md5', 'sha256'].slice(0, Math.floor(r() * 4));
  for (const alg of algs) hashes.set(alg, Buffer.from(Array.from({ length: Math.floor(r() * 70) }, () => Math.floor(r() * 256))));
  const fm: FileMeta = { length: Math.floor(r() * 2 ** Math.floor(r() * 50)), hashes };
  const c = r();
  if (c < 0.15) fm.custom = randomJson(r, 0, odd ? ANY : PLAIN);
  else if (c < 0.2) fm.custom = { tag: randomString(r, 5) };
  return fm;
}

function randomName(r: () => number, odd: boolean): string {
  return r() < 0.7 ? `t-${Math.floor(r() * 100000)}` : randomString(r, 8, odd ? ANY : PLAIN) || 'x';
}

function randomTargets(r: () => number, n: number, odd: boolean): Targets {
  const t: Targets = {
    _type: 'Targets',
    expires: expiresAfter(1_700_000_000_000 + Math.floor(r() * 1e9), 1095),
    version: 1 + Math.floor(r() * 1000),
    delegations: { keys: new Map(), roles: [] },
    targets: new Map(),
  };
  if (r() < 0.5) {
    const k = new PublicKey('ed25519', Buffer.alloc(32, Math.floor(r() * 256)));
    t.delegations.keys.set(k.id, k);
    t.delegations.roles.push({ name: 'targets/releases', keyids: [k.id], threshold: 1, paths: r() < 0.5 ? [] : ['', '"targets":{}<&'] });
  }
  for (let i = 0; i < n; i++) t.targets.set(randomName(r, odd), randomMeta(r, odd));
  return t;
}

function fullText(t: Targets): { canonical: Buffer; fileForm: Buffer } {
  const canonical = canonicalBytes(toJson(t), 'sign');
  return { canonical, fileForm: Buffer.from(fileFormString(canonical.toString('utf8')), 'utf8') };
}

/** A file as notary writes it, and the model read back from it as publishing reads it. */
function fileOf(t: Targets): { bytes: Buffer; meta: Targets } {
  const bytes = envelopeBytes(fullText(t).canonical.toString('utf8'), [{ keyid: 'ab', method: 'ecdsa', sig: Buffer.from('sig') }]);
  return { bytes, meta: parseTargetsFile(bytes, 'targets').meta };
}

/**
 * Entries a splice copies: unchanged ones in the common shape of targetfiles.ts (no custom value,
 * at least one hash, a length of at most 15 digits); any other is serialised.
 */
function copyable(meta: Targets, names: Iterable<string>): number {
  let n = 0;
  for (const name of names) {
    const fm = meta.targets.get(name);
    if (fm && fm.custom === undefined && fm.hashes.size > 0 && fm.length < 1e15) n++;
  }
  return n;
}

/** Random adds, replacements and removals; returns the names touched. */
function edit(r: () => number, t: Targets, odd: boolean): string[] {
  const names = [...t.targets.keys()];
  const changed: string[] = [];
  if (r() < 0.03) {
    t.targets.clear();
    changed.push(...names);
  }
  for (let i = Math.floor(r() * 6); i > 0; i--) {
    const what = r();
    if (what < 0.4 || names.length === 0) {
      const n = randomName(r, odd);
      t.targets.set(n, randomMeta(r, odd));
      changed.push(n);
    } else if (what < 0.7) {
      const n = names[Math.floor(r() * names.length)]!;
      t.targets.set(n, randomMeta(r, odd));
      changed.push(n);
    } else {
      const n = names[Math.floor(r() * names.length)]!;
      t.targets.delete(n);
      changed.push(n);
    }
  }
  if (r() < 0.1) changed.push('never-there');
  t.version += 1;
  t.expires = expiresAfter(1_800_000_000_000, 1095);
  return changed;
}

function assertSame(got: { canonical: Buffer; fileForm: Buffer }, t: Targets, what: string): void {
  const want = fullText(t);
  assert.equal(got.canonical.toString('utf8'), want.canonical.toString('utf8'), `${what}: canonical bytes`);
  assert.equal(got.fileForm.toString('utf8'), want.fileForm.toString('utf8'), `${what}: file form`);
}

test('without a base: the same bytes as the full serialisation', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const r = rng(seed);
    const t = randomTargets(r, Math.floor(r() * 40), true);
    const got = targetsText(t);
    assertSame(got, t, `seed ${seed}`);
    assert.equal(got.copied, 0);
  }
});

test('spliced into a base notary wrote: the same bytes as the full serialisation, every unchanged entry copied', () => {
  for (let seed = 1; seed <= 1000; seed++) {
    const r = rng(seed);
    const { meta } = fileOf(randomTargets(r, Math.floor(r() * 60), false));
    const before = new Set(meta.targets.keys());
    const changed = edit(r, meta, false);
    const got = targetsText(meta);
    assertSame(got, meta, `seed ${seed}`);
    for (const n of changed) before.delete(n);
    assert.equal(got.copied, copyable(meta, before), `seed ${seed}: entries copied`);
  }
});

test('names and keys with escaped characters: the same bytes as the full serialisation', () => {
  let spliced = 0;
  for (let seed = 1; seed <= 1000; seed++) {
    const r = rng(seed);
    const { meta } = fileOf(randomTargets(r, Math.floor(r() * 20), true));
    edit(r, meta, true);
    const got = targetsText(meta);
    assertSame(got, meta, `seed ${seed}`);
    if (got.copied > 0) spliced++;
  }
  assert.ok(spliced > 100, `only ${spliced} files were spliced`);
});

test('plain repositories are spliced entirely: only the edited entries are serialised', () => {
  const r = rng(7);
  const t = randomTargets(r, 0, false);
  for (let i = 0; i < 2000; i++) t.targets.set(`target-${String(i).padStart(6, '0')}`, randomMeta(r, false));
  const { meta } = fileOf(t);
  const unchanged = [...meta.targets.keys()].filter((n) => n !== 'target-000007' && n !== 'target-001999');
  meta.targets.set('target-000500x', randomMeta(r, false));
  meta.targets.delete('target-000007');
  meta.targets.set('target-001999', randomMeta(r, false));
  meta.targets.set('a-first', randomMeta(r, false));
  meta.targets.set('z-last', randomMeta(r, false));
  const got = targetsText(meta);
  assertSame(got, meta, 'plain');
  assert.equal(got.copied, copyable(meta, unchanged));
  assert.ok(got.copied > 1500, `${got.copied} copied`);
});

test('an entry with a custom value is serialised (HTML escapes decoded for signing), the others copied', () => {
  const r = rng(11);
  const t = randomTargets(r, 0, false);
  t.targets.set('a', { length: 1, hashes: new Map([['sha256', Buffer.alloc(32, 1)]]), custom: { note: '<b> & \u2028 "q" \\' } });
  t.targets.set('b', { length: 2, hashes: new Map([['sha256', Buffer.alloc(32, 2)]]) });
  const { bytes, meta } = fileOf(t);
  assert.ok(bytes.includes('\\u003cb\\u003e'));
  meta.targets.set('c', { length: 3, hashes: new Map([['sha256', Buffer.alloc(32, 3)]]) });
  const got = targetsText(meta);
  assertSame(got, meta, 'html');
  assert.equal(got.copied, 1);
});

/** Base files that parse to the same model but are not its serialisation, or not notary's form. */
const ODD: [string, (signed: string) => string][] = [
  ['unknown field in an entry', (s) => s.replace('"length":5}', '"length":5,"zzz":1}')],
  ['custom null', (s) => s.replace('{"hashes":{"sha256":"AQ=="},"length":5}', '{"custom":null,"hashes":{"sha256":"AQ=="},"length":5}')],
  ['unpadded base64', (s) => s.replace('"AQ=="', '"AQ"')],
  ['base64 with spare bits set', (s) => s.replace('"AQ=="', '"AR=="')],
  ['unsorted hash algorithms', (s) => s.replace('{"sha256":"AQ=="}', '{"sha512":"AQ==","sha256":"AQ=="}')],
  ['whitespace', (s) => s.replace('"length":5', '"length": 5')],
  ['escaped slash', (s) => s.replace('"target-1"', '"target-1"').replace('"custom":"x/y"', '"custom":"x\\/y"')],
  ['other unicode escape', (s) => s.replace('"custom":"x/y"', '"custom":"\\u00e9"')],
  ['float', (s) => s.replace('"length":6', '"length":6.0')],
  ['exponent', (s) => s.replace('"length":6', '"length":6e0')],
  ['unknown top-level field', (s) => s.replace('"targets":{', '"tarcets":1,"targets":{')],
  ['no delegations', (s) => s.replace(/"delegations":\{"keys":\{\},"roles":\[\]\},/, '')],
  ['raw HTML character', (s) => s.replace('"custom":"x/y"', '"custom":"x<y"')],
  ['unsorted entries', (s) => s.replace('"target-1":', '"target-3":').replace('"target-3":{"hashes":{"sha256":"Aw=="}', '"target-1":{"hashes":{"sha256":"Aw=="}')],
];

test('base files the model does not keep byte for byte: still the same bytes as the full serialisation', () => {
  const t: Targets = {
    _type: 'Targets',
    expires: expiresAfter(1_700_000_000_000, 1095),
    version: 3,
    delegations: { keys: new Map(), roles: [] },
    targets: new Map([
      ['target-0', { length: 5, hashes: new Map([['sha256', Buffer.from([1])]]) }],
      ['target-1', { length: 6, hashes: new Map([['sha256', Buffer.from([2])]]), custom: 'x/y' }],
      ['target-3', { length: 7, hashes: new Map([['sha256', Buffer.from([3])]]) }],
    ]),
  };
  const signed = fullText(t).fileForm.toString('utf8');
  for (const [what, change] of ODD) {
    const odd = change(signed);
    assert.notEqual(odd, signed, `${what}: the test changes the file`);
    const bytes = Buffer.from(`{"signed":${odd},"signatures":[]}`, 'utf8');
    let meta: Targets;
    try {
      meta = parseTargetsFile(bytes, 'targets').meta;
    } catch (e) {
      assert.ok(isTrustError(e), `${what}: ${(e as Error).message}`);
      continue;
    }
    meta.targets.set('target-2', { length: 9, hashes: new Map([['sha256', Buffer.from([9])]]) });
    meta.version = 4;
    const got = targetsText(meta);
    assertSame(got, meta, what);
  }
});

test('a new name with a lone surrogate: the same bytes as the full serialisation', () => {
  const r = rng(9);
  const { meta } = fileOf(randomTargets(r, 20, false));
  for (const name of ['\ud800', 'a\udfffb', '\ufffd', 'zz']) meta.targets.set(name, randomMeta(r, false));
  assertSame(targetsText(meta), meta, 'lone surrogates');
});

test('errors of the full serialisation are kept (control characters in a new name)', () => {
  const r = rng(3);
  const { meta } = fileOf(randomTargets(r, 5, false));
  meta.targets.set('bad\u0001name', randomMeta(r, false));
  assert.throws(() => targetsText(meta), (e: unknown) => isTrustError(e, 'CANONICAL_UNSUPPORTED'));
});
