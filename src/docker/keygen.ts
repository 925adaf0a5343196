// `key generate ARG` names two verbs: notary's `key generate [algorithm]` and docker's
// `trust key generate NAME`. Which one a command line means (docs/commands/trust-key.md):
//   - run as `notary`: notary's, always (notary 0.7 has no other);
//   - run as `dtrust`: notary's without an argument, with -o/-r, or with an algorithm name or
//     anything shaped like one (`ecdsa256`, `EC`, `p256`: notary's error then says which exist);
//     docker's with --dir, or with a name that is clearly a signer's: docker's name rule and
//     nothing like an algorithm. Anything else (`Alice`, `my.key`) is refused, naming both verbs.

import { DockerError } from './errors.js';
import { VALID_NAME } from './reference.js';

export type KeyGenerateVerb = 'notary' | 'docker';

export interface KeyGenerateLine {
  program: 'dtrust' | 'notary';
  /** The positional argument, if any. */
  arg: string | undefined;
  /** -o/--output or -r/--role given on the command line (notary's flags). */
  notaryFlags: boolean;
  /** --dir given (docker's flag). */
  dockerFlags: boolean;
}

/** Key algorithms and curves by their usual spellings, alone or with a size: ecdsa256, rsa-4096, ec, P-384, secp256r1. */
const ALGORITHM_LIKE = [/^(ecdsa|ecc|ec|rsa|dsa|eddsa|ed25519|ed448|x25519|x448|curve25519)([-_]?(p-?)?\d+)?$/i, /^(p-?|secp|prime|nistp)\d+([rk]1|v\d)?$/i];

export function looksLikeAlgorithm(arg: string): boolean {
  return ALGORITHM_LIKE.some((re) => re.test(arg));
}

/** Which verb `key generate` runs; throws when a dtrust command line could mean either. */
export function keyGenerateVerb(line: KeyGenerateLine): KeyGenerateVerb {
  if (line.program === 'notary') return 'notary';
  if (line.notaryFlags && line.dockerFlags) {
    throw new DockerError(
      'USAGE',
      'key generate: --dir is for a docker signer key, -o and -r for a notary key; they do not go together',
      { hint: 'a signer key: dtrust trust key generate NAME [--dir DIR]; a notary key: dtrust key generate [ecdsa|ed25519|rsa] [-r ROLE] [-o PREFIX]' },
    );
  }
  if (line.dockerFlags) return 'docker';
  const arg = line.arg;
  if (line.notaryFlags || arg === undefined || looksLikeAlgorithm(arg)) return 'notary';
  if (VALID_NAME.test(arg)) return 'docker';
  throw new DockerError(
    'USAGE',
    `key generate: "${arg}" is neither a key algorithm (ecdsa, ed25519, rsa) nor a signer name (lowercase letters, digits, - and _)`,
    { hint: 'a notary key: dtrust key generate [ecdsa|ed25519|rsa] [-r ROLE]; a docker signer key: dtrust trust key generate NAME' },
  );
}
