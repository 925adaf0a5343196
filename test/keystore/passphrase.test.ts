// The passphrase chain (src/keystore/passphrase.ts): variables per alias (notary's and docker's),
// exact prompt texts, retries, caching only verified passphrases, no-terminal errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyStoreError, PassphraseRetriever, ROOT_KEY_WARNING, passphraseVariables } from '../../src/keystore/index.js';
import { NO_TERMINAL, isYes } from '../../src/cli/prompt.js';
import { ScriptedPrompt } from './helpers.js';

const ID = 'abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789';

/** An attempt function accepting exactly `good`; records what it was given. */
function checker(good: string, seen: string[] = []): (p: Buffer) => Promise<string | null> {
  return async (p) => {
    seen.push(p.toString());
    return p.toString() === good ? 'key' : null;
  };
}

function isErr(code: string, re?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof KeyStoreError && e.code === code && (re === undefined || re.test(e.message + ' ' + (e.hint ?? '')));
}

test('variables per alias: notary first, then docker; delegation variable for every non-base alias', () => {
  assert.deepEqual(passphraseVariables('root'), ['NOTARY_ROOT_PASSPHRASE', 'DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE']);
  assert.deepEqual(passphraseVariables('targets'), ['NOTARY_TARGETS_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE']);
  assert.deepEqual(passphraseVariables('snapshot'), ['NOTARY_SNAPSHOT_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE']);
  assert.deepEqual(passphraseVariables('timestamp'), ['DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE']);
  for (const alias of ['targets/releases', 'delegation', 'alice', '']) {
    assert.deepEqual(passphraseVariables(alias), ['NOTARY_DELEGATION_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE']);
  }
});

test('a passphrase from the environment unlocks without a terminal; docker variables work too', async () => {
  const r = new PassphraseRetriever({ env: { NOTARY_TARGETS_PASSPHRASE: 'targetspass' } });
  assert.equal(await r.unlock({ keyId: ID, alias: 'targets' }, checker('targetspass')), 'key');
  const d = new PassphraseRetriever({ env: { DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'dockerroot', DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'dockerrepo' } });
  assert.equal(await d.unlock({ keyId: ID, alias: 'root' }, checker('dockerroot')), 'key');
  assert.equal(await d.unlock({ keyId: ID, alias: 'alice' }, checker('dockerrepo')), 'key');
  assert.equal(await d.unlock({ keyId: ID, alias: 'snapshot' }, checker('dockerrepo')), 'key');
  // Both set and different: notary's is tried first, then docker's.
  const seen: string[] = [];
  const both = new PassphraseRetriever({ env: { NOTARY_DELEGATION_PASSPHRASE: 'n-pass-1', DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'd-pass-1' } });
  assert.equal(await both.unlock({ keyId: ID, alias: 'targets/releases' }, checker('d-pass-1', seen)), 'key');
  assert.deepEqual(seen, ['n-pass-1', 'd-pass-1']);
});

test('a wrong passphrase in a variable fails at once, naming the variable, never as a missing key (quirk 3)', async () => {
  const r = new PassphraseRetriever({ env: { NOTARY_SNAPSHOT_PASSPHRASE: 'wrong-one' }, prompt: NO_TERMINAL });
  const seen: string[] = [];
  await assert.rejects(
    r.unlock({ keyId: ID, alias: 'snapshot' }, checker('right-one', seen)),
    isErr('WRONG_PASSPHRASE', /NOTARY_SNAPSHOT_PASSPHRASE does not decrypt the snapshot key abcdef0/),
  );
  assert.deepEqual(seen, ['wrong-one']);
});

test('on a terminal, a wrong variable is reported and the user is prompted instead', async () => {
  const prompt = new ScriptedPrompt(['right-one']);
  const r = new PassphraseRetriever({ env: { NOTARY_ROOT_PASSPHRASE: 'wrong-one' }, prompt });
  assert.equal(await r.unlock({ keyId: ID, alias: 'root' }, checker('right-one')), 'key');
  assert.equal(prompt.output, 'The passphrase in NOTARY_ROOT_PASSPHRASE does not decrypt the root key abcdef0.\nEnter passphrase for root key with ID abcdef0: \n');
});

test('no terminal and no variable: an immediate error naming the variable (quirk 5)', async () => {
  const r = new PassphraseRetriever({ env: {}, prompt: NO_TERMINAL });
  await assert.rejects(r.unlock({ keyId: ID, alias: 'targets' }, checker('x')), isErr('NO_PASSPHRASE', /NOTARY_TARGETS_PASSPHRASE is not set and stdin is not a terminal/));
  await assert.rejects(r.unlock({ keyId: ID, alias: 'targets/qa' }, checker('x')), isErr('NO_PASSPHRASE', /NOTARY_DELEGATION_PASSPHRASE/));
  await assert.rejects(r.newPassphrase({ keyId: ID, alias: 'root' }), isErr('NO_PASSPHRASE', /new root key abcdef0: NOTARY_ROOT_PASSPHRASE is not set.*DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE/));
  // Without any prompt object at all, the same.
  await assert.rejects(new PassphraseRetriever({ env: {} }).unlock({ keyId: ID, alias: 'root' }, checker('x')), isErr('NO_PASSPHRASE'));
});

