// The passphrase of a cosign key: COSIGN_PASSWORD when set (empty included, as cosign reads it),
// else typed on a terminal; never read from a pipe.

import { COSIGN_PASSWORD_VARIABLE } from '../docker/cosign-keys.js';
import { DockerError } from '../docker/errors.js';
import type { Ctx } from './app.js';
import { TerminalPrompt } from './prompt.js';

export async function cosignPassphrase(ctx: Ctx, confirm: boolean, keyName: string): Promise<string> {
  const fromEnv = ctx.app.env[COSIGN_PASSWORD_VARIABLE];
  if (fromEnv !== undefined) return fromEnv;
  const prompt = new TerminalPrompt();
  if (!prompt.interactive) {
    throw new DockerError('KEY_FILE', `no passphrase for the cosign key ${keyName}: ${COSIGN_PASSWORD_VARIABLE} is not set and there is no terminal to ask on`, {
      hint: `set ${COSIGN_PASSWORD_VARIABLE} (an empty value means no passphrase, as with cosign)`,
    });
  }
  const first = await prompt.readSecret(`Enter password for private key: `);
  if (first === null) throw new DockerError('CANCELLED', 'no passphrase typed', { hint: `type it, or set ${COSIGN_PASSWORD_VARIABLE}` });
  const text = first.toString('utf8');
  first.fill(0);
  if (confirm) {
    const again = await prompt.readSecret('Enter password for private key again: ');
    const same = again !== null && again.toString('utf8') === text;
    again?.fill(0);
    if (!same) throw new DockerError('CANCELLED', 'the passphrases do not match', { hint: 'run the command again; nothing was written' });
  }
  return text;
}
