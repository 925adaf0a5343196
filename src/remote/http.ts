// A small HTTP client on node:http / node:https for the notary server and its token server.
//
// - Keep-alive agents (one pair per client) for GETs; POST and DELETE use a fresh connection, so a
//   keep-alive socket the server closed cannot turn a publish into an "unknown outcome".
// - Deadlines: connect (TCP + TLS handshake), idle (no byte for readMs while waiting for or
//   reading the response), and an overall deadline per logical request, retries included, so a
//   server that drips one byte per second fails in bounded time (SEC-N1).
// - Bounded bodies: a success body stops at max+1 bytes whatever Content-Length says, and a
//   Content-Length above the cap fails at once (SEC-V10). Error bodies are read up to a small cap.
// - Retries with exponential backoff and jitter for GETs only, on 5xx/408/429 and on connection
//   resets; never for POST or DELETE.
// - TLS with the material tls.ts read; TLS failures are TLS errors, never "offline". node:https
//   loads only when an https URL is used (start-up time of http-only commands).

import http from 'node:http';
import type https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { RemoteError } from './errors.js';
import { Failure, TimeoutSignal, classify, tooLarge, type Phase } from './failures.js';
import type { LoadedTls } from './tls.js';

export interface Timeouts {
  /** TCP connect plus TLS handshake of a new connection. */
  connectMs: number;
  /** Longest silence while waiting for the response or between body bytes. */
  readMs: number;
  /** Overall deadline of one logical request, retries and backoff included. */
  totalMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 10_000, readMs: 20_000, totalMs: 60_000 };

export interface RetryPolicy {
  /** Attempts in total (1 = no retry). */
  attempts: number;
  /** First backoff; doubles each retry, with jitter. */
  baseDelayMs: number;
  /** Cap of one backoff (also of an honoured Retry-After). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 250, maxDelayMs: 4_000 };

/** notary reads at most 1 KiB of an error body (storage/httpstore.go MaxErrorResponseSize). */
export const MAX_ERROR_BODY = 1024;

export interface HttpStats {
  /** HTTP requests sent (every attempt, auth retries and token requests included). */
  requests: number;
  /** New TCP connections opened. */
  connections: number;
  /** Retries after a retryable status or a connection reset. */
  retries: number;
  bytesIn: number;
  bytesOut: number;
}

export type Method = 'GET' | 'POST' | 'DELETE';

export interface RequestSpec {
  method: Method;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Cap for a 2xx body: more than this is BAD_RESPONSE. */
  maxBody: number;
  /** Cap for other bodies: read this much, drop the rest (default 1 KiB, as notary). */
  maxErrorBody?: number;
  /** What is fetched or sent, for messages: `timestamp`, `root`, `ping`, `token`, … */
  resource: string;
  timeouts?: Partial<Timeouts>;
  /** Override the retry rule (default: GET only). */
  retry?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Every WWW-Authenticate header line. */
  wwwAuthenticate: string[];
  body: Buffer;
  /** A non-2xx body longer than its cap was cut. */
  truncated: boolean;
  /** The request URL (never has user info). */
  url: string;
}

function displayUrl(u: URL): string {
  if (u.username === '' && u.password === '') return u.href;
  const c = new URL(u.href);
  c.username = '';
  c.password = '';
  return c.href;
}

// ---------------------------------------------------------------------------------------------

export interface HttpClientOptions {
  tls: LoadedTls;
  timeouts?: Partial<Timeouts>;
  retry?: Partial<RetryPolicy>;
  /** Connections per agent: as many requests as this run at once, more wait (default 64). */
  maxSockets?: number;
}

export const DEFAULT_MAX_SOCKETS = 64;

type HttpsModule = typeof https;
let httpsModule: Promise<HttpsModule> | undefined;

function loadHttps(): Promise<HttpsModule> {
  httpsModule ??= import('node:https').then((m) => m.default);
  return httpsModule;
}

interface Agents {
  request: typeof http.request;
  keepAlive: http.Agent;
  oneShot: http.Agent;
}

export class HttpClient {
  readonly stats: HttpStats = { requests: 0, connections: 0, retries: 0, bytesIn: 0, bytesOut: 0 };
  readonly timeouts: Timeouts;
  readonly retry: RetryPolicy;
  readonly maxSockets: number;
  private readonly plain: Agents;
  private secure: Promise<Agents> | undefined;
  private readonly tls: LoadedTls;
  private closed = false;
  /** Backoff waits under way; close() ends them. */
  private readonly waits = new Set<() => void>();
  /** Sockets this client has seen: node does not flag a queued request's pooled socket as reused. */
  private readonly seen = new WeakSet<Socket>();

