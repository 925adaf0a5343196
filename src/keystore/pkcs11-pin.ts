// Where a token's PINs come from, beside passphrase.ts for key files: DTRUST_PKCS11_PIN (user) or
// DTRUST_PKCS11_SO_PIN, then a prompt on the terminal, at most 3 times. Unlike notary, no PIN is
// ever guessed: every wrong PIN counts towards locking the token (notary tries 123456 first on
// every signature). A PIN from the environment is tried once only, so that a wrong value cannot
// lock the token; a YubiKey's SO login first tries notary's default management key, which does
// not count towards a lock.

import { KeyStoreError } from './errors.js';
import { CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED } from './pkcs11-api.js';
import { PKCS11_PIN_VARIABLE, PKCS11_SO_PIN_VARIABLE } from './pkcs11-module.js';
import type { Env, PromptIO } from './passphrase.js';

/** notary's default PIV management key, used as the SO PIN of a YubiKey (yubikeystore.go). */
const YUBIKEY_DEFAULT_SO_PIN = '010203040506070801020304050607080102030405060708';
/** PIN prompts before giving up (a YubiKey locks its PIN after 3 wrong ones). */
export const MAX_PIN_PROMPTS = 3;

export type PinKind = 'user' | 'so';

/** The token a PIN is for. */
export interface PinTarget {
  readonly label: string;
  readonly yubikey: boolean;
  /** C_Login with `pin`: true when logged in, false when the token says the PIN is wrong; other failures throw. */
  tryPin(pin: string): boolean;
  /** The token's flags (they count wrong PINs). */
  flags(): number;
}

export class PinRetriever {
  constructor(
    private readonly env: Env,
    private readonly prompt: PromptIO | undefined,
  ) {}

  /**
   * Logs `kind` in on `token` with a PIN from the environment or the terminal. Throws NO_PIN when
   * there is none, WRONG_PIN when they were refused, PIN_LOCKED once the token locked the PIN.
   */
  async logIn(kind: PinKind, token: PinTarget): Promise<void> {
    const variable = kind === 'so' ? PKCS11_SO_PIN_VARIABLE : PKCS11_PIN_VARIABLE;
    const fromEnv = this.env[variable];
    if (fromEnv !== undefined && fromEnv !== '') {
      if (token.tryPin(fromEnv)) return;
      if (!this.prompt?.interactive) throw wrongPin(kind, token, `the PIN in ${variable} was refused by token "${token.label}"`, variable);
      this.prompt.write(`The PIN in ${variable} was refused by token "${token.label}".\n`);
    } else if (kind === 'so' && token.yubikey) {
      // notary's default management key (its SO PIN); a wrong management key does not lock a YubiKey.
      if (token.tryPin(YUBIKEY_DEFAULT_SO_PIN)) return;
    }
    await this.typed(kind, token, variable);
  }

  /** Up to MAX_PIN_PROMPTS PINs typed on the terminal, saying when one attempt is left. */
  private async typed(kind: PinKind, token: PinTarget, variable: string): Promise<void> {
    const what = kind === 'so' ? 'SO Pin' : 'User Pin';
    const prompt = this.prompt;
    if (!prompt?.interactive) {
      throw new KeyStoreError('NO_PIN', `no ${what} for token "${token.label}": ${variable} is not set and stdin is not a terminal`, {
        variable,
        hint: `set ${variable} (CI), or run the command on a terminal to be asked for the PIN`,
      });
    }
    const text = token.yubikey ? `Enter the ${what} for the attached Yubikey: ` : `Enter the ${what} for token "${token.label}": `;
    for (let i = 0; i < MAX_PIN_PROMPTS; i++) {
      const typed = await prompt.readSecret(text);
      if (typed === null) throw new KeyStoreError('NO_PIN', `no ${what} entered for token "${token.label}" (end of input)`, { variable });
      const pin = typed.toString('utf8').trim();
      typed.fill(0);
      if (pin !== '' && token.tryPin(pin)) return;
      if (kind === 'user') {
        const flags = token.flags();
        if ((flags & CKF_USER_PIN_LOCKED) !== 0) throw pinLockedError(token);
        if ((flags & CKF_USER_PIN_FINAL_TRY) !== 0) {
          prompt.write('Wrong PIN. One attempt is left before the token locks its PIN.\n');
          continue;
        }
      }
      prompt.write('Wrong PIN. Please retry.\n');
    }
    throw wrongPin(kind, token, `wrong ${what} for token "${token.label}" (${MAX_PIN_PROMPTS} attempts)`, undefined);
  }
}

/** PIN_LOCKED for `token`, with how to unblock it. */
export function pinLockedError(token: Pick<PinTarget, 'label' | 'yubikey'>, cause?: unknown): KeyStoreError {
  return new KeyStoreError('PIN_LOCKED', `the user PIN of token "${token.label}" is locked after too many wrong PINs`, {
    hint: token.yubikey
      ? 'unblock it with the PUK (ykman piv access unblock-pin); no key was changed'
      : "unblock it with the token's SO PIN (e.g. pkcs11-tool --init-pin --login --login-type so); no key was changed",
  }, cause);
}

function wrongPin(kind: PinKind, token: PinTarget, message: string, variable: string | undefined): KeyStoreError {
  let left = '';
  if (kind === 'user') {
    const flags = token.flags();
    if ((flags & CKF_USER_PIN_LOCKED) !== 0) return pinLockedError(token);
    if ((flags & CKF_USER_PIN_FINAL_TRY) !== 0) left = '; only one attempt is left before the token locks its PIN';
    else if ((flags & CKF_USER_PIN_COUNT_LOW) !== 0) left = '; the token reports few attempts left';
  }
  return new KeyStoreError('WRONG_PIN', message + left, {
    variable,
    hint: variable
      ? `set ${variable} to the token's ${kind === 'so' ? 'SO PIN (YubiKey: management key)' : 'user PIN'}; a PIN from the environment is tried once only, so that a wrong value cannot lock the token`
      : `enter the token's ${kind === 'so' ? 'SO PIN (YubiKey: management key)' : 'user PIN'}; no key was changed`,
  });
}
