// NotaryRemote: the notary-server HTTP API for one GUN (formats.md §6, cli.md §7).
//
// open() validates the URL and TLS files and starts the ping `GET <base>/v2/`, which tells whether
// a notary server is there and brings the auth challenges; requests may go out while it runs (a
// 401 carries the challenges too), and reachable() gives its verdict. connect() is open() plus that
// verdict. Every call maps HTTP statuses to RemoteError codes with notary's messages.

import { randomBytes } from 'node:crypto';
import { Ctx } from '../tuf/guards.js';
import { parseJson } from '../tuf/json.js';
import { parsePublicKey } from '../tuf/keys.js';
import { ROOT_MAX } from '../tuf/limits.js';
import { AuthSession, parseChallenges } from './auth.js';
import type { Challenge, Scope } from './auth.js';
import { defaultCredentials, type CredentialProvider } from './credentials.js';
import { MESSAGES, RemoteError, sanitize } from './errors.js';
import type { ServerError } from './errors.js';
import { HttpClient } from './http.js';
import type { HttpResponse, RetryPolicy, Timeouts } from './http.js';
import { loadTls, type TlsFiles } from './tls.js';
import { escapeGun, escapeName, parseServerUrl } from './url.js';
import type { ServerUrl } from './url.js';

export interface RemoteOptions {
  /** `https://host:port[/prefix]` (cli.md §7.1). */
  baseUrl: string;
  gun: string;
  /** The process environment, as the caller sees it (this layer never reads process.env). */
  env: Record<string, string | undefined>;
  /** Token scope: `pull` (read-only), `push,pull` (publish, init), `*` (delete, key rotation). */
  scope: Scope;
  tls?: TlsFiles;
  /** Where credentials come from; default: NOTARY_AUTH, then docker's config.json (from `env`). */
  credentials?: () => Promise<{ username: string; password: string } | undefined>;
  timeouts?: Partial<Timeouts>;
  retry?: Partial<RetryPolicy>;
  /** Allow username/password over plain http (Basic to an http:// server or http:// token realm). */
  allowInsecureAuth?: boolean;
  /** Connections per agent, i.e. requests in flight at once (default 64). */
  maxSockets?: number;
}

export interface RemoteStats {
  /** HTTP requests sent, every attempt and token request included. */
  requests: number;
  /** TCP connections opened. */
  connections: number;
  /** Retries after 5xx/408/429 or a connection reset. */
  retries: number;
  bytesIn: number;
  bytesOut: number;
  /** Requests to the token server. */
  tokenRequests: number;
  /** Requests repeated because of a 401. */
  authRetries: number;
}

export interface ServerKey {
  keytype: string;
  public: Buffer;
}

/** Key responses are read up to 256 KiB (notary's MaxKeySize). */
export const MAX_KEY_SIZE = 256 * 1024;
const MAX_PING_BODY = 64 * 1024;
const MAX_PING_MS = 20_000;
const SERVER_KEY_ROLES = new Set(['timestamp', 'snapshot']);

// notary-server's route for uploaded files: root|targets(/[^/\s]+)*|snapshot|timestamp.
const UPLOAD_ROLE = /^(?:root|snapshot|timestamp|targets(?:\/[^/\s]+)*)$/;

const VALIDATION_PREFIX: Record<string, string> = {
  ErrValidation: 'An error occurred during validation: ',
  ErrBadHierarchy: 'Metadata hierarchy is incomplete: ',
  ErrBadRoot: 'The root metadata is invalid: ',
  ErrBadTargets: 'The targets metadata is invalid: ',
  ErrBadSnapshot: 'The snapshot metadata is invalid: ',
};

export class NotaryRemote {
  private ping = Promise.resolve();

  private constructor(
    readonly server: ServerUrl,
    readonly gun: string,
    readonly scope: Scope,
    private readonly escapedGun: string,
    private readonly http: HttpClient,
    private readonly auth: AuthSession,
  ) {}

  /**
   * Validates the URL (cli.md §7.1 messages) and TLS files, then pings `GET <base>/v2/`: 2xx or
   * 401 → the server is there (a 401's challenges are kept for authentication). A network error
   * or any other status → OFFLINE; a TLS failure → TLS (never OFFLINE); slow → TIMEOUT.
   */
  static async connect(opts: RemoteOptions): Promise<NotaryRemote> {
    const remote = await NotaryRemote.open(opts);
    try {
      await remote.reachable();
    } catch (e) {
      remote.close();
      throw e;
    }
    return remote;
  }

