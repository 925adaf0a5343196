// Authentication against notary-server, following the Docker registry scheme notary uses
// (cli.md §7.4, formats.md §6): the ping's 401 carries `WWW-Authenticate` challenges; Bearer means
// "get a token from <realm>?service=…&scope=repository:<gun>:<actions>", Basic means "send
// username:password on every request".
//
// Differences from notary 0.7 (cli.md §12 #13, SEC-N3/N4):
// - read-only requests start anonymous and retry with credentials on ANY 401 (Basic or Bearer),
//   and a token server refusing an anonymous token also falls back to credentials;
// - when both Bearer and Basic are offered, Bearer is used (docker's handler chain would let the
//   Basic header overwrite the token, or fail with "no basic auth credentials");
// - username/password never travel over plain HTTP (Basic header to an http:// server, or to an
//   http:// token realm) unless `allowInsecureAuth` is set; redirects are never followed;
// - a 401 that brings challenges the ping did not announce is answered once with them;
// - an identity token from `docker login` (OAuth registries, e.g. `az acr login`) is exchanged
//   for a Bearer token as docker does (POST to the realm, grant_type=refresh_token).

import { createHash } from 'node:crypto';
import { RemoteError, MESSAGES, sanitize } from './errors.js';
import type { CredentialProvider, Credentials } from './credentials.js';
import type { HttpClient, HttpResponse, RequestSpec } from './http.js';
import type { ServerUrl } from './url.js';

/** Token scope actions: read-only, read-write, admin (cli.md §7.4). */
export type Scope = 'pull' | 'push,pull' | '*';

export interface Challenge {
  /** Lower-cased auth scheme: `bearer`, `basic`, … */
  scheme: string;
  /** Lower-cased parameter names → values (quotes and escapes removed). */
  params: Map<string, string>;
}

// ---------------------------------------------------------------------------------------------
// WWW-Authenticate (RFC 7235: several challenges per header, comma separated; quoted strings
// with backslash escapes; parameter names case-insensitive).

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

export function parseChallenges(values: readonly string[] | string | undefined): Challenge[] {
  const list = values === undefined ? [] : typeof values === 'string' ? [values] : values;
  const out: Challenge[] = [];
  for (const v of list) parseOneHeader(v, out);
  return out;
}