  constructor(opts: HttpClientOptions) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...defined(opts.timeouts) };
    this.retry = { ...DEFAULT_RETRY, ...defined(opts.retry) };
    this.maxSockets = opts.maxSockets ?? DEFAULT_MAX_SOCKETS;
    this.tls = opts.tls;
    this.plain = {
      request: http.request,
      keepAlive: new http.Agent(this.keepAliveOptions()),
      oneShot: new http.Agent({ keepAlive: false, maxSockets: this.maxSockets }),
    };
  }

  private keepAliveOptions(): http.AgentOptions {
    const n = this.maxSockets;
    return { keepAlive: true, keepAliveMsecs: 30_000, maxSockets: n, maxFreeSockets: n, scheduling: 'lifo' };
  }

  private secureAgents(): Promise<Agents> {
    this.secure ??= loadHttps().then((mod) => {
      const tlsOpts: https.AgentOptions = {
        minVersion: 'TLSv1.2',
        rejectUnauthorized: this.tls.rejectUnauthorized,
        ...(this.tls.ca !== undefined ? { ca: this.tls.ca } : {}),
        ...(this.tls.cert !== undefined ? { cert: this.tls.cert, key: this.tls.key } : {}),
      };
      const agents = {
        request: mod.request,
        keepAlive: new mod.Agent({ ...this.keepAliveOptions(), ...tlsOpts }),
        oneShot: new mod.Agent({ keepAlive: false, maxSockets: this.maxSockets, ...tlsOpts }),
      };
      if (this.closed) destroyAgents(agents);
      return agents;
    });
    return this.secure;
  }

  /** Destroys every socket and ends pending waits; later requests fail. */
  close(): void {
    this.closed = true;
    for (const end of this.waits) end();
    destroyAgents(this.plain);
    void this.secure?.then(destroyAgents);
  }

  /**
   * Sends one logical request: retries (GET only) until a final answer, the attempt limit or the
   * deadline. Resolves with any HTTP status (the caller maps statuses); rejects with RemoteError
   * for transport failures, timeouts and oversized success bodies.
   */
  async request(spec: RequestSpec): Promise<HttpResponse> {
    const t: Timeouts = { ...this.timeouts, ...defined(spec.timeouts) };
    const deadline = Date.now() + t.totalMs;
    const mayRetry = spec.retry ?? spec.method === 'GET';
    const attempts = mayRetry ? Math.max(1, this.retry.attempts) : 1;
    const secure = spec.url.protocol === 'https:' ? await this.secureAgents() : undefined;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw this.closedError(spec);
      let delay: number | undefined;
      try {
        const res = await this.attempt(spec, t, deadline, secure);
        if (attempt < attempts && retryableStatus(res.status)) delay = this.backoff(attempt, retryAfterMs(res));
        if (delay === undefined || Date.now() + delay >= deadline) return res;
      } catch (e) {
        if (!(e instanceof Failure)) throw e;
        if (!e.retryable || attempt >= attempts) throw e.error;
        delay = this.backoff(attempt, undefined);
        if (Date.now() + delay >= deadline) throw e.error;
      }
      this.stats.retries++;
      await this.wait(delay);
    }
  }

  /** Resolves after `ms`, or at once when the client is closed. */
  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const end = (): void => {
        clearTimeout(timer);
        this.waits.delete(end);
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.waits.add(end);
    });
  }

  private closedError(spec: RequestSpec): RemoteError {
    return new RemoteError('OFFLINE', `the connection to ${displayUrl(spec.url)} was closed by the caller`, { url: displayUrl(spec.url), resource: spec.resource });
  }

  private backoff(attempt: number, retryAfter: number | undefined): number {
    const exp = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    // "Equal jitter": half fixed, half random, so retries of parallel requests spread out.
    const jittered = exp / 2 + Math.random() * (exp / 2);
    if (retryAfter !== undefined) return Math.min(this.retry.maxDelayMs, Math.max(jittered, retryAfter));
    return jittered;
  }

  private attempt(spec: RequestSpec, t: Timeouts, deadline: number, secure: Agents | undefined): Promise<HttpResponse> {
    const url = spec.url;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      const shown = displayUrl(url);
      return Promise.reject(new Failure(new RemoteError('CONFIG', `unsupported URL scheme in ${shown}`, { url: shown }), false));
    }
    const agents = secure ?? this.plain;
    return new Promise<HttpResponse>((resolve, reject) => {
      new Exchange({ spec, t, deadline, agents, stats: this.stats, seen: this.seen, resolve, reject }).start();
    });
  }
}

