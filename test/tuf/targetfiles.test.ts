// Targets read through the index must be what the full parse reads, and be refused where it
// refuses: the same entries, the same errors, on the fast (indexed) path and off it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256, sha512 } from '../../src/crypto/hash.js';
import { envelopeBytes, parseEnvelope } from '../../src/tuf/envelope.js';
import { TrustError, isTrustError } from '../../src/tuf/errors.js';
import { parseTargets, toJson, type FileMeta } from '../../src/tuf/metadata.js';
import { canonicalString } from '../../src/tuf/canonical.js';
import { IndexedTargets, TargetIndex, parseTargetsFile } from '../../src/tuf/targetfiles.js';
import { TrustedCollectionBuilder } from '../../src/tuf/builder.js';
import { MemRepo, buildFrom, ecdsaKey } from '../support/memrepo.js';

const b64 = (b: Buffer): string => b.toString('base64');
const H1 = sha256(Buffer.from('one'));
const H2 = sha512(Buffer.from('one'));
const ENTRY = `{"hashes":{"sha256":"${b64(H1)}","sha512":"${b64(H2)}"},"length":3}`;

/** A targets file in notary's form around the given `targets` members (no signatures). */
function targetsFile(members: string, opts: { delegations?: string } = {}): Buffer {
  const deleg = opts.delegations ?? '{"keys":{},"roles":[]}';
  const signed = `{"_type":"Targets","delegations":${deleg},"expires":"2030-01-01T00:00:00Z","targets":{${members}},"version":1}`;
  return Buffer.from(`{"signed":${signed},"signatures":[]}`);
}

/** `"name":entry` members in byte order of the names, as notary writes them. */
function sortedMembers(members: [string, string][]): string {
  return members
    .sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])))
    .map(([n, e]) => `${JSON.stringify(n)}:${e}`)
    .join(',');
}

/** What the full parse reads (the reference). */
function eager(bytes: Buffer): Map<string, FileMeta> {
  return parseTargets(parseEnvelope(bytes, 'targets').signed, 'targets').targets;
}

function indexedPath(bytes: Buffer): boolean {
  return parseEnvelope(bytes, 'targets', new TargetIndex(bytes.length)).indexed;
}