  /**
   * As connect(), without waiting for the ping: the caller sends its first requests at once and
   * awaits reachable() before it trusts any answer or error (the ping's verdict comes first).
   */
  static async open(opts: RemoteOptions): Promise<NotaryRemote> {
    const server = parseServerUrl(opts.baseUrl);
    const escapedGun = escapeGun(opts.gun, server.display);
    if (opts.scope !== 'pull' && opts.scope !== 'push,pull' && opts.scope !== '*') {
      throw new RemoteError('CONFIG', `invalid scope ${JSON.stringify(String(opts.scope))}`, { url: server.display });
    }
    const tls = await loadTls(opts.tls, server.display);
    const timeouts = opts.timeouts ?? timeoutsFromEnv(opts.env, server.display);
    const http = new HttpClient({
      tls,
      ...(timeouts ? { timeouts } : {}),
      ...(opts.retry ? { retry: opts.retry } : {}),
      ...(opts.maxSockets !== undefined ? { maxSockets: opts.maxSockets } : {}),
    });
    const credentials: CredentialProvider = opts.credentials ?? defaultCredentials(server.display, opts.env);
    const auth = new AuthSession({
      http,
      server,
      gun: opts.gun,
      scope: opts.scope,
      credentials,
      allowInsecureAuth: opts.allowInsecureAuth === true,
    });
    const remote = new NotaryRemote(server, opts.gun, opts.scope, escapedGun, http, auth);
    remote.ping = remote.sendPing();
    remote.ping.catch(() => undefined); // reported by reachable()
    return remote;
  }

  /** Resolves when the server answered the ping as a notary server; rejects as connect() does. */
  reachable(): Promise<void> {
    return this.ping;
  }

  /** Requests this remote runs at once; more wait for a connection. */
  get parallelism(): number {
    return this.http.maxSockets;
  }

  /** The server URL without credentials (origin + path prefix). */
  get baseUrl(): string {
    return this.server.display;
  }

  /** `host[:port]`, as notary names the remote in "… does not have trust data for …". */
  get host(): string {
    return this.server.host;
  }

  get challenges(): readonly Challenge[] {
    return this.auth.knownChallenges;
  }

  get stats(): RemoteStats {
    return { ...this.http.stats, ...this.auth.stats };
  }

  /** Destroys the connections. */
  close(): void {
    this.http.close();
  }

  private url(path: string): URL {
    return new URL(`${this.server.url.origin}${this.server.prefix}${path}`);
  }

  private tufUrl(file: string): URL {
    return this.url(`/v2/${this.escapedGun}/_trust/tuf/${file}`);
  }

  private async sendPing(): Promise<void> {
    const url = this.url('/v2/');
    const res = await this.http.request({
      method: 'GET',
      url,
      maxBody: MAX_PING_BODY,
      resource: 'ping',
      timeouts: { totalMs: Math.min(this.http.timeouts.totalMs, MAX_PING_MS) },
    });
    if (res.status === 401) {
      this.auth.setChallenges(parseChallenges(res.wwwAuthenticate));
      return;
    }
    if (res.status >= 200 && res.status < 300) return;
    throw new RemoteError('OFFLINE', `could not reach ${this.baseUrl}: ${res.status}`, {
      status: res.status,
      url: res.url,
      resource: 'ping',
      hint: `GET ${url.pathname} answered ${res.status}: check that -s points at a notary server${redirectHint(res)}`,
    });
  }

  /**
   * `GET <base>/v2/<gun>/_trust/tuf/<name>.json`, e.g. `root`, `timestamp`, `3.root`,
   * `snapshot.<sha256hex>`, `targets/releases.<sha256hex>`. At most `maxSize` bytes are read;
   * more (or a larger Content-Length) is BAD_RESPONSE. 404 → NOT_FOUND.
   */
  async getMeta(name: string, maxSize: number): Promise<Buffer> {
    if (!Number.isSafeInteger(maxSize) || maxSize < 0) {
      throw new RemoteError('CONFIG', `invalid size limit ${maxSize} for ${sanitize(name, 100)}`, { url: this.baseUrl });
    }
    const url = this.tufUrl(`${escapeName(name, this.baseUrl)}.json`);
    const res = await this.auth.request({ method: 'GET', url, maxBody: maxSize, resource: name });
    if (res.status !== 200) throw statusError(res, name);
    return res.body;
  }

  /** Whether the server has trust data for the GUN: its root.json is there (404: no). */
  async exists(): Promise<boolean> {
    try {
      await this.getMeta('root', ROOT_MAX);
      return true;
    } catch (e) {
      if (e instanceof RemoteError && e.code === 'NOT_FOUND') return false;
      throw e;
    }
  }

