// Credential providers for the auth session. The caller passes the environment (this layer never
// reads process.env). Secrets never reach a message, a log, a cause or a child's argv (SEC-F7).

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RemoteError } from './errors.js';

export type Env = Record<string, string | undefined>;

export interface Credentials {
  username: string;
  password: string;
  /**
   * docker's identity token (an OAuth refresh token). When set, Bearer tokens are obtained with
   * it and username/password are not used.
   */
  identityToken?: string;
}

/** Where credentials come from; resolves undefined when there are none. Called at most once per remote. */
export type CredentialProvider = () => Promise<Credentials | undefined>;

/** Go's base64.StdEncoding.DecodeString: padded standard alphabet; CR and LF are ignored. */
function decodeStdBase64(s: string): Buffer | undefined {
  const t = s.replace(/[\r\n]/g, '');
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(t)) return undefined;
  return Buffer.from(t, 'base64');
}

const NOTARY_AUTH_HINT = 'set NOTARY_AUTH to the base64 encoding of <username>:<password>, e.g. NOTARY_AUTH=$(printf %s "$USER_NAME:$PASSWORD" | base64 -w0)';

function notaryAuthError(message: string): RemoteError {
  return new RemoteError('CONFIG', message, { url: 'NOTARY_AUTH', hint: NOTARY_AUTH_HINT });
}

/**
 * Credentials from `NOTARY_AUTH` = base64(`username:password`), the password whitespace-trimmed,
 * as notary. Unset or empty → no credentials. A malformed value is a CONFIG error with notary's
 * text (notary only logs it and carries on without credentials), raised when credentials are
 * first needed; the value itself is never shown.
 */
export function notaryAuthCredentials(env: Env): CredentialProvider {
  const raw = env['NOTARY_AUTH'];
  return async () => {
    if (raw === undefined || raw === '') return undefined;
    const dec = decodeStdBase64(raw);
    if (dec === undefined) throw notaryAuthError('Could not base64-decode authentication string');
    const plain = dec.toString('utf8');
    dec.fill(0);
    const i = plain.indexOf(':');
    if (i === 0) throw notaryAuthError('Authentication string with zero-length username');
    if (i < 0) throw notaryAuthError('Malformatted authentication string; format must be <username>:<password>');
    const password = plain.slice(i + 1).trim();
    if (password === '') throw notaryAuthError('Authentication string with zero-length password');
    return { username: plain.slice(0, i), password };
  };
}

/** The first provider that has credentials wins; errors propagate (a bad NOTARY_AUTH is an error). */
export function chainCredentials(...providers: (CredentialProvider | undefined)[]): CredentialProvider {
  return async () => {
    for (const p of providers) {
      if (p === undefined) continue;
      const c = await p();
      if (c !== undefined) return c;
    }
    return undefined;
  };
}

/** NOTARY_AUTH first, then docker's config.json / credential helpers for the server's host. */
export function defaultCredentials(serverUrl: string, env: Env): CredentialProvider {
  return chainCredentials(notaryAuthCredentials(env), dockerConfigCredentials(serverUrl, env));
}

// ---------------------------------------------------------------------------------------------
// docker config.json

export interface DockerConfigOptions {
  /** Kill a credential helper after this long (default 10 s). */
  helperTimeoutMs?: number;
}