test('require: the same no-input and too-short errors as unlock/newPassphrase, asking nothing; a terminal or a cached passphrase satisfies it', async () => {
  const r = new PassphraseRetriever({ env: { NOTARY_TARGETS_PASSPHRASE: 'short', DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'long-enough' }, prompt: NO_TERMINAL });
  assert.throws(() => r.require({ keyId: '', alias: 'root' }, true), isErr('NO_PASSPHRASE', /^no passphrase for the new root key: NOTARY_ROOT_PASSPHRASE is not set/));
  assert.throws(() => r.require({ keyId: ID, alias: 'root' }, false), isErr('NO_PASSPHRASE', /^no passphrase for the root key abcdef0:/));
  assert.throws(() => r.require({ keyId: '', alias: 'targets' }, true), isErr('BAD_NEW_PASSPHRASE', /NOTARY_TARGETS_PASSPHRASE is too short/));
  r.require({ keyId: ID, alias: 'targets' }, false);
  r.require({ keyId: '', alias: 'snapshot' }, true);
  const prompt = new ScriptedPrompt([]);
  new PassphraseRetriever({ env: {}, prompt }).require({ keyId: '', alias: 'root' }, true);
  assert.equal(prompt.output, '', 'nothing asked');
  const cached = new PassphraseRetriever({ env: {}, prompt: NO_TERMINAL });
  cached.remember('root', Buffer.from('known-passphrase'));
  cached.require({ keyId: ID, alias: 'root' }, false);
});

test("prompts: notary's exact texts, 4 attempts with 'Passphrase incorrect. Please retry.', trimmed input", async () => {
  const prompt = new ScriptedPrompt(['one', 'two', '  good-pass \t']);
  const r = new PassphraseRetriever({ env: {}, prompt });
  const seen: string[] = [];
  assert.equal(await r.unlock({ keyId: ID, alias: 'targets/releases' }, checker('good-pass', seen)), 'key');
  assert.deepEqual(seen, ['one', 'two', 'good-pass']);
  assert.equal(
    prompt.output,
    'Enter passphrase for targets/releases key with ID abcdef0: \n' +
      'Passphrase incorrect. Please retry.\n' +
      'Enter passphrase for targets/releases key with ID abcdef0: \n' +
      'Passphrase incorrect. Please retry.\n' +
      'Enter passphrase for targets/releases key with ID abcdef0: \n',
  );
  const wrong = new ScriptedPrompt(['a', 'b', 'c', 'd', 'never-asked']);
  const r2 = new PassphraseRetriever({ env: {}, prompt: wrong });
  await assert.rejects(r2.unlock({ keyId: ID, alias: 'snapshot' }, checker('z')), isErr('WRONG_PASSPHRASE', /wrong passphrase for the snapshot key abcdef0 \(4 attempts\)/));
  assert.equal(wrong.remaining, 1);
  assert.equal(wrong.output.split('Enter passphrase').length - 1, 4);
  // End of input at a prompt.
  const eof = new PassphraseRetriever({ env: {}, prompt: new ScriptedPrompt([null]) });
  await assert.rejects(eof.unlock({ keyId: ID, alias: 'root' }, checker('z')), isErr('NO_PASSPHRASE', /end of input/));
});

test('only verified passphrases are cached (quirk 4); a cached one is tried first for the same alias', async () => {
  const prompt = new ScriptedPrompt(['bad-1', 'good-pass', 'other-pass', 'snap-pass']);
  const r = new PassphraseRetriever({ env: {}, prompt });
  const seen1: string[] = [];
  await r.unlock({ keyId: ID, alias: 'targets' }, checker('good-pass', seen1));
  assert.deepEqual(seen1, ['bad-1', 'good-pass']);
  // Second key, same alias, same passphrase: no prompt.
  const seen2: string[] = [];
  await r.unlock({ keyId: ID, alias: 'targets' }, checker('good-pass', seen2));
  assert.deepEqual(seen2, ['good-pass']);
  assert.equal(prompt.remaining, 2);
  // Third key with another passphrase: the cached one is tried silently, then one prompt.
  const seen3: string[] = [];
  await r.unlock({ keyId: ID, alias: 'targets' }, checker('other-pass', seen3));
  assert.deepEqual(seen3, ['good-pass', 'other-pass']);
  assert.equal(prompt.output.split('Enter passphrase').length - 1, 3);
  // A different alias does not see the cache.
  const seen4: string[] = [];
  await r.unlock({ keyId: ID, alias: 'snapshot' }, checker('snap-pass', seen4));
  assert.deepEqual(seen4, ['snap-pass']);
});

