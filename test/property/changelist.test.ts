// notary's change files (storage/changelist.ts): every change round-trips through the bytes
// notary writes; the real notary client's change files, mutated, decode to a change or a
// reason, never an exception; decoding is linear in the file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeChange, encodeChange, type Change } from '../../src/storage/changelist.js';
import { delicateString } from './arbitraries.js';
import { property } from './budget.js';
import { assertPrototypesUntouched } from './checks.js';
import { notaryChangeFiles } from './corpus.js';
import { applyMutations, fileArb, mutatedFileArb } from './mutate.js';
import { assertLinear } from './timing.js';

const CHANGE_FILES = notaryChangeFiles();

/** A lone surrogate is written as U+FFFD, as Go writes it. */
function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

const text = fc.oneof(delicateString(12), fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: fc.constantFrom('a', '\u0000', '\u001f', '\u2028', '\ud800', '\udc00', '<', '"'), maxLength: 8 }));

const changeArb: fc.Arbitrary<Change> = fc.record({
  action: fc.constantFrom('create', 'update', 'delete'),
  scope: text.filter((s) => s !== ''),
  type: fc.constantFrom('target', 'delegation', 'witness', 'role'),
  path: text,
  data: fc.option(fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)), { nil: null }),
});

test('the real notary change files decode, and encode back to their exact bytes', () => {
  assert.ok(CHANGE_FILES.length >= 10);
  for (const f of CHANGE_FILES) {
    const c = decodeChange(f.bytes);
    assert.ok(!('reason' in c), `${f.id}: ${'reason' in c ? c.reason : ''}`);
    assert.deepEqual(encodeChange(c), f.bytes, f.id);
  }
});

property(
  'changelist/round-trip',
  fc.property(changeArb, (c) => {
    const back = decodeChange(encodeChange(c));
    assert.deepEqual(back, { ...c, scope: wellFormed(c.scope), path: wellFormed(c.path) });
  }),
);

property(
  'changelist/mutated-notary-change-files',
  fc.property(mutatedFileArb(CHANGE_FILES), ({ file, mutations }) => {
    const c = decodeChange(applyMutations(file.bytes, mutations));
    if ('reason' in c) assert.equal(typeof c.reason, 'string');
    else {
      const bytes = encodeChange(c);
      assert.deepEqual(encodeChange(decodeChange(bytes) as Change), bytes, 'serialise(parse(x)) is stable');
    }
    assertPrototypesUntouched();
  }),
);

const CONTEXTS: [string, string][] = [
  ['', ''],
  ['{"action":"create","role":"targets","type":"target","path":"', '","data":null}'],
  ['{"action":"create","role":"targets","type":"target","path":"a","data":"', '"}'],
  ['{', '}'],
  ['[', ']'],
];
const UNITS = ['[', '{', '"a":1,', '"Action":"create",', '\\u0000', '\\ud800', '\xff', 'AAAA', '\r\n', ' ', '\\"', ','];

property(
  'changelist/linear-time',
  fc.property(fileArb(CONTEXTS.map(([pre, post]) => ({ id: `${pre}…${post}`, pre, post }))), fc.oneof(fc.constantFrom(...UNITS), fc.string({ minLength: 1, maxLength: 4 })), (ctx, unit) => {
    assertLinear(
      'decodeChange',
      (n) => Buffer.from(ctx.pre + unit.repeat(Math.ceil(n / unit.length)) + ctx.post, 'latin1'),
      (b) => void decodeChange(b),
    );
  }),
);
