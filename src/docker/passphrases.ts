// docker's passphrase variables (cli.md §11.1): DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE for root keys,
// DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE for the repository (targets) and signer keys, and
// docker's names for keys in prompts.

import { KeyStoreError, isKeyStoreError } from '../keystore/errors.js';

/** docker's names for passphrase aliases in prompts. */
export const DOCKER_ALIASES: Readonly<Record<string, string>> = { root: 'root', targets: 'repository', snapshot: 'repository' };
const ROOT_VAR = 'DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE';
const REPO_VAR = 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE';

type Env = Readonly<Record<string, string | undefined>>;

function hasVar(env: Env, names: readonly string[]): boolean {
  return names.some((n) => (env[n] ?? '') !== '');
}

/**
 * Without a terminal (`interactive` false), a passphrase can only come from the environment: say
 * which variable is missing before anything is fetched, created or published.
 */
export function requirePassphrase(interactive: boolean, env: Env, which: 'repository' | 'root', why: string): void {
  if (interactive) return;
  if (which === 'root' ? hasVar(env, [ROOT_VAR, 'NOTARY_ROOT_PASSPHRASE']) : hasVar(env, [REPO_VAR, 'NOTARY_TARGETS_PASSPHRASE', 'NOTARY_DELEGATION_PASSPHRASE'])) return;
  const variable = which === 'root' ? ROOT_VAR : REPO_VAR;
  throw new KeyStoreError('NO_PASSPHRASE', `no passphrase for the ${which === 'root' ? 'root' : 'repository and signer'} keys ${why}: ${variable} is not set and stdin is not a terminal`, {
    variable,
    hint:
      which === 'root'
        ? `set ${ROOT_VAR} to the root key's passphrase (a new root key gets it), or run on a terminal to be prompted`
        : `set ${REPO_VAR} to the passphrase of the repository (targets) and signer keys (new keys get it), or run on a terminal to be prompted`,
  });
}

/** KeyStore messages name notary's variable first; docker users set docker's. */
export function dockerPassphraseError(e: unknown): unknown {
  if (!isKeyStoreError(e) || (e.code !== 'NO_PASSPHRASE' && e.code !== 'WRONG_PASSPHRASE' && e.code !== 'BAD_NEW_PASSPHRASE')) return e;
  const v = e.variable;
  if (v === undefined || !v.startsWith('NOTARY_')) return e;
  const docker = v === 'NOTARY_ROOT_PASSPHRASE' ? ROOT_VAR : REPO_VAR;
  return new KeyStoreError(e.code, e.message.split(v).join(docker), {
    variable: docker,
    ...(e.keyId !== undefined ? { keyId: e.keyId } : {}),
    ...(e.role !== undefined ? { role: e.role } : {}),
    hint: e.hint?.split(v).join(docker),
  }, e);
}
