// Confirming commands without a terminal (issue 18 item 4): --yes answers, an answer piped in is
// honoured as notary does, and end of input without a terminal fails naming the flag instead of
// printing `Aborting action.` with exit 0 (notary's `key remove` and `key rotate ROOT`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { copyTrustDir, dtrustKey, keyFiles, NOTARY07_TRUSTDIR, treeHash } from './key-helpers.js';

const ID = '8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846';

test('key remove: no answer and no terminal fails naming --yes; --yes and a piped yes remove', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const loc = join(dir, 'private');
  const question = `\nAre you sure you want to remove ${ID} (role targets/releases) from ${loc}?  (yes/no)  `;
  const before = treeHash(dir);
  const eof = await dtrustKey(dir, ['key', 'remove', ID]);
  assert.equal(eof.code, 1);
  assert.equal(eof.stdout, `${question}\n`);
  assert.equal(
    eof.stderr,
    `\n* fatal: standard input is not a terminal and gave no answer: pass --yes to remove the key without the question\n` +
      `  hint: or answer through standard input: echo yes | dtrust key remove ${ID}\n`,
  );
  assert.equal(treeHash(dir), before);
  // As notary: the fatal line on stdout.
  const asNotary = await dtrustKey(dir, ['key', 'remove', ID], { asNotary: true });
  assert.equal(asNotary.code, 1);
  assert.equal(asNotary.stdout, `${question}\n\n* fatal: standard input is not a terminal and gave no answer: pass --yes to remove the key without the question\n`);
  const no = await dtrustKey(dir, ['key', 'remove', ID], { input: 'no\n' });
  assert.equal(no.code, 0);
  assert.equal(no.stdout, `${question}\nAborting action.\n\n`);
  assert.equal(treeHash(dir), before);
  const yes = await dtrustKey(dir, ['key', 'remove', '-y', ID]);
  assert.equal(yes.code, 0, yes.stderr);
  assert.equal(yes.stdout, `${question}yes (--yes)\n\nDeleted ${ID} (role targets/releases) from ${loc}.\n\n`);
  assert.ok(!keyFiles(dir).includes(ID));
});

test('key rotate ROOT and delegation remove: no answer and no terminal fail naming --yes', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const before = treeHash(dir);
  const rotate = await dtrustKey(dir, ['key', 'rotate', 'my gun', 'root']);
  assert.equal(rotate.code, 1);
  assert.equal(
    rotate.stdout,
    'Warning: you are about to rotate your root key.\n\nYou must use your old key to sign this root rotation.\nAre you sure you want to proceed?  (yes/no)  \n',
  );
  assert.equal(
    rotate.stderr,
    `\n* fatal: standard input is not a terminal and gave no answer: pass --yes to rotate the root key without the question\n` +
      `  hint: or answer through standard input: echo yes | dtrust key rotate 'my gun' root\n`,
  );
  const del = await dtrustKey(dir, ['delegation', 'remove', 'example.com/app', 'targets/releases']);
  assert.equal(del.code, 1);
  assert.equal(del.stdout, '\nAre you sure you want to remove all data for this delegation? (yes/no)\n\n');
  assert.equal(
    del.stderr,
    `\n* fatal: standard input is not a terminal and gave no answer: pass --yes to remove the delegation without the question\n` +
      `  hint: or answer through standard input: echo yes | dtrust delegation remove example.com/app targets/releases\n`,
  );
  const declined = await dtrustKey(dir, ['delegation', 'remove', 'example.com/app', 'targets/releases'], { input: 'no\n' });
  assert.equal(declined.code, 1);
  assert.equal(declined.stderr, '\n* fatal: Aborting action.\n  hint: pass --yes to confirm without a question\n');
  assert.equal(treeHash(dir), before);
});
