// `inspect` output: docker's JSON (Go's json.Marshal + json.Indent with four spaces) and the
// --pretty layout (docker's tabwriter settings), checked against layouts docker prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerTable, goIndentJson, inspectJson, prettyInspect, trustRepoJson, truncateId, type InspectData } from '../../src/docker/format.js';
import { naturalLess, releasedSignatures, type TargetInRole } from '../../src/docker/trustdata.js';

const hex = (s: string): string => Buffer.from(s).toString('hex');

function entry(name: string, digestText: string, role: string): TargetInRole {
  return { name, role, meta: { length: 1, hashes: new Map([['sha256', Buffer.from(digestText)]]) } };
}

test('released signatures: tags in targets or targets/releases, other roles as signers, natural order', () => {
  const rows = releasedSignatures([
    entry('red', 'red-digest', 'targets/releases'),
    entry('green', 'green-digest', 'targets'),
    entry('blue', 'blue-digest', 'targets/releases'),
    entry('red', 'red-digest', 'targets/alice'),
    entry('red', 'red-digest', 'targets/bob'),
    entry('blue', 'blue-digest', 'targets/alice'),
    entry('blue', 'other-digest', 'targets/bob'), // not released: ignored
    entry('v10', 'x', 'targets'),
    entry('v9', 'y', 'targets'),
    entry('only-alice', 'z', 'targets/alice'), // not released: no row
  ]);
  assert.deepEqual(
    rows.map((r) => [r.tag, r.digest, r.signers]),
    [
      ['blue', hex('blue-digest'), ['alice']],
      ['green', hex('green-digest'), []],
      ['red', hex('red-digest'), ['alice', 'bob']],
      ['v9', hex('y'), []],
      ['v10', hex('x'), []],
    ],
  );
});

test('natural order as fvbommel/sortorder', () => {
  const sorted = ['a10', 'a2', 'a02', 'a1', 'b', 'A', 'a', '1', '10', '9', 'a1b'].sort((x, y) => (naturalLess(x, y) ? -1 : naturalLess(y, x) ? 1 : 0));
  assert.deepEqual(sorted, ['1', '9', '10', 'A', 'a', 'a1', 'a1b', 'a2', 'a02', 'a10', 'b']);
});

const data: InspectData = {
  rows: [
    { tag: 'blue', digest: hex('blue-digest'), signers: ['alice'] },
    { tag: 'green', digest: hex('green-digest'), signers: [] },
    { tag: 'red', digest: hex('red-digest'), signers: ['bob', 'alice'] },
  ],
  signers: new Map([
    ['bob', ['B'.repeat(64)]],
    ['alice', ['A'.repeat(64)]],
  ]),
  rootKeyIds: ['r'.repeat(64)],
  targetsKeyIds: ['t'.repeat(64)],
};

test('inspect JSON has docker schema, order and indentation', () => {
  const json = inspectJson([trustRepoJson('signed-repo', data)]);
  const expected = `[
    {
        "Name": "signed-repo",
        "SignedTags": [
            {
                "SignedTag": "blue",
                "Digest": "${hex('blue-digest')}",
                "Signers": [
                    "alice"
                ]
            },
            {
                "SignedTag": "green",
                "Digest": "${hex('green-digest')}",
                "Signers": [
                    "Repo Admin"
                ]
            },
            {
                "SignedTag": "red",
                "Digest": "${hex('red-digest')}",
                "Signers": [
                    "bob",
                    "alice"
                ]
            }
        ],
        "Signers": [
            {
                "Name": "bob",
                "Keys": [
                    {
                        "ID": "${'B'.repeat(64)}"
                    }
                ]
            },
            {
                "Name": "alice",
                "Keys": [
                    {
                        "ID": "${'A'.repeat(64)}"
                    }
                ]
            }
        ],
        "AdministrativeKeys": [
            {
                "Name": "Root",
                "Keys": [
                    {
                        "ID": "${'r'.repeat(64)}"
                    }
                ]
            },
            {
                "Name": "Repository",
                "Keys": [
                    {
                        "ID": "${'t'.repeat(64)}"
                    }
                ]
            }
        ]
    }
]
`;
  assert.equal(json, expected);
  assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(JSON.parse(json))));
  assert.equal(inspectJson([]), '[]\n');
  const empty = inspectJson([trustRepoJson('x', { rows: [], signers: new Map([['nokeys', []]]), rootKeyIds: [], targetsKeyIds: [] })]);
  assert.match(empty, /"SignedTags": \[\],/);
  assert.match(empty, /"Signers": \[\n {12}\{\n {16}"Name": "nokeys"\n {12}\}\n {8}\],/);
  assert.match(empty, /\{\n {16}"Name": "Root"\n {12}\}/);
  // Go's HTML escaping in strings.
  assert.equal(goIndentJson({ Name: 'a<b>&"\u2028' }), '{\n    "Name": "a\\u003cb\\u003e\\u0026\\"\\u2028"\n}');
});

test('--pretty prints docker layout', () => {
  const out = prettyInspect('signed-repo', data);
  const b = hex('blue-digest');
  const g = hex('green-digest');
  const r = hex('red-digest');
  const w = g.length + 3;
  const expected =
    '\nSignatures for signed-repo\n\n' +
    `SIGNED TAG   ${'DIGEST'.padEnd(w)}SIGNERS\n` +
    `blue         ${b.padEnd(w)}alice\n` +
    `green        ${g.padEnd(w)}(Repo Admin)\n` +
    `red          ${r.padEnd(w)}alice, bob\n` +
    '\nList of signers and their keys for signed-repo\n\n' +
    'SIGNER    KEYS\n' +
    `alice     ${'A'.repeat(12)}\n` +
    `bob       ${'B'.repeat(12)}\n` +
    '\nAdministrative keys for signed-repo\n\n' +
    `  Repository Key:\t${'t'.repeat(64)}\n` +
    `  Root Key:\t${'r'.repeat(64)}\n`;
  assert.equal(out, expected);
  const none = prettyInspect('x:y', { rows: [], signers: new Map(), rootKeyIds: ['b', 'a'], targetsKeyIds: ['c'] });
  assert.equal(none, '\nNo signatures for x:y\n\n\nAdministrative keys for x:y\n\n  Repository Key:\tc\n  Root Key:\ta, b\n');
});

test('docker tabwriter: minwidth 10, padding 3, last column unpadded', () => {
  assert.equal(dockerTable([['SIGNER', 'KEYS'], ['caiodelgadonew', '6b878e6e710f']]), 'SIGNER           KEYS\ncaiodelgadonew   6b878e6e710f\n');
  assert.equal(dockerTable([['A', 'B', 'C'], ['é', '', 'x']]), 'A         B         C\né                   x\n');
  assert.equal(truncateId('sha256:0123456789abcdef'), '0123456789ab');
  assert.equal(truncateId('short'), 'short');
});