test('new passphrases: root warning once, too short, mismatch, confirmation; display aliases', async () => {
  const prompt = new ScriptedPrompt(['short', 'long-enough-1', 'different-1', 'long-enough-1', 'long-enough-1']);
  const r = new PassphraseRetriever({ env: {}, prompt });
  const p = await r.newPassphrase({ keyId: ID, alias: 'root' });
  assert.equal(p.toString(), 'long-enough-1');
  assert.equal(
    prompt.output,
    ROOT_KEY_WARNING +
      'Enter passphrase for new root key with ID abcdef0: \n' +
      'Passphrase is too short. Please use a password manager to generate and store a good random passphrase.\n' +
      'Enter passphrase for new root key with ID abcdef0: \n' +
      'Repeat passphrase for new root key with ID abcdef0: \n' +
      'Passphrases do not match. Please retry.\n' +
      'Enter passphrase for new root key with ID abcdef0: \n' +
      'Repeat passphrase for new root key with ID abcdef0: \n',
  );
  assert.ok(ROOT_KEY_WARNING.startsWith('You are about to create a new root signing key passphrase.'));
  assert.ok(ROOT_KEY_WARNING.endsWith('You can find the key in your config directory.\n'));
  // The new passphrase is cached for the alias (a key was just written with it).
  const seen: string[] = [];
  await r.unlock({ keyId: ID, alias: 'root' }, checker('long-enough-1', seen));
  assert.deepEqual(seen, ['long-enough-1']);

  const docker = new ScriptedPrompt(['repo-pass-1', 'repo-pass-1']);
  const d = new PassphraseRetriever({ env: {}, prompt: docker, displayAliases: { targets: 'repository', snapshot: 'repository' } });
  await d.newPassphrase({ keyId: ID, alias: 'targets' });
  assert.equal(docker.output, 'Enter passphrase for new repository key with ID abcdef0: \nRepeat passphrase for new repository key with ID abcdef0: \n');

  const giveUp = new ScriptedPrompt(['a', 'b', 'c', 'd']);
  await assert.rejects(new PassphraseRetriever({ env: {}, prompt: giveUp }).newPassphrase({ keyId: ID, alias: 'targets' }), isErr('BAD_NEW_PASSPHRASE', /maximum number of passphrase attempts exceeded/));
});

test('key names with a directory show the ID and the directory; an empty name shows no ID', async () => {
  const prompt = new ScriptedPrompt(['pass-word-1', 'pass-word-1', 'pass-word-2']);
  const r = new PassphraseRetriever({ env: {}, prompt });
  await r.newPassphrase({ keyId: ID, alias: 'delegation', keyName: 'tuf_keys/example.com/abcdef0123' });
  await r.unlock({ keyId: '', alias: 'alice', keyName: '' }, checker('pass-word-2'));
  assert.equal(
    prompt.output,
    'Enter passphrase for new delegation key with ID abcdef0 (tuf_keys/example.com): \n' +
      'Repeat passphrase for new delegation key with ID abcdef0 (tuf_keys/example.com): \n' +
      'Enter passphrase for alice key: \n',
  );
});

test('new passphrases from variables: used as they are, at least 8 characters (quirk 27), explicit variables for key passwd', async () => {
  const r = new PassphraseRetriever({ env: { NOTARY_TARGETS_PASSPHRASE: 'short', NOTARY_DELEGATION_PASSPHRASE: 'long enough', DTRUST_NEW_PASSPHRASE: 'brand-new-pass' } });
  await assert.rejects(r.newPassphrase({ keyId: ID, alias: 'targets' }), isErr('BAD_NEW_PASSPHRASE', /NOTARY_TARGETS_PASSPHRASE is too short/));
  assert.equal((await r.newPassphrase({ keyId: ID, alias: 'targets/x' })).toString(), 'long enough');
  assert.equal((await r.newPassphrase({ keyId: ID, alias: 'targets/x' }, { variables: ['DTRUST_NEW_PASSPHRASE'] })).toString(), 'brand-new-pass');
  await assert.rejects(r.newPassphrase({ keyId: ID, alias: 'root' }, { variables: ['UNSET_VARIABLE'] }), isErr('NO_PASSPHRASE', /UNSET_VARIABLE/));
  // Empty variables count as unset.
  const e = new PassphraseRetriever({ env: { NOTARY_ROOT_PASSPHRASE: '' } });
  await assert.rejects(e.unlock({ keyId: ID, alias: 'root' }, checker('')), isErr('NO_PASSPHRASE'));
});

test("isYes: notary's askConfirm", () => {
  for (const y of ['y', 'Y', 'yes', 'YES', ' yes ', 'Yes\r']) assert.equal(isYes(y), true, y);
  for (const n of [null, '', 'no', 'yes please', 'yess', 'n']) assert.equal(isYes(n), false, String(n));
});
