// `doctor` (docs/commands/doctor.md): the set-up as commands use it (client/doctor.ts), and with a
// GUN its expiry and the roles this machine can sign.

import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatDuration } from '../../config/duration.js';
import { checkSetup, type SetupReport } from '../../client/doctor.js';
import { expiryJson, expiryTableRows, repoExpiry, type RepoExpiry } from '../../client/expiry.js';
import type { Ctx } from '../app.js';
import { keySetup } from '../keys.js';
import { openServer, openSession, refresh } from '../session.js';
import { formatTable } from '../table.js';

const EXPIRY_WINDOW_MS = 30 * 86_400_000;

export async function doctor(ctx: Ctx, gun: string | undefined): Promise<void> {
  const cfg = await ctx.config();
  const env = ctx.app.env;
  const keys = await keySetup(ctx);
  const report = await checkSetup({
    cfg,
    env,
    mode: ctx.app.program === 'notary' ? 'notary' : 'docker',
    remote: () => openServer(ctx, cfg, gun ?? 'dtrust/doctor'),
    keyRoles: keys.roles,
    pkcs11: keys.pkcs11,
    codeCache: codeCache(env),
  });
  let repo: { expiry: RepoExpiry; canSign: string[] } | undefined;
  if (gun !== undefined && gun !== '') {
    const s = await openSession(ctx, gun);
    const { builder, offline } = await refresh(s, { allowExpired: 'all' });
    const expiry = repoExpiry(s.gun, builder, offline, { now: ctx.app.now, withinMs: EXPIRY_WINDOW_MS, held: keys.held });
    const canSign = expiry.rows.filter((r) => r.keys.some((k) => keys.held(k.id) !== undefined)).map((r) => r.role);
    repo = { expiry, canSign };
    if (expiry.worst !== 'ok') report.problems.push({ problem: `something of ${s.gun} ${expiry.worst === 'expired' ? 'has expired' : 'expires within 30 days'}`, fix: `see dtrust expiry ${s.gun}; renew with: dtrust renew ${s.gun} -p` });
  }
  const out = ctx.app.output;
  if (ctx.cmd.opts().json) {
    const json = { ...report, ...(repo ? { repository: { ...(expiryJson(repo.expiry, ctx.app.now, EXPIRY_WINDOW_MS) as object), canSign: repo.canSign } } : {}) };
    out.out(JSON.stringify(json, null, 2) + '\n');
    return;
  }
  out.out(setupText(report));
  if (repo) {
    out.out(`\n${repo.expiry.gun} (${repo.expiry.source === 'server' ? 'from the server' : 'from the verified cache: the server could not be reached'}):\n\n`);
    out.out(formatTable(['ROLE', 'VERSION', 'EXPIRES (UTC)', 'LEFT', 'STATUS', 'RENEWED BY', 'KEYS (held here; certificate end)'], expiryTableRows(repo.expiry, ctx.app.now)));
    out.out(`\nThis machine can sign: ${repo.canSign.length > 0 ? repo.canSign.join(', ') : 'nothing of it'}\n`);
  }
  out.out(report.problems.length === 0 ? '\nNo problems found.\n' : `\nProblems:\n${report.problems.map((p) => `  - ${p.problem}\n    fix: ${p.fix}\n`).join('')}`);
}

function setupText(r: SetupReport): string {
  const roles = Object.entries(r.keys.byRole).map(([role, n]) => `${role} ${n}`).join(', ');
  const server = r.server.answers
    ? `answers; TLS ${r.server.tls}; ${r.server.auth.length > 0 ? `asks for ${r.server.auth.join(', ')} authentication` : 'no authentication asked'}`
    : `does not answer (${r.server.error ?? ''})`;
  const p = r.pkcs11;
  const token = p.module === undefined ? 'none configured or found' : `${p.module} (from ${p.from})${p.token !== undefined ? `, token "${p.token}"` : ''}${p.error !== undefined ? `: ${p.error}` : ''}`;
  const rows = [
    ['program', `${r.program} (${r.mode === 'docker' ? "docker's defaults" : "notary's defaults"})`],
    ['trust directory', `${r.trustDir.path} (${r.trustDir.from})${r.trustDir.exists ? '' : ', does not exist'}`],
    ['configuration file', r.configFile ?? 'none'],
    ['server', `${r.server.url} (from ${r.server.from === 'flag' ? '-s' : r.server.from === 'config' ? 'remote_server.url' : r.server.from === 'env' ? 'DOCKER_CONTENT_TRUST_SERVER' : 'the default'}): ${server}`],
    ['keys', `${r.keys.dir}: ${r.keys.count} file${r.keys.count === 1 ? '' : 's'}${roles ? ` (keys held: ${roles})` : ''}`],
    ['PKCS#11', token],
    ['code cache', r.codeCache],
    ['expiry warnings', r.expiryWarningSeconds === 0 ? 'off' : `within ${formatDuration(r.expiryWarningSeconds * 1000)}`],
  ];
  return rows.map(([k, v]) => `${(k + ':').padEnd(20)}${v}\n`).join('');
}

/** Where bin/dtrust keeps its start-up code cache (docs/configuration.md), or why there is none. */
function codeCache(env: Readonly<Record<string, string | undefined>>): string {
  const setting = env['DTRUST_CODE_CACHE'];
  if (setting === 'off' || setting === '0') return 'off (DTRUST_CODE_CACHE)';
  if (setting) return `${setting} (DTRUST_CODE_CACHE)`;
  try {
    return join(dirname(dirname(realpathSync(process.argv[1] ?? ''))), 'dist', '.v8-cache');
  } catch {
    return 'unknown (the program was not started by bin/dtrust)';
  }
}