function parseOneHeader(v: string, out: Challenge[]): void {
  let i = 0;
  const ws = (): void => {
    while (i < v.length && (v[i] === ' ' || v[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < v.length && TOKEN_CHAR.test(v[i]!)) i++;
    return v.slice(start, i);
  };
  const quoted = (): string | undefined => {
    // v[i] === '"'
    i++;
    let s = '';
    while (i < v.length) {
      const c = v[i++]!;
      if (c === '"') return s;
      if (c === '\\' && i < v.length) s += v[i++]!;
      else s += c;
    }
    return undefined; // unterminated
  };
  const skipToComma = (): void => {
    while (i < v.length && v[i] !== ',') {
      if (v[i] === '"') quoted();
      else i++;
    }
  };

  for (;;) {
    while (i < v.length && (v[i] === ' ' || v[i] === '\t' || v[i] === ',')) i++;
    if (i >= v.length) return;
    const scheme = token();
    if (scheme === '') {
      skipToComma();
      continue;
    }
    const ch: Challenge = { scheme: scheme.toLowerCase(), params: new Map() };
    out.push(ch);
    ws();
    // auth-params (or a token68, which is skipped) until the next challenge.
    for (;;) {
      while (i < v.length && (v[i] === ' ' || v[i] === '\t' || v[i] === ',')) i++;
      if (i >= v.length) return;
      const save = i;
      const name = token();
      ws();
      if (name !== '' && v[i] === '=' && v[i + 1] !== '=') {
        i++;
        ws();
        let value: string | undefined;
        if (v[i] === '"') value = quoted();
        else {
          // Lenient: an unquoted value runs to the next comma or blank (servers send
          // `scope=repository:a/b:pull` unquoted although ':' and '/' are not token characters).
          const start = i;
          while (i < v.length && v[i] !== ',' && v[i] !== ' ' && v[i] !== '\t') i++;
          value = v.slice(start, i);
        }
        if (value === undefined) return;
        ch.params.set(name.toLowerCase(), value);
        ws();
        if (i < v.length && v[i] !== ',') skipToComma();
        continue;
      }
      if (name !== '' && (i >= v.length || v[i] === ',' || v[save + name.length] === ' ' || v[save + name.length] === '\t')) {
        // A bare token: the next challenge's scheme.
        i = save;
        break;
      }
      // token68 or garbage: skip it.
      skipToComma();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Token cache: per realm, service, scope and credential identity, for the life of the process.

interface CachedToken {
  token: string;
  expiresAt: number;
}

const tokenCache = new Map<string, CachedToken>();

const MIN_TOKEN_LIFETIME_S = 60; // docker's minimum
const TOKEN_EXPIRY_SLACK_MS = 5_000;
const MAX_TOKEN_RESPONSE = 1024 * 1024;

function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}

/** Go's url.QueryEscape. */
function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The token request URL as docker builds it: realm's own query plus ours, sorted by key. */
export function tokenRequestUrl(realm: URL, params: [string, string][]): URL {
  const all: [string, string][] = [...realm.searchParams.entries(), ...params];
  const byKey = new Map<string, string[]>();
  for (const [k, v] of all) byKey.set(k, [...(byKey.get(k) ?? []), v]);
  const keys = [...byKey.keys()].sort();
  const query = keys.flatMap((k) => byKey.get(k)!.map((v) => `${queryEscape(k)}=${queryEscape(v)}`)).join('&');
  const u = new URL(realm.href);
  u.search = query;
  return u;
}

type Mode = 'anonymous' | 'credentials';

interface Applied {
  kind: 'none' | 'basic' | 'bearer';
  header?: string;
  cacheKey?: string;
  fromCache?: boolean;
  /** Credentials went into this attempt (Basic header or the token request). */
  usedCredentials: boolean;
}

/** The token server said no (401/403): for anonymous access this falls back to credentials. */
class TokenRefused extends RemoteError {}

export interface AuthSessionOptions {
  http: HttpClient;
  server: ServerUrl;
  gun: string;
  scope: Scope;
  credentials?: CredentialProvider;
  /** Send username/password over plain http (Basic to an http server, or to an http token realm). */
  allowInsecureAuth?: boolean;
}

/**
 * Authorizes requests for one GUN and scope. `request()` sends a request with whatever
 * authorization the known challenges call for and handles 401s; it resolves with the first
 * non-401 response or rejects with UNAUTHORIZED.
 */
export class AuthSession {
  private challenges: Challenge[] = [];
  private credentialsPromise: Promise<Credentials | undefined> | undefined;
  /** Token requests under way, by token cache key. */
  private readonly tokenRequests = new Map<string, Promise<CachedToken>>();
  /** Read-only sessions start anonymous until credentials were needed once. */
  private startMode: Mode;
  /** Counts for tests and benchmarks. */
  readonly stats = { tokenRequests: 0, authRetries: 0 };

  constructor(private readonly opts: AuthSessionOptions) {
    this.startMode = opts.scope === 'pull' ? 'anonymous' : 'credentials';
  }

  /** Challenges from the ping's 401 (replaces what was known). */
  setChallenges(ch: Challenge[]): void {
    this.challenges = ch;
  }

  get knownChallenges(): readonly Challenge[] {
    return this.challenges;
  }

  private credentials(): Promise<Credentials | undefined> {
    this.credentialsPromise ??= (async () => {
      const c = this.opts.credentials ? await this.opts.credentials() : undefined;
      if (c === undefined) return undefined;
      if (c.identityToken !== undefined && c.identityToken !== '') return c;
      return c.username === '' || c.password === '' ? undefined : c;
    })();
    return this.credentialsPromise;
  }

  async request(spec: RequestSpec): Promise<HttpResponse> {
    let mode = this.startMode;
    let refetched = false;
    for (let round = 0; ; round++) {
      const hadChallenges = this.challenges.length > 0;
      let applied: Applied;
      try {
        applied = await this.authorize(mode);
      } catch (e) {
        if (e instanceof TokenRefused && mode === 'anonymous' && (await this.credentials()) !== undefined) {
          mode = 'credentials';
          this.stats.authRetries++;
          continue;
        }
        throw e;
      }
      const headers = { ...spec.headers };
      if (applied.header !== undefined) headers['authorization'] = applied.header;
      const res = await this.opts.http.request({ ...spec, headers });
      if (res.status !== 401) {
        if (mode === 'credentials') this.startMode = 'credentials';
        return res;
      }
      // A refused token is never reused.
      if (applied.cacheKey !== undefined) tokenCache.delete(applied.cacheKey);
      const ch = parseChallenges(res.wwwAuthenticate);
      if (ch.length > 0) this.challenges = ch;
      let next: Mode | undefined;
      if (!hadChallenges && this.challenges.length > 0 && (mode === 'credentials' || this.pick()?.scheme === 'bearer')) {
        // The server told us how to authenticate only now (the ping was not challenged, or has
        // not answered yet). Anonymous under Basic would send the same request again: see below.
        next = mode;
      } else if (applied.kind === 'bearer' && applied.fromCache === true && !refetched) {
        // A cached token may have expired on the server's side: fetch a fresh one, once.
        refetched = true;
        next = mode;
      } else if (mode === 'anonymous' && this.challenges.length > 0 && (await this.credentials()) !== undefined) {
        // Unlike notary, read-only requests retry with credentials on any 401.
        next = 'credentials';
      }
      if (next === undefined || round >= 4) throw this.unauthorized(res, applied);
      mode = next;
      this.stats.authRetries++;
    }
  }

  private pick(): Challenge | undefined {
    return this.challenges.find((c) => c.scheme === 'bearer') ?? this.challenges.find((c) => c.scheme === 'basic');
  }

  private async authorize(mode: Mode): Promise<Applied> {
    const ch = this.pick();
    if (ch === undefined) return { kind: 'none', usedCredentials: false };
    if (ch.scheme === 'basic') {
      if (mode === 'anonymous') return { kind: 'none', usedCredentials: false };
      const creds = await this.credentials();
      // An identity token is for token servers only (docker has no password to send either).
      if (creds === undefined || creds.password === '') return { kind: 'none', usedCredentials: false };
      if (this.opts.server.protocol !== 'https:' && this.opts.allowInsecureAuth !== true) {
        throw new RemoteError('UNAUTHORIZED', `${MESSAGES.unauthorized.slice(0, -1)}: refusing to send credentials over plain http to ${this.opts.server.display}`, {
          status: 401,
          url: this.opts.server.display,
          hint: 'use an https:// server URL, or allow credentials over plain http explicitly if this network is trusted',
        });
      }
      return { kind: 'basic', header: basicHeader(creds), usedCredentials: true };
    }
    return this.bearer(ch, mode);
  }

  private scopeString(): string {
    return `repository:${this.opts.gun}:${this.opts.scope}`;
  }

  private async bearer(ch: Challenge, mode: Mode): Promise<Applied> {
    const server = this.opts.server.display;
    const realmRaw = ch.params.get('realm');
    if (realmRaw === undefined || realmRaw === '') {
      throw new RemoteError('BAD_RESPONSE', `${MESSAGES.badResponse.slice(0, -1)}: no realm specified for token auth challenge`, { status: 401, url: server });
    }
    let realm: URL;
    try {
      realm = new URL(realmRaw);
    } catch {
      realm = new URL('invalid:');
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw new RemoteError('BAD_RESPONSE', `${MESSAGES.badResponse.slice(0, -1)}: invalid token auth challenge realm ${JSON.stringify(sanitize(realmRaw, 200))}`, {
        status: 401,
        url: server,
      });
    }
    realm.username = '';
    realm.password = '';
    realm.hash = '';
    const realmShown = `${realm.origin}${realm.pathname}`;
    const service = ch.params.get('service') ?? '';
    const scope = this.scopeString();
    const creds = mode === 'credentials' ? await this.credentials() : undefined;
    if (creds !== undefined && realm.protocol !== 'https:' && this.opts.allowInsecureAuth !== true) {
      throw new RemoteError('UNAUTHORIZED', `${MESSAGES.unauthorized.slice(0, -1)}: refusing to send credentials over plain http to the token server ${realmShown}`, {
        status: 401,
        url: realmShown,
        hint: 'the token server must use https, or allow credentials over plain http explicitly if this network is trusted',
      });
    }
    const who = creds === undefined ? '' : createHash('sha256').update(`${creds.username}\0${creds.password}\0${creds.identityToken ?? ''}`).digest('hex');
    const cacheKey = [realm.href, service, scope, who].join('\0');
    const cached = tokenCache.get(cacheKey);
    if (cached !== undefined && cached.expiresAt > Date.now()) {
      return { kind: 'bearer', header: `Bearer ${cached.token}`, cacheKey, fromCache: true, usedCredentials: creds !== undefined };
    }
    // Requests sent at once that all met the challenge share one token request.
    let pending = this.tokenRequests.get(cacheKey);
    if (pending === undefined) {
      pending = this.fetchToken(realm, realmShown, service, scope, creds);
      this.tokenRequests.set(cacheKey, pending);
      const forget = (): void => void this.tokenRequests.delete(cacheKey);
      pending.then(forget, forget);
    }
    const tok = await pending;
    tokenCache.set(cacheKey, tok);
    return { kind: 'bearer', header: `Bearer ${tok.token}`, cacheKey, fromCache: false, usedCredentials: creds !== undefined };
  }

  private async fetchToken(realm: URL, realmShown: string, service: string, scope: string, creds: Credentials | undefined): Promise<CachedToken> {
    const common = { maxBody: MAX_TOKEN_RESPONSE, resource: 'token', maxErrorBody: 1024 };
    let request: RequestSpec;
    if (creds?.identityToken) {
      // docker's OAuth exchange (distribution's fetchTokenWithOAuth, client_id "docker"): a form
      // POST, fields sorted as url.Values.Encode writes them.
      const form: [string, string][] = [
        ['client_id', 'docker'],
        ['grant_type', 'refresh_token'],
        ['refresh_token', creds.identityToken],
        ['scope', scope],
        ['service', service],
      ];
      const body = Buffer.from(form.map(([k, v]) => `${k}=${queryEscape(v)}`).join('&'), 'utf8');
      request = { ...common, method: 'POST', url: realm, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body };
    } else {
      const headers: Record<string, string> = {};
      if (creds !== undefined) headers['authorization'] = basicHeader(creds);
      request = { ...common, method: 'GET', url: tokenRequest(realm, service, scope, creds), headers };
    }
    this.stats.tokenRequests++;
    let res: HttpResponse;
    try {
      res = await this.opts.http.request(request);
    } catch (e) {
      if (e instanceof RemoteError) {
        // The URL of a transport error would carry the query (account name); show the realm only.
        throw new RemoteError(e.code, e.message.split(request.url.href).join(realmShown), { ...errorFields(e), url: realmShown }, e.cause);
      }
      throw e;
    }
    if (res.status === 401 || res.status === 403) {
      throw new TokenRefused(
        'UNAUTHORIZED',
        `${MESSAGES.unauthorized.slice(0, -1)}: the token server ${realmShown} refused ${creds === undefined ? 'anonymous' : creds.identityToken ? 'the identity token for' : 'the given credentials for'} access to ${scope} (${res.status})`,
        { status: res.status, url: realmShown, hint: this.hint(creds !== undefined) },
      );
    }
    if (res.status < 200 || res.status >= 300) {
      throw new RemoteError('SERVER_ERROR', `unable to get an authorization token from ${realmShown}: ${res.status}.`, {
        status: res.status,
        url: realmShown,
        hint: 'the token server had a problem; try again later',
      });
    }
    return parseTokenResponse(res.body, realmShown);
  }

  private hint(sentCredentials: boolean): string {
    const host = this.opts.server.host;
    if (sentCredentials) {
      return `the server refused the credentials for ${this.scopeString()}; check NOTARY_AUTH or your \`docker login ${host}\`, and that the account has ${this.opts.scope} access`;
    }
    return `the server requires authentication: set NOTARY_AUTH to the base64 of <username>:<password>, or run \`docker login ${host}\``;
  }

  private unauthorized(res: HttpResponse, applied: Applied): RemoteError {
    return new RemoteError('UNAUTHORIZED', MESSAGES.unauthorized, {
      status: 401,
      url: res.url,
      resource: undefined,
      hint: this.hint(applied.usedCredentials),
    });
  }
}

/** docker's GET token request: service, scope and (with credentials) account, plus the realm's own query. */
function tokenRequest(realm: URL, service: string, scope: string, creds: Credentials | undefined): URL {
  const params: [string, string][] = [];
  if (service !== '') params.push(['service', service]);
  params.push(['scope', scope]);
  if (creds !== undefined) params.push(['account', creds.username]);
  return tokenRequestUrl(realm, params);
}

function errorFields(e: RemoteError): { status?: number; resource?: string; hint?: string } {
  return {
    ...(e.status !== undefined ? { status: e.status } : {}),
    ...(e.resource !== undefined ? { resource: e.resource } : {}),
    hint: e.hint,
  };
}

function parseTokenResponse(body: Buffer, realm: string): CachedToken {
  const bad = (why: string): RemoteError =>
    new RemoteError('BAD_RESPONSE', `${MESSAGES.badResponse.slice(0, -1)}: unable to decode token response from ${realm}: ${why}`, { url: realm });
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('not a JSON object');
  const o = v as Record<string, unknown>;
  const pick = (k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);
  const access = pick('access_token');
  const plain = pick('token');
  const token = typeof access === 'string' && access !== '' ? access : typeof plain === 'string' ? plain : '';
  if (token === '') throw bad('authorization server did not include a token in the response');
  // The token goes into a header: refuse anything that could split or smuggle one.
  if (!/^[\x21-\x7e]+$/.test(token) || token.length > 64 * 1024) throw bad('the token has characters a header cannot carry');
  const expiresIn = pick('expires_in');
  let lifetime = typeof expiresIn === 'number' && Number.isFinite(expiresIn) ? expiresIn : 0;
  if (lifetime < MIN_TOKEN_LIFETIME_S) lifetime = MIN_TOKEN_LIFETIME_S;
  const issuedRaw = pick('issued_at');
  let issued = Date.now();
  if (typeof issuedRaw === 'string') {
    const t = Date.parse(issuedRaw);
    // A wildly wrong server clock must not make the token look expired (or eternal).
    if (Number.isFinite(t) && Math.abs(t - issued) < 24 * 3600_000) issued = t;
  }
  return { token, expiresAt: issued + lifetime * 1000 - TOKEN_EXPIRY_SLACK_MS };
}
