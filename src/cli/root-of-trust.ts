// --root-key / --root-cert, or the configuration's trust_pinning: the root of trust of the
// commands that must not trust on first use when told not to (verify-image, archive verify).

import { resolve } from 'node:path';
import { readRootCert, type RootOfTrust } from '../client/rootoftrust.js';
import type { Ctx } from './app.js';
import { UsageError } from './errors.js';

export async function rootOfTrust(ctx: Ctx, o: Record<string, unknown>): Promise<RootOfTrust> {
  const keys = Array.isArray(o.rootKey) ? (o.rootKey as string[]) : [];
  const cert = typeof o.rootCert === 'string' ? o.rootCert : undefined;
  if (keys.length > 0 && cert !== undefined) throw new UsageError('--root-key and --root-cert are two ways to name the root of trust: give one', false);
  for (const k of keys) if (!/^[a-fA-F0-9]{64}$/.test(k)) throw new UsageError(`--root-key ${JSON.stringify(k)}: expected a 64-character hexadecimal key ID`, false);
  if (keys.length > 0) return { kind: 'keys', ids: keys };
  if (cert !== undefined) return readRootCert(resolve(ctx.app.cwd, cert));
  return { kind: 'config', pinning: (await ctx.config()).trustPinning };
}