const MAX_CONFIG = 1024 * 1024;
// A program name: `docker-credential-<name>` must fit in one 255-byte file name.
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** docker's ConvertToHostname: drop the scheme and anything after the first `/`. */
function convertToHostname(key: string): string {
  let s = key;
  if (s.startsWith('http://')) s = s.slice(7);
  else if (s.startsWith('https://')) s = s.slice(8);
  const slash = s.indexOf('/');
  return slash < 0 ? s : s.slice(0, slash);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function own(o: Record<string, unknown>, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

/** The `host[:port]` docker would key the server under, and the URL forms to ask helpers for. */
function serverKeys(serverUrl: string): { host: string; origin: string } | undefined {
  let u: URL;
  try {
    u = new URL(serverUrl);
  } catch {
    return undefined;
  }
  if (u.host === '') return undefined;
  return { host: u.host, origin: u.origin };
}

/** docker's configuration directory: `$DOCKER_CONFIG`, else `$HOME/.docker`. */
export function dockerConfigDir(env: Env): string | undefined {
  return env['DOCKER_CONFIG'] || (env['HOME'] ? join(env['HOME'], '.docker') : undefined);
}

/**
 * Credentials the way `docker login` stores them, from `$DOCKER_CONFIG/config.json` or
 * `$HOME/.docker/config.json`: when a helper is configured for the host (`credHelpers[host]`,
 * else `credsStore`), only the helper is asked (`docker-credential-<name> get`, the server
 * address on stdin, JSON `{Username, Secret}` on stdout), as docker does; otherwise
 * `auths[host].identitytoken`, else `auths[host].auth` (base64 of user:password) or
 * `auths[host].username/password`. `auths` keys may be URLs (`https://host:port/v1/`); they match
 * by host. An identity token (from an OAuth login such as `az acr login`; a helper's username
 * `<token>`) is used as docker uses it: exchanged at the token server for Bearer tokens.
 */
export function dockerConfigCredentials(serverUrl: string, env: Env, opts: DockerConfigOptions = {}): CredentialProvider {
  return async () => {
    const keys = serverKeys(serverUrl);
    if (keys === undefined) return undefined;
    const dir = dockerConfigDir(env);
    if (dir === undefined) return undefined;
    const file = join(dir, 'config.json');
    let text: Buffer;
    try {
      text = await readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new RemoteError('CONFIG', `could not read the docker config ${file}: ${code ?? 'error'}`, { url: file, hint: 'fix the permissions of the docker config, or set DOCKER_CONFIG' });
    }
    if (text.length > MAX_CONFIG) throw new RemoteError('CONFIG', `the docker config ${file} is larger than 1 MiB`, { url: file });
    let cfg: unknown;
    try {
      cfg = JSON.parse(text.toString('utf8'));
    } catch {
      // Never echo the parser's message: it may quote the file, and the file holds secrets.
      throw new RemoteError('CONFIG', `the docker config ${file} is not valid JSON`, { url: file, hint: 'fix or remove the docker config file' });
    } finally {
      text.fill(0);
    }
    if (!isObject(cfg)) return undefined;
    const helpers = own(cfg, 'credHelpers');
    const perHost = isObject(helpers) ? own(helpers, keys.host) : undefined;
    const store = own(cfg, 'credsStore');
    const helper = typeof perHost === 'string' && perHost !== '' ? perHost : typeof store === 'string' && store !== '' ? store : undefined;
    if (helper !== undefined) {
      const candidates = [keys.host, keys.origin];
      for (const address of candidates) {
        const c = await runHelper(helper, address, env, opts.helperTimeoutMs ?? 10_000);
        if (c !== undefined) return c;
      }
      return undefined;
    }
    const auths = own(cfg, 'auths');
    if (!isObject(auths)) return undefined;
    let entry = own(auths, keys.host);
    if (!isObject(entry)) {
      const k = Object.keys(auths).find((key) => convertToHostname(key) === keys.host);
      entry = k === undefined ? undefined : own(auths, k);
    }
    if (!isObject(entry)) return undefined;
    const identityToken = own(entry, 'identitytoken');
    if (typeof identityToken === 'string' && identityToken !== '') return { username: identityUser(entry), password: '', identityToken };
    const auth = own(entry, 'auth');
    if (typeof auth === 'string' && auth !== '') {
      const dec = decodeStdBase64(auth);
      if (dec === undefined) {
        throw new RemoteError('CONFIG', `the docker config ${file} has an invalid "auth" entry for ${keys.host} (not base64)`, { url: file, hint: `run \`docker login ${keys.host}\` again` });
      }
      const plain = dec.toString('utf8');
      dec.fill(0);
      const i = plain.indexOf(':');
      if (i < 0) {
        throw new RemoteError('CONFIG', `the docker config ${file} has an invalid "auth" entry for ${keys.host} (no ":")`, { url: file, hint: `run \`docker login ${keys.host}\` again` });
      }
      // docker trims NULs from the password.
      const username = plain.slice(0, i);
      const password = plain.slice(i + 1).replace(/^\0+|\0+$/g, '');
      return username === '' || password === '' ? undefined : { username, password };
    }
    const username = own(entry, 'username');
    const password = own(entry, 'password');
    if (typeof username === 'string' && typeof password === 'string' && username !== '' && password !== '') {
      return { username, password };
    }
    return undefined;
  };
}

/** The username docker keeps beside an identity token (from `auth` or `username`; only a signer name then). */
function identityUser(entry: Record<string, unknown>): string {
  const auth = own(entry, 'auth');
  const plain = typeof auth === 'string' ? decodeStdBase64(auth)?.toString('utf8') : undefined;
  if (plain !== undefined && plain.includes(':')) return plain.slice(0, plain.indexOf(':'));
  const username = own(entry, 'username');
  return typeof username === 'string' ? username : '';
}

function childEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Runs `docker-credential-<name> get` with the address on stdin (never in argv). */
function runHelper(name: string, address: string, env: Env, timeoutMs: number): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  if (!HELPER_NAME.test(name)) {
    return Promise.reject(
      new RemoteError('CONFIG', `invalid credential helper name in the docker config: ${JSON.stringify(name.slice(0, 60))}`, {
        url: program,
        hint: 'credHelpers/credsStore must name a docker-credential-<name> program on PATH',
      }),
    );
  }
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof execFile>;
    try {
      child = execFile(
        program,
        ['get'],
        { env: childEnv(env), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024, encoding: 'buffer', windowsHide: true },
        (err, stdout) => {
          const out = Buffer.isBuffer(stdout) ? stdout : Buffer.from(stdout);
          try {
            if (err) {
              const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: string | number };
              // No cause attached: node's message would include the helper's stderr.
              if (e.code === 'ENOENT') {
                reject(new RemoteError('CONFIG', `error getting credentials: ${program} was not found on PATH`, { url: program, hint: `install ${program}, or remove it from the docker config` }));
                return;
              }
              if (/credentials not found/i.test(out.toString('utf8'))) {
                resolve(undefined);
                return;
              }
              if (typeof e.code === 'string') {
                reject(notStarted(program, e.code));
                return;
              }
              const why = e.killed || e.signal ? `did not finish within ${timeoutMs} ms` : `exited with status ${String(e.code)}`;
              reject(new RemoteError('CONFIG', `error getting credentials: ${program} ${why}`, { url: program, hint: `check that \`${program} get\` works` }));
              return;
            }
            let v: unknown;
            try {
              v = JSON.parse(out.toString('utf8'));
            } catch {
              reject(new RemoteError('CONFIG', `error getting credentials: ${program} printed something that is not JSON`, { url: program }));
              return;
            }
            if (!isObject(v)) {
              resolve(undefined);
              return;
            }
            const username = own(v, 'Username');
            const secret = own(v, 'Secret');
            if (typeof username !== 'string' || typeof secret !== 'string' || username === '' || secret === '') {
              resolve(undefined);
              return;
            }
            // docker's convention for a helper holding an identity token.
            resolve(username === '<token>' ? { username: '', password: '', identityToken: secret } : { username, password: secret });
          } finally {
            out.fill(0);
          }
        },
      );
    } catch (e) {
      // spawn() refuses some programs at once (ENAMETOOLONG, EACCES on some systems).
      reject(notStarted(program, (e as NodeJS.ErrnoException).code ?? 'error'));
      return;
    }
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(address);
  });
}

/** A helper the system would not run (EACCES, ENAMETOOLONG, ...), whether spawn() threw or reported it. */
function notStarted(program: string, code: string): RemoteError {
  return new RemoteError('CONFIG', `error getting credentials: ${program} could not be started (${code})`, {
    url: program,
    hint: `check that \`${program} get\` works, or remove it from the docker config`,
  });
}