  /**
   * `GET …/<role>.key`: the server-held public key (created on first request). notary-server
   * requires push,pull access for it, so a `pull` remote may get 401 from an auth server.
   */
  async getKey(role: 'timestamp' | 'snapshot'): Promise<ServerKey> {
    return this.keyRequest('GET', role);
  }

  /** `POST …/<role>.key`: a new pending server key (needs `*` access on auth servers). */
  async rotateKey(role: 'timestamp' | 'snapshot'): Promise<ServerKey> {
    return this.keyRequest('POST', role);
  }

  private async keyRequest(method: 'GET' | 'POST', role: string): Promise<ServerKey> {
    if (!SERVER_KEY_ROLES.has(role)) {
      throw new RemoteError('CONFIG', `the server only holds timestamp and snapshot keys, not ${JSON.stringify(sanitize(role, 100))}`, { url: this.baseUrl });
    }
    const resource = `${role} key`;
    const res = await this.auth.request({
      method,
      url: this.tufUrl(`${role}.key`),
      maxBody: MAX_KEY_SIZE,
      resource,
      ...(method === 'POST' ? { body: Buffer.alloc(0) } : {}),
    });
    if (res.status !== 200) throw statusError(res, resource);
    try {
      const key = parsePublicKey(parseJson(res.body, { what: resource }), new Ctx(resource));
      return { keytype: key.keytype, public: key.pub };
    } catch (e) {
      throw new RemoteError('BAD_RESPONSE', `${MESSAGES.badResponse.slice(0, -1)}: the ${resource} is not a valid public key: ${sanitize((e as Error).message, 200)}`, {
        status: res.status,
        url: res.url,
        resource,
      }, e);
    }
  }

  /**
   * One multipart `POST …/_trust/tuf/` with every file, exactly as notary sends it: field
   * `files`, filename = role name, `application/octet-stream`, a 60-hex-character boundary.
   * 400 → REJECTED with the server's parsed error. A dropped connection after the body was sent
   * → UNKNOWN_OUTCOME. Never retried.
   */
  async publish(files: Map<string, Buffer>): Promise<void> {
    if (files.size === 0) throw new RemoteError('CONFIG', 'nothing to publish: no metadata files given', { url: this.baseUrl });
    for (const name of files.keys()) {
      escapeName(name, this.baseUrl); // no empty, '.', '..' segments or control characters
      if (!UPLOAD_ROLE.test(name)) {
        throw new RemoteError('CONFIG', `cannot upload ${JSON.stringify(sanitize(name, 100))}: not a role name`, { url: this.baseUrl });
      }
    }
    const { body, contentType } = multipartBody(files);
    const res = await this.auth.request({
      method: 'POST',
      url: this.tufUrl(''),
      headers: { 'content-type': contentType },
      body,
      maxBody: 64 * 1024,
      resource: 'publish',
    });
    if (res.status !== 200) throw statusError(res, 'POST metadata endpoint');
  }

  /** `DELETE …/_trust/tuf/`: removes the GUN's metadata on the server (needs `*` access). */
  async deleteRepo(): Promise<void> {
    const res = await this.auth.request({ method: 'DELETE', url: this.tufUrl(''), maxBody: 64 * 1024, resource: 'delete' });
    if (res.status !== 200) throw statusError(res, 'DELETE metadata for GUN endpoint');
  }
}

const TIMEOUT_VARIABLES = [
  ['DTRUST_CONNECT_TIMEOUT', 'connectMs'],
  ['DTRUST_IDLE_TIMEOUT', 'readMs'],
  ['DTRUST_TOTAL_TIMEOUT', 'totalMs'],
] as const;

