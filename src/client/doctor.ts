// `doctor` (docs/commands/doctor.md): the set-up a command would use, checked. Each part is a
// fact and, when something is wrong, a problem with its fix on one line. Nothing secret is read
// into the report: key files are looked at for their mode and whether they are encrypted.

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { PRIVATE_DIR, listKeyFiles } from '../keystore/keyfiles.js';
import { RemoteError } from '../remote/errors.js';
import { redactUrl } from '../remote/url.js';
import type { NotaryRemote } from '../remote/notary.js';
import { describeError } from './errors.js';

export interface Problem {
  problem: string;
  fix: string;
}

export interface ServerCheck {
  url: string;
  from: Config['serverUrlFrom'];
  /** The `/v2/` ping answered as a notary server. */
  answers: boolean;
  /** `verified` (https, certificate checked), `not verified` (skipTLSVerify), `none` (plain http). */
  tls: 'verified' | 'not verified' | 'none';
  /** Auth challenge schemes of the ping's 401 (`Bearer`, `Basic`); empty when none was asked. */
  auth: string[];
  error?: string;
}

export interface KeyFilesCheck {
  dir: string;
  count: number;
  /** Key files per role, as the key stores list them (tokens included). */
  byRole: Record<string, number>;
}

export interface TokenCheck {
  module?: string;
  from?: string;
  token?: string;
  error?: string;
}

export interface SetupReport {
  program: string;
  /** Which defaults apply: notary's (`~/.notary`) or docker's (`~/.docker/trust`). */
  mode: 'notary' | 'docker';
  trustDir: { path: string; from: string; exists: boolean };
  configFile: string | null;
  server: ServerCheck;
  keys: KeyFilesCheck;
  pkcs11: TokenCheck;
  codeCache: string;
  expiryWarningSeconds: number;
  problems: Problem[];
}

export interface SetupInput {
  cfg: Config;
  env: Readonly<Record<string, string | undefined>>;
  mode: 'notary' | 'docker';
  /** The server, opened for a ping (its verdict is awaited here); closed by the caller. */
  remote: () => Promise<NotaryRemote>;
  /** Roles of the keys the stores hold (from the key service, token keys included). */
  keyRoles: readonly string[];
  pkcs11: TokenCheck;
  codeCache: string;
}

export function trustDirReason(cfg: Config, env: SetupInput['env'], mode: 'notary' | 'docker'): string {
  if (cfg.trustDirFrom === 'flag') return '-d/--trustDir';
  if (cfg.trustDirFrom === 'config') return `trust_dir in ${cfg.configFile}`;
  if (mode === 'docker' && env['DOCKER_CONFIG']) return 'the default under DOCKER_CONFIG';
  return mode === 'docker' ? "docker's default (~/.docker/trust)" : "notary's default (~/.notary)";
}

export async function checkSetup(input: SetupInput): Promise<SetupReport> {
  const { cfg } = input;
  const problems: Problem[] = [];
  const exists = isDir(cfg.trustDir);
  if (!exists) problems.push({ problem: `the trust directory ${cfg.trustDir} does not exist`, fix: 'it is created by the first command that writes (init, key generate, a read caches metadata); check -d or trust_dir if you expected keys there' });
  const server = await checkServer(input, problems);
  const keys = checkKeyFiles(cfg.trustDir, input.keyRoles, problems);
  if (input.pkcs11.error) problems.push({ problem: `PKCS#11: ${input.pkcs11.error}`, fix: 'check the module path and the token (DTRUST_PKCS11_TOKEN), or run with --pkcs11-module none' });
  return {
    program: cfg.program,
    mode: input.mode,
    trustDir: { path: cfg.trustDir, from: trustDirReason(cfg, input.env, input.mode), exists },
    configFile: cfg.configFile ?? null,
    server,
    keys,
    pkcs11: input.pkcs11,
    codeCache: input.codeCache,
    expiryWarningSeconds: Math.floor(cfg.expiryWarningMs / 1000),
    problems,
  };
}

async function checkServer(input: SetupInput, problems: Problem[]): Promise<ServerCheck> {
  const { cfg } = input;
  const tls = cfg.serverUrl.startsWith('http:') ? 'none' : cfg.tls.skipVerify ? 'not verified' : 'verified';
  const url = redactUrl(cfg.serverUrl);
  const out: ServerCheck = { url, from: cfg.serverUrlFrom, answers: false, tls, auth: [] };
  if (tls === 'not verified') problems.push({ problem: `the server's TLS certificate is not checked (remote_server.skipTLSVerify)`, fix: 'give its CA with --tlscacert or remote_server.root_ca and remove skipTLSVerify' });
  let remote: NotaryRemote | undefined;
  try {
    remote = await input.remote();
    await remote.reachable();
    out.answers = true;
    out.auth = [...new Set(remote.challenges.map((c) => c.scheme))];
  } catch (e) {
    out.error = describeError(e).message;
    const tlsFailure = e instanceof RemoteError && e.code === 'TLS';
    problems.push({
      problem: `the server ${url} does not answer: ${out.error}`,
      fix: tlsFailure ? 'give the CA that signed its certificate with --tlscacert (or remote_server.root_ca)' : `check the URL (-s, remote_server.url${cfg.program === 'dtrust' ? ', DOCKER_CONTENT_TRUST_SERVER' : ''}) and that the server runs`,
    });
  } finally {
    remote?.close();
  }
  return out;
}

function checkKeyFiles(trustDir: string, roles: readonly string[], problems: Problem[]): KeyFilesCheck {
  const dir = join(trustDir, PRIVATE_DIR);
  const byRole: Record<string, number> = {};
  for (const r of roles) byRole[r] = (byRole[r] ?? 0) + 1;
  let files: ReturnType<typeof listKeyFiles> = [];
  try {
    files = listKeyFiles(dir, () => undefined);
  } catch (e) {
    problems.push({ problem: `the key directory ${dir} cannot be read: ${(e as Error).message}`, fix: `make it readable by you: chmod 700 ${dir}` });
  }
  for (const f of files) {
    let mode: number;
    let text: string;
    try {
      mode = statSync(f.path).mode & 0o777;
      text = readFileSync(f.path, 'latin1');
    } catch (e) {
      problems.push({ problem: `the key file ${f.path} cannot be read: ${(e as Error).message}`, fix: `make it yours and readable: chmod 600 ${f.path}` });
      continue;
    }
    if ((mode & 0o077) !== 0) problems.push({ problem: `the key file ${f.path} is readable by others (mode ${mode.toString(8)})`, fix: `chmod 600 ${f.path}` });
    if (!/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
      problems.push({ problem: `the key file ${f.path} holds an unencrypted private key`, fix: `re-encrypt it: dtrust key passwd ${f.id}` });
    }
  }
  return { dir, count: files.length, byRole };
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