interface ExchangeSetup {
  spec: RequestSpec;
  t: Timeouts;
  /** Of the logical request (retries included). */
  deadline: number;
  agents: Agents;
  stats: HttpStats;
  /** Sockets the client has seen (connections are counted and timed once). */
  seen: WeakSet<Socket>;
  resolve: (res: HttpResponse) => void;
  reject: (f: Failure) => void;
}

/**
 * One attempt: a request and its response on one connection, in named steps (connect, send,
 * response head, body), under three deadlines (connect, idle, total). Settles once: with the
 * response, or with a Failure that classify() reads from the phase the exchange had reached.
 */
class Exchange {
  private phase: Phase = 'connect';
  private settled = false;
  private status: number | undefined;
  private socket: Socket | undefined;
  private socketBytesAtStart = 0;
  /** The first timeout wins over whatever error node reports while tearing the request down. */
  private timedOut: TimeoutSignal | undefined;
  private totalTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private readonly shown: string;
  private readonly isHttps: boolean;
  /** Time left for the whole exchange when it started. */
  private readonly remaining: number;
  private readonly req: http.ClientRequest;

  constructor(private readonly x: ExchangeSetup) {
    const url = x.spec.url;
    this.shown = displayUrl(url);
    this.isHttps = url.protocol === 'https:';
    this.remaining = Math.max(1, x.deadline - Date.now());
    const headers: Record<string, string> = { 'user-agent': 'dtrust', ...x.spec.headers };
    if (x.spec.body !== undefined) headers['content-length'] = String(x.spec.body.length);
    this.req = x.agents.request({
      method: x.spec.method,
      host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port !== '' ? Number(url.port) : this.isHttps ? 443 : 80,
      path: `${url.pathname}${url.search}`,
      headers,
      agent: x.spec.method === 'GET' ? x.agents.keepAlive : x.agents.oneShot,
    });
  }

  start(): void {
    this.x.stats.requests++;
    this.totalTimer = setTimeout(() => this.timeout('total', this.x.t.totalMs), this.remaining);
    const req = this.req;
    req.on('socket', (s: Socket) => this.connected(s));
    req.on('finish', () => this.sent());
    req.on('response', (res: IncomingMessage) => this.responded(res));
    req.on('error', (err) => this.failed(err));
    req.on('close', () => {
      if (!this.settled) this.failed(Object.assign(new Error('socket closed'), { code: 'ECONNRESET' }));
    });
    if (this.x.spec.body !== undefined) req.end(this.x.spec.body);
    else req.end();
  }

  /** Step 1: a socket, new (counted, under the connect deadline until connected) or reused. */
  private connected(s: Socket): void {
    this.socket = s;
    this.socketBytesAtStart = s.bytesWritten;
    if (this.req.reusedSocket || this.x.seen.has(s)) {
      this.phase = 'send';
      return;
    }
    this.x.seen.add(s);
    this.x.stats.connections++;
    const t = this.x.t;
    this.connectTimer = setTimeout(() => this.timeout('connect', t.connectMs), Math.min(t.connectMs, this.remaining));
    s.once('connect', () => {
      if (this.phase === 'connect') this.phase = this.isHttps ? 'tls' : 'send';
      if (!this.isHttps && this.connectTimer) clearTimeout(this.connectTimer);
    });
    if (this.isHttps) {
      s.once('secureConnect', () => {
        if (this.phase === 'connect' || this.phase === 'tls') this.phase = 'send';
        if (this.connectTimer) clearTimeout(this.connectTimer);
      });
    }
  }

