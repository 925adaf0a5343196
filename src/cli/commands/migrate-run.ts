// `migrate` and `migrate key generate` (docker/migrate.ts, docker/cosign-keys.ts): arguments, the
// cosign passphrase (COSIGN_PASSWORD, else a prompt on a terminal), progress on a terminal only,
// and the report as a table or --json.

import { readFile } from 'node:fs/promises';
import { isatty } from 'node:tty';
import { resolve } from 'node:path';
import { generateCosignKeyPair, loadCosignKeyPair } from '../../docker/cosign-keys.js';
import { DockerError } from '../../docker/errors.js';
import type { MigrateReport, MigrateRow } from '../../docker/migrate.js';
import { VALID_NAME, parseImageReference } from '../../docker/reference.js';
import type { Ctx } from '../app.js';
import { openDockerRepo } from '../docker-session.js';
import { UsageError } from '../errors.js';
import { cosignPassphrase } from '../cosign-passphrase.js';
import { stderr } from '../stdio.js';

type Opts = Record<string, unknown>;

export async function keyGenerate(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length !== 1) throw new UsageError('"migrate key generate" requires exactly 1 argument.');
  const name = args[0]!;
  if (!VALID_NAME.test(name)) {
    throw new DockerError('INVALID_NAME', `key name "${name}" must start with lowercase alphanumeric characters and can include "-" or "_" after the first character`, { hint: 'use a name such as cosign or release-2026' });
  }
  const dir = (ctx.cmd.opts() as Opts).dir;
  const passphrase = await cosignPassphrase(ctx, true, `${name}.key`);
  const written = await generateCosignKeyPair({ name, cwd: ctx.app.cwd, ...(typeof dir === 'string' && dir !== '' ? { dir } : {}), passphrase });
  ctx.app.output.out(`Private key written to ${written.key}\nPublic key written to ${written.pub}\n`);
}

async function imagesFrom(ctx: Ctx, file: string): Promise<string[]> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(resolve(ctx.app.cwd, file), 'utf8');
  } catch (e) {
    throw new DockerError('FILE', `cannot read --from ${file}: ${(e as Error).message}`, { hint: 'give a file with one image per line' }, e);
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export async function migrate(ctx: Ctx, args: string[]): Promise<void> {
  const o = ctx.cmd.opts() as Opts;
  const images = [...args, ...(typeof o.from === 'string' ? await imagesFrom(ctx, o.from) : [])];
  if (images.length === 0) throw new UsageError('"migrate" requires at least 1 image (IMAGE[:TAG] or GUN), or --from FILE.');
  if (typeof o.key !== 'string' || o.key === '') throw new UsageError('"migrate" requires --key cosign.key (make one with: dtrust migrate key generate cosign)', false);
  const format = o.format ?? 'bundle';
  if (format !== 'bundle' && format !== 'legacy') {
    throw new DockerError('USAGE', `--format ${String(format)}: the formats are bundle (cosign 3) and legacy (the .sig tag of cosign 1 and 2)`, { hint: 'leave out --format for what cosign 3 writes and verifies by default' });
  }
  const jobs = Number(o.jobs ?? 8);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new DockerError('USAGE', `--jobs ${String(o.jobs)} is not a number from 1 to 64`, { hint: 'the default is 8' });
  const requireSigner = typeof o.requireSigner === 'string' ? o.requireSigner : undefined;
  const refs = images.map((i) => {
    const ref = parseImageReference(i);
    if (ref.digest !== undefined) throw new DockerError('USAGE', `${i}: give a repository or a tag, not a digest`, { hint: 'migrate resolves every tag through DCT itself' });
    return ref;
  });
  const keyPath = resolve(ctx.app.cwd, o.key);
  const key = await loadCosignKeyPair(keyPath, await cosignPassphrase(ctx, false, o.key));
  const repos = await Promise.all(refs.map((r) => openDockerRepo(ctx, r)));
  const progress = isatty(2) && o.json !== true;
  // The workflow brings the Sigstore libraries; `migrate key generate` never loads them.
  const { migrate: migrateImages } = await import('../../docker/migrate.js');
  const report = await migrateImages({
    repos,
    key,
    ...(requireSigner !== undefined ? { requireSigner } : {}),
    format,
    dryRun: o.dryRun === true,
    concurrency: jobs,
    now: ctx.app.now,
    ...(progress ? { onRow: (row: MigrateRow, done: number, total: number) => stderr.write(`\r${done}/${total} ${row.repository}:${row.tag} ${row.status}\x1b[K`) } : {}),
  });
  if (progress) stderr.write('\r\x1b[K');
  const out = ctx.app.output;
  if (o.json === true) out.out(JSON.stringify(report, null, 2) + '\n');
  else out.out(table(report, o.dryRun === true));
  for (const f of report.failed) out.log('error', `${f.message}${f.hint ? ` (${f.hint})` : ''}`);
  const failedRows = report.rows.filter((r) => r.status === 'failed').length;
  if (report.failed.length > 0 || failedRows > 0) {
    throw new DockerError('PARTIAL', `${report.failed.length} of ${repos.length} repositories and ${failedRows} tags could not be migrated`, { hint: 'fix what the errors above say and run the same command again: what is attached already is not attached twice' });
  }
}

function table(r: MigrateReport, dryRun: boolean): string {
  const lines: string[] = [];
  const roots = new Map<string, string>();
  for (const row of r.rows) roots.set(row.repository, `${row.root}; root key ${row.rootKeyIds.join(',')}; targets version ${row.targetsVersion}`);
  for (const [repo, root] of roots) lines.push(`${repo}: ${root}`);
  for (const row of r.rows) {
    const signers = row.signers.length > 0 ? row.signers.join(',') : 'Repo Admin';
    const detail = row.status === 'skipped' || row.status === 'failed' ? row.reason ?? '' : row.manifest ? `signature ${row.manifest}` : '';
    lines.push(`${row.status.padEnd(14)} ${row.repository}:${row.tag}  ${row.digest || '-'}  ${row.role ? `${row.role} (${signers})` : ''}  ${detail}`.trimEnd());
  }
  const count = (s: string): number => r.rows.filter((x) => x.status === s).length;
  lines.push(
    dryRun
      ? `dry run: ${count('would-attach')} to attach, ${count('already-signed')} already signed, ${count('skipped')} skipped; nothing was pushed`
      : `${count('attached')} attached, ${count('already-signed')} already signed, ${count('skipped')} skipped, ${count('failed')} failed`,
  );
  return lines.join('\n') + '\n';
}
