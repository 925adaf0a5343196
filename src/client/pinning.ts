// The trust pinning rule for one GUN's first root (cli.md §3), with the CA bundle a `ca` rule
// names read from disk: only when a first root is checked, as notary does, so an unreadable CA
// file does not stop reads of repositories whose root is already cached.

import { open } from 'node:fs/promises';
import { goFileError } from '../fs/errno.js';
import { TrustError } from '../tuf/errors.js';
import { pinRule, type RootPin, type TrustPinning } from '../tuf/rootcerts.js';

/** A CA bundle is a few certificates; anything this large is not one. */
const MAX_CA_BUNDLE = 1024 * 1024;

export async function rootPin(gun: string, pinning: TrustPinning | undefined): Promise<RootPin> {
  const rule = pinRule(gun, pinning);
  if (rule.kind !== 'ca') return rule;
  const fail = (why: string): never => {
    throw new TrustError('TRUST_PINNING', `could not validate the path to a trusted root: could not load root cert from CA path: ${why}`, {
      gun,
      hint: `trust_pinning.ca[${JSON.stringify(rule.prefix)}] names ${rule.file} (a relative path is taken from the configuration file's directory); make it a readable PEM file of the CA's certificates`,
    });
  };
  let bundle: Buffer | undefined;
  try {
    const f = await open(rule.file, 'r');
    try {
      if ((await f.stat()).size <= MAX_CA_BUNDLE) bundle = await f.readFile();
    } finally {
      await f.close();
    }
  } catch (e) {
    return fail(goFileError(e, rule.file));
  }
  if (bundle === undefined || bundle.length > MAX_CA_BUNDLE) return fail(`${rule.file} is larger than ${MAX_CA_BUNDLE} bytes`);
  return { ...rule, bundle };
}