  /** Step 2: the request is sent; the idle deadline runs until the answer. */
  private sent(): void {
    if (this.phase === 'send' || this.phase === 'connect' || this.phase === 'tls') this.phase = 'wait';
    this.x.stats.bytesOut += this.x.spec.body?.length ?? 0;
    this.armIdle();
  }

  /** Step 3: the response head; a Content-Length above the cap of a success fails at once. */
  private responded(res: IncomingMessage): void {
    this.phase = 'body';
    const status = res.statusCode ?? 0;
    this.status = status;
    this.armIdle();
    const ok = status >= 200 && status < 300;
    const cap = ok ? this.x.spec.maxBody : (this.x.spec.maxErrorBody ?? MAX_ERROR_BODY);
    const cl = contentLength(res.headers['content-length']);
    if (ok && cl !== undefined && cl > cap) {
      this.fail(new Failure(tooLarge(this.x.spec, this.shown, status, `Content-Length ${cl} is above the limit of ${cap} bytes`), false));
      return;
    }
    this.readBody(res, { status, headers: res.headers, wwwAuthenticate: res.headersDistinct['www-authenticate'] ?? [], url: this.shown }, ok, cap);
  }

  /**
   * Step 4: the body, bounded. A success body above the cap fails; an error body is cut at its
   * cap and the connection dropped (not reused).
   */
  private readBody(res: IncomingMessage, head: Omit<HttpResponse, 'body' | 'truncated'>, ok: boolean, cap: number): void {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      if (this.settled) return;
      this.x.stats.bytesIn += c.length;
      this.armIdle();
      if (size + c.length > cap) {
        if (ok) {
          this.fail(new Failure(tooLarge(this.x.spec, this.shown, head.status, `the body is larger than the limit of ${cap} bytes`), false));
          return;
        }
        chunks.push(c.subarray(0, cap - size));
        size = cap;
        this.done({ ...head, body: Buffer.concat(chunks, size), truncated: true });
        this.req.destroy();
        return;
      }
      chunks.push(c);
      size += c.length;
    });
    res.on('end', () => {
      if (!res.complete) return; // 'close'/'error' report the truncation
      this.done({ ...head, body: Buffer.concat(chunks, size), truncated: false });
    });
    res.on('error', (err) => this.failed(err));
    res.on('close', () => {
      if (!this.settled && !res.complete) this.failed(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    });
  }

  private failed(err: Error): void {
    if (this.settled) return;
    const written = this.socket ? this.socket.bytesWritten - this.socketBytesAtStart : 0;
    this.fail(classify(this.x.spec, this.timedOut ?? err, this.phase, this.status, this.shown, written));
  }

  private timeout(kind: TimeoutSignal['kind'], ms: number): void {
    this.timedOut ??= new TimeoutSignal(kind, ms);
    this.req.destroy(this.timedOut);
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.timeout('idle', this.x.t.readMs), this.x.t.readMs);
  }

  private clearTimers(): void {
    clearTimeout(this.totalTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.connectTimer) clearTimeout(this.connectTimer);
  }

  private done(res: HttpResponse): void {
    if (this.settled) return;
    this.settled = true;
    this.clearTimers();
    this.x.resolve(res);
  }

  private fail(f: Failure): void {
    if (this.settled) return;
    this.settled = true;
    this.clearTimers();
    this.req.destroy();
    this.x.reject(f);
  }
}

function destroyAgents(a: Agents): void {
  a.keepAlive.destroy();
  a.oneShot.destroy();
}

function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

function retryAfterMs(res: HttpResponse): number | undefined {
  const v = res.headers['retry-after'];
  if (typeof v !== 'string' || !/^\d{1,6}$/.test(v.trim())) return undefined;
  return Number(v.trim()) * 1000;
}

function contentLength(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

function defined<T extends object>(o: Partial<T> | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (!o) return out;
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