/** The time limits set in the environment, in seconds (SEC-N1: configurable); undefined when none is set. */
export function timeoutsFromEnv(env: Record<string, string | undefined>, url: string): Partial<Timeouts> | undefined {
  const out: Partial<Timeouts> = {};
  for (const [name, key] of TIMEOUT_VARIABLES) {
    const v = env[name]?.trim();
    if (v === undefined || v === '') continue;
    const ms = /^\d{1,7}(\.\d{1,3})?$/.test(v) ? Math.round(Number(v) * 1000) : NaN;
    if (!(ms >= 1 && ms <= 3_600_000)) {
      throw new RemoteError('CONFIG', `${name} must be a number of seconds up to 3600, got ${JSON.stringify(sanitize(v, 40))}`, {
        url,
        hint: `set ${name} to e.g. 30, or unset it for the default`,
      });
    }
    out[key] = ms;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Go's mime/multipart output for CreateFormFile("files", role) parts (formats.md §6). */
export function multipartBody(files: Map<string, Buffer>, boundary?: string): { body: Buffer; contentType: string } {
  let b = boundary ?? randomBytes(30).toString('hex');
  if (boundary === undefined) {
    // Never let a file contain the delimiter (2^-240 per file, but cheap to rule out).
    while ([...files.values()].some((f) => f.includes(`--${b}`))) b = randomBytes(30).toString('hex');
  }
  const chunks: Buffer[] = [];
  let first = true;
  for (const [name, bytes] of files) {
    const filename = name.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    chunks.push(
      Buffer.from(
        `${first ? '' : '\r\n'}--${b}\r\nContent-Disposition: form-data; name="files"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
        'utf8',
      ),
      bytes,
    );
    first = false;
  }
  chunks.push(Buffer.from(`\r\n--${b}--\r\n`, 'latin1'));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${b}` };
}

function redirectHint(res: HttpResponse): string {
  if (res.status < 300 || res.status >= 400) return '';
  const loc = res.headers['location'];
  return typeof loc === 'string' ? `; the server redirects to ${sanitize(loc, 200)}, which dtrust does not follow: use that URL with -s` : '';
}

/** Maps a non-200 answer to notary's error (storage/httpstore.go translateStatusToError). */
export function statusError(res: HttpResponse, resource: string): RemoteError {
  const base = { status: res.status, url: res.url, resource };
  if (res.status === 404) return new RemoteError('NOT_FOUND', MESSAGES.notFound(sanitize(resource, 200)), base);
  if (res.status === 400) {
    const errors = parseServerErrors(res.body);
    const first = errors?.[0];
    let message: string = MESSAGES.rejected;
    if (errors?.length === 1 && first?.detailName !== undefined && first.detailMsg !== undefined) {
      const prefix = VALIDATION_PREFIX[first.detailName];
      if (prefix !== undefined) message = `${prefix}${first.detailMsg}`;
    }
    return new RemoteError('REJECTED', message, {
      ...base,
      ...(first ? { serverError: first } : {}),
      ...(errors ? { serverErrors: errors } : {}),
      hint: rejectedHint(first),
    });
  }
  if (res.status === 401) return new RemoteError('UNAUTHORIZED', MESSAGES.unauthorized, base);
  return new RemoteError('SERVER_ERROR', MESSAGES.serverError(res.status), {
    ...base,
    ...(res.status >= 300 && res.status < 400 ? { hint: `dtrust does not follow redirects${redirectHint(res)}` } : {}),
  });
}

function rejectedHint(e: ServerError | undefined): string {
  switch (e?.code) {
    case 'VERSION':
      return 'the server already has this version or a newer one (someone published in between): run the command again to update and re-apply your changes';
    case 'INVALID_UPDATE':
      return 'the server found the uploaded metadata invalid; see the reason above';
    case 'INVALID_GUN':
      return 'this server only accepts GUNs with certain prefixes; check the GUN';
    case 'INVALID_ROLE':
    case 'MALFORMED_UPLOAD':
    case 'MALFORMED_JSON':
    case 'NO_FILENAME':
      return 'the upload was malformed; this is a bug in dtrust, please report it';
    default:
      return 'the server refused the request';
  }
}

/** Parses `{"errors":[{code,message,detail}]}` (read up to 1 KiB); undefined when it is not that. */
export function parseServerErrors(body: Buffer): ServerError[] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const list = Object.hasOwn(v, 'errors') ? (v as { errors: unknown }).errors : undefined;
  if (!Array.isArray(list)) return undefined;
  const out: ServerError[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
    const o = item as Record<string, unknown>;
    const get = (k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);
    const code = get('code');
    const message = get('message');
    const se: ServerError = {
      code: typeof code === 'string' ? sanitize(code, 100) : '',
      message: typeof message === 'string' ? sanitize(message) : '',
    };
    if (Object.hasOwn(o, 'detail')) {
      const detail = get('detail');
      se.detail = detail;
      if (typeof detail === 'object' && detail !== null && !Array.isArray(detail)) {
        const d = detail as Record<string, unknown>;
        const name = Object.hasOwn(d, 'Name') ? d['Name'] : undefined;
        if (typeof name === 'string') se.detailName = sanitize(name, 100);
        const err = Object.hasOwn(d, 'Error') ? d['Error'] : undefined;
        if (typeof err === 'object' && err !== null && !Array.isArray(err)) {
          const e = err as Record<string, unknown>;
          if (typeof e['Msg'] === 'string' && Object.hasOwn(e, 'Msg')) se.detailMsg = sanitize(e['Msg']);
          if (typeof e['Missing'] === 'string' && Object.hasOwn(e, 'Missing')) se.detailMissing = sanitize(e['Missing'], 100);
        }
      }
    }
    out.push(se);
  }
  return out;
}
