// `key rotate`: replace a base role's keys and publish that change alone, at once. Old local keys
// are removed only after the server accepted the rotation; a failed rotation removes the key it
// generated (cli.md §12 #16).

import { resolve } from 'node:path';
import { encodeRootData } from '../../client/changes.js';
import { RemoteError } from '../../remote/errors.js';
import { rootCertKey } from '../../client/init.js';
import { publish } from '../../client/publish.js';
import type { StagedChange } from '../../storage/changelist.js';
import { parseEnvelope } from '../../tuf/envelope.js';
import { PublicKey } from '../../tuf/keys.js';
import { parseRoot } from '../../tuf/metadata.js';
import type { Ctx } from '../app.js';
import { CliError, UsageError } from '../errors.js';
import { keyAccess } from '../keys.js';
import { isYes, TerminalPrompt } from '../prompt.js';
import { connect, locked, openSession } from '../session.js';

export async function rotate(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 2) throw new UsageError('Must specify a GUN and a key role to rotate');
  const [gun, role] = args as [string, string];
  const o = ctx.cmd.opts() as { serverManaged?: boolean; key?: string[]; legacy?: number; yes?: boolean };
  const out = ctx.app.output;
  if (role === 'root' && !o.yes) {
    out.out('Warning: you are about to rotate your root key.\n\nYou must use your old key to sign this root rotation.\nAre you sure you want to proceed?  (yes/no)  ');
    if (!isYes(await new TerminalPrompt().readLine())) {
      out.out('\nAborting action.\n');
      return;
    }
  }
  if (!['root', 'targets', 'snapshot', 'timestamp'].includes(role)) {
    throw new CliError('INVALID_ROLE', `notary does not currently permit rotating the ${role} key`, { hint: 'delegation keys change with: dtrust delegation add / delegation remove' });
  }
  if (o.serverManaged && (role === 'root' || role === 'targets')) {
    throw new CliError('INVALID_ROLE', `notary does not permit the server managing the ${role} key`, { hint: `rotate it without -r: dtrust key rotate ${gun} ${role}` });
  }
  if (role === 'timestamp' && !o.serverManaged) {
    throw new CliError('INVALID_ROLE', 'notary does not permit the client managing the timestamp key', { hint: `the server holds it: dtrust key rotate ${gun} timestamp -r` });
  }
  const s = await openSession(ctx, gun);
  await locked(s, async () => {
    const keys = await keyAccess(ctx);
    const remote = await connect(s, '*');
    const created: string[] = [];
    try {
      const before = await currentRoot(s, remote);
      const oldIds = (before.roles.get(role)?.keyids ?? []).map((id) => before.keys.get(id)).filter((k) => k !== undefined).map((k) => k.canonicalId);
      let newKeys: PublicKey[];
      if (o.serverManaged) {
        const k = await remote.rotateKey(role as 'timestamp' | 'snapshot');
        newKeys = [new PublicKey(k.keytype, k.public)];
      } else {
        const ids: string[] = [];
        for (const f of o.key ?? []) ids.push(await keys.importKeyFile(resolve(ctx.app.cwd, f), role, role === 'root' ? '' : gun));
        if (ids.length === 0) {
          const g = await keys.generate(role, role === 'root' ? '' : gun);
          created.push(g.canonicalId);
          ids.push(g.canonicalId);
        }
        newKeys = [];
        for (const id of ids) newKeys.push(role === 'root' ? await rootCertKey(keys, id, gun, ctx.app.now) : await keys.publicKey(id));
      }
      const threshold = before.roles.get(role)?.threshold ?? 1;
      if (newKeys.length < threshold) {
        throw new CliError('THRESHOLD', `the ${role} role needs ${threshold} keys, and the rotation gives it ${newKeys.length}`, { hint: 'pass enough keys with -k' });
      }
      out.err(
        `Rotating the ${role} key of ${gun}: ${oldIds.join(', ') || '(none)'} -> ${newKeys.map((k) => k.canonicalId).join(', ')}` +
          (o.serverManaged ? ' (held by the server)' : '') +
          `\nroot version ${before.version + 1} will be signed by the root keys ${[...new Set([...(before.roles.get('root')?.keyids ?? []).map((id) => before.keys.get(id)?.canonicalId ?? id), ...(role === 'root' ? newKeys.map((k) => k.canonicalId) : [])])].join(', ')}` +
          (o.legacy ? `, and by the root keys held here of ${o.legacy < 0 ? 'every earlier root version' : `the ${o.legacy} root version(s) before that`} (-l)` : '') +
          '\n',
      );
      const change: StagedChange = { action: 'create', scope: 'root', type: 'role', path: role, data: encodeRootData(role, newKeys), file: '', index: 0 };
      try {
        await publish({
          gun: s.gun,
          now: ctx.app.now,
          cache: s.cache,
          changelist: s.changelist,
          remote,
          keys,
          pinning: s.cfg.trustPinning,
          warn: (m) => out.log('warning', m),
          staged: false,
          extraChanges: [change],
          legacyRootVersions: o.legacy,
        });
      } catch (e) {
        // The upload was sent but no answer came: the server may now list the new key, so it must
        // not be deleted (nor the old one, which it may still list).
        if (!(e instanceof RemoteError && e.code === 'UNKNOWN_OUTCOME')) throw e;
        created.length = 0;
        const newIds = newKeys.map((k) => k.canonicalId);
        throw new CliError(
          'UNKNOWN_OUTCOME',
          `the connection dropped after the ${role} key rotation was sent; the server may or may not have applied it`,
          { hint: `both keys are kept (old: ${oldIds.join(', ') || 'none'}; new: ${newIds.join(', ')}); run the rotation again: dtrust key rotate ${gun} ${role}${o.serverManaged ? ' -r' : ''} (it re-reads the server state); afterwards remove the key it no longer uses with: dtrust key remove <id>` },
          e,
        );
      }
      created.length = 0;
      if (role !== 'root') {
        const keep = new Set(newKeys.map((k) => k.canonicalId));
        for (const id of oldIds) if (!keep.has(id) && keys.has(id)) await keys.remove(id);
      }
    } finally {
      for (const id of created) await keys.remove(id).catch(() => undefined);
      remote.close();
    }
  });
  out.out(`Successfully rotated ${role} key for repository ${gun}\n`);
}

async function currentRoot(s: Awaited<ReturnType<typeof openSession>>, remote: Awaited<ReturnType<typeof connect>>) {
  const bytes = (await s.cache.read('root', 2 * 1024 * 1024)) ?? (await remote.getMeta('root', 2 * 1024 * 1024));
  return parseRoot(parseEnvelope(bytes, 'root').signed);
}