function plain(m: ReadonlyMap<string, FileMeta>): [string, number, Record<string, string>, string][] {
  return [...m]
    .map(([name, fm]): [string, number, Record<string, string>, string] => [name, fm.length, Object.fromEntries([...fm.hashes].map(([a, h]) => [a, h.toString('hex')])), JSON.stringify(fm.custom ?? null)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function sameAsEager(bytes: Buffer, fast: boolean): Map<string, FileMeta> {
  assert.equal(indexedPath(bytes), fast, fast ? 'takes the indexed path' : 'takes the general path');
  const lazy = parseTargetsFile(bytes, 'targets').meta.targets;
  const ref = eager(bytes);
  assert.equal(lazy instanceof IndexedTargets, fast);
  assert.equal(lazy.size, ref.size);
  assert.deepEqual(plain(lazy), plain(ref));
  for (const name of ref.keys()) {
    assert.ok(lazy.has(name), name);
    assert.deepEqual(plain(new Map([[name, lazy.get(name)!]])), plain(new Map([[name, ref.get(name)!]])));
  }
  for (const missing of ['nope', 'a\ud800', '\ud83d', 'zzzz', '\u0000', 't0000 ']) {
    assert.equal(ref.has(missing), false);
    assert.equal(lazy.has(missing), false, JSON.stringify(missing));
    assert.equal(lazy.get(missing), undefined);
  }
  return lazy;
}

test('entries of every shape read through the index as the full parse reads them', () => {
  const many = Array.from({ length: 300 }, (_, i) => `t${String(i).padStart(4, '0')}`);
  const members = sortedMembers([
    ['', ENTRY],
    ['1', ENTRY],
    ['10', `{"hashes":{"sha256":"${b64(H1)}"},"length":0}`],
    ['9', `{"hashes":{"sha512":"${b64(H2)}"},"length":123456789012345}`],
    ['custom', `{"custom":{"a":[1,"\\u003cb\\u003e",null]},"hashes":{"sha256":"${b64(H1)}"},"length":7}`],
    ['empty-hashes', '{"hashes":{},"length":1}'],
    ['null-custom', `{"custom":null,"hashes":{"sha256":"${b64(H1)}"},"length":2}`],
    ['odd-alg', `{"hashes":{"MD5":"AAAA","sha256":"${b64(Buffer.from('short'))}","x-1":""},"length":2}`],
    ['unknown-field', `{"hashes":{"sha256":"${b64(H1)}"},"length":5,"zz":true}`],
    ...many.map((n): [string, string] => [n, ENTRY]),
    ['\u00e9/\u00fc', ENTRY],
    ['\u{1f600}', ENTRY],
  ]);
  const bytes = targetsFile(members);
  const t = sameAsEager(bytes, true);
  assert.equal(t.size, 311);
  const serialised = (meta: Parameters<typeof toJson>[0]): string => canonicalString(toJson(meta), 'sign');
  assert.equal(serialised(parseTargetsFile(bytes, 'targets').meta), serialised(parseTargets(parseEnvelope(bytes, 'targets').signed)), 'publishing re-serialises the same value');
  assert.equal(t.get('odd-alg')!.hashes.get('sha256')!.toString(), 'short', 'digests of any length are kept, as notary keeps them');
  assert.deepEqual(t.get('custom')!.custom, { a: [1, '<b>', null] });
  assert.equal(t.get('9')!.length, 123456789012345);
});

test('files the indexed path does not take are read as before', () => {
  // Names HTML-escaped by Go's encoder, a name with a quote, an unsorted file, whitespace.
  sameAsEager(targetsFile(`"a\\u003cb":${ENTRY},"b":${ENTRY}`), false);
  sameAsEager(targetsFile(`"a\\"b":${ENTRY}`), false);
  sameAsEager(targetsFile(`"b":${ENTRY},"a":${ENTRY}`), false);
  sameAsEager(Buffer.from(targetsFile(`"a":${ENTRY}`).toString().replace('"targets":{', '"targets": {')), false);
  // `targets` absent, null or empty.
  const noTargets = Buffer.from(targetsFile('').toString().replace('"targets":{},', ''));
  assert.equal(parseTargetsFile(noTargets, 'targets').meta.targets.size, 0);
  assert.equal(parseTargetsFile(Buffer.from(targetsFile('').toString().replace('"targets":{}', '"targets":null')), 'targets').meta.targets.size, 0);
  sameAsEager(targetsFile(''), true);
});

const BAD: [string, string][] = [
  ['base64 with a character outside the alphabet', `{"hashes":{"sha256":"!!!!"},"length":1}`],
  ['base64 without its padding', `{"hashes":{"sha256":"AAA"},"length":1}`],
  ['base64 with three padding characters', `{"hashes":{"sha256":"A==="},"length":1}`],
  ['url-safe base64', `{"hashes":{"sha256":"-_-_"},"length":1}`],
  ['a hash that is not a string', `{"hashes":{"sha256":5},"length":1}`],
  ['hashes that are not an object', `{"hashes":"AAAA","length":1}`],
  ['no hashes', `{"length":1}`],
  ['a negative length', `{"hashes":{"sha256":"AAAA"},"length":-1}`],
  ['a fractional length', `{"hashes":{"sha256":"AAAA"},"length":1.5}`],
  ['a length as a string', `{"hashes":{"sha256":"AAAA"},"length":"1"}`],
  ['no length', `{"hashes":{"sha256":"AAAA"}}`],
  ['a case variant of length', `{"Length":2,"hashes":{"sha256":"AAAA"},"length":1}`],
  ['an entry that is not an object', `5`],
  ['an entry that is null', `null`],
];

for (const [what, entry] of BAD) {
  test(`refused like the full parse: an entry with ${what}`, () => {
    // The bad entry sits between good ones: a lookup of another name must not get past it.
    const bytes = targetsFile(`"a":${ENTRY},"b":${entry},"c":${ENTRY}`);
    let want: unknown;
    try {
      eager(bytes);
    } catch (e) {
      want = e;
    }
    assert.ok(want instanceof TrustError, 'the full parse refuses it');
    assert.throws(
      () => parseTargetsFile(bytes, 'targets'),
      (e: unknown) => {
        assert.ok(isTrustError(e), String(e));
        assert.equal(e.code, want.code);
        assert.equal(e.message, want.message);
        return true;
      },
    );
  });
}

test('edits behave as on a Map: replaced entries keep their place, new and re-added ones go last', () => {
  const bytes = targetsFile(sortedMembers(['a', 'b', 'c', 'd', 'e'].map((n): [string, string] => [n, ENTRY])));
  const names = ['a', 'b', 'c', 'd', 'e', 'x', 'y', '0'];
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let round = 0; round < 40; round++) {
    const lazy = parseTargetsFile(bytes, 'targets').meta.targets;
    const ref = eager(bytes);
    for (let step = 0; step < 30; step++) {
      const name = names[random(names.length)]!;
      const op = random(10);
      if (op < 4) {
        const fm: FileMeta = { length: round * 100 + step, hashes: new Map([['sha256', H1]]) };
        assert.equal(lazy.set(name, fm), lazy);
        ref.set(name, fm);
      } else if (op < 8) assert.equal(lazy.delete(name), ref.delete(name), `delete ${name}`);
      else if (op === 8) assert.equal(lazy.has(name), ref.has(name));
      else if (random(4) === 0) {
        lazy.clear();
        ref.clear();
      }
      assert.equal(lazy.size, ref.size);
      assert.deepEqual([...lazy.keys()], [...ref.keys()], `round ${round} step ${step}`);
      assert.deepEqual(plain(new Map([...lazy.values()].map((v, i) => [String(i), v]))), plain(new Map([...ref.values()].map((v, i) => [String(i), v]))));
      for (const n of names) assert.deepEqual(lazy.get(n) && plain(new Map([[n, lazy.get(n)!]])), ref.get(n) && plain(new Map([[n, ref.get(n)!]])));
    }
    let seen = 0;
    lazy.forEach((meta, name, map) => {
      assert.equal(map, lazy);
      assert.deepEqual(plain(new Map([[name, meta]])), plain(new Map([[name, ref.get(name)!]])));
      seen++;
    });
    assert.equal(seen, ref.size);
  }
});

// ---------------------------------------------------------------------------------------------
// Through the builder

const GUN = 'example.com/app';
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

function build(repo: MemRepo): TrustedCollectionBuilder {
  return buildFrom(repo, { now: NOW });
}

function summaries(b: TrustedCollectionBuilder, roles?: string[]): string[][] {
  return [...b.listTargetSummaries(roles)].map((t) => [t.name, t.sha256, String(t.length), t.role]);
}

/** listTargets sorted as notary prints it, in the summary form. */
function reference(b: TrustedCollectionBuilder, roles?: string[]): string[][] {
  return b
    .listTargets(roles)
    .map((e) => [e.name, e.meta.hashes.get('sha256')?.toString('hex') ?? '', String(e.meta.length), e.role])
    .sort((x, y) => Buffer.compare(Buffer.from(x[0]!), Buffer.from(y[0]!)));
}

test('summaries list what listTargets lists, by name bytes, inside delegated paths, first role winning', async () => {
  const repo = await MemRepo.create(GUN, NOW);
  for (const n of ['v2', 'v10', 'rel/z', '\u{1f600}', '\uff61']) repo.addTarget(n, n);
  repo.targets.targets.set('no-sha256', { length: 4, hashes: new Map([['sha512', H2]]) });
  repo.delegate('targets', 'targets/releases', [ecdsaKey()], ['rel/']);
  repo.addTarget('rel/a', 'a', 'targets/releases');
  repo.addTarget('rel/z', 'other content', 'targets/releases'); // targets has rel/z: it wins
  repo.addTarget('other/b', 'b', 'targets/releases'); // outside its paths
  await repo.sign();
  const b = build(repo);
  assert.ok(b.targets!.meta.targets instanceof IndexedTargets);
  const all = summaries(b);
  assert.deepEqual(all, reference(b));
  assert.deepEqual(
    all.map((r) => [r[0], r[3]]),
    [
      ['no-sha256', 'targets'],
      ['rel/a', 'targets/releases'],
      ['rel/z', 'targets'],
      ['v10', 'targets'],
      ['v2', 'targets'],
      ['\uff61', 'targets'],
      ['\u{1f600}', 'targets'],
    ],
  );
  assert.equal(all[0]![1], '', 'no sha256: empty digest');
  assert.equal(all.find((r) => r[0] === 'v2')![1], sha256(Buffer.from('v2')).toString('hex'));
  // An edited map lists its edits (publishing reads the builder's maps).
  const t = b.targets!.meta.targets;
  t.set('v2', { length: 99, hashes: new Map([['sha256', H1]]) });
  t.delete('v10');
  t.set('added', { length: 1, hashes: new Map() });
  assert.deepEqual(summaries(b), reference(b));
  assert.deepEqual(summaries(b).map((r) => r[0]), ['added', 'no-sha256', 'rel/a', 'rel/z', 'v2', '\uff61', '\u{1f600}']);
  assert.equal(summaries(b).find((r) => r[0] === 'v2')![2], '99');
  // One role only (the streamed path): paths still apply, and the summaries can be read twice.
  const rel = b.listTargetSummaries(['targets/releases']);
  assert.deepEqual([...rel].map((t) => t.name), ['rel/a', 'rel/z']);
  assert.deepEqual([...rel].map((t) => t.name), ['rel/a', 'rel/z']);
  assert.deepEqual(summaries(b, ['targets/releases']), reference(b, ['targets/releases']));
  assert.equal(b.lookup('other/b'), undefined);
  assert.equal(b.lookup('rel/z')?.role, 'targets');
  assert.equal(b.lookup('rel/a')?.meta.hashes.get('sha256')?.toString('hex'), sha256(Buffer.from('a')).toString('hex'));
});

test('a signed file with one invalid entry is refused whatever is looked up', async () => {
  const repo = await MemRepo.create(GUN, NOW);
  repo.addTarget('a', 'a');
  repo.addTarget('b', 'b');
  repo.addTarget('c', 'c');
  // Sign a text in which b's sha512 is not base64, with the real targets key.
  const text = canonicalString(toJson(repo.targets), 'sign').replace(`"${b64(sha512(Buffer.from('b')))}"`, '"not base64!"');
  const key = repo.keys.targets[0]!;
  const { method, sig } = await key.signer.sign(Buffer.from(text));
  repo.files.set('targets', envelopeBytes(text, [{ keyid: key.pub.id, method, sig }]));
  repo.frozen.add('targets');
  await repo.sign();
  assert.throws(
    () => build(repo),
    (e: unknown) => isTrustError(e, 'METADATA_INVALID') && e.role === 'targets' && /targets\.b\.sha512: is not standard padded base64/.test(e.message),
  );
});
