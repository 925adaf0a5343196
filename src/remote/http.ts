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
    const shown = displayUrl(url);
    const isHttps = url.protocol === 'https:';
    if (url.protocol !== 'http:' && !isHttps) {
      return Promise.reject(new Failure(new RemoteError('CONFIG', `unsupported URL scheme in ${shown}`, { url: shown }), false));
    }
    const agents = secure ?? this.plain;
    const agent = spec.method === 'GET' ? agents.keepAlive : agents.oneShot;
    const errorCap = spec.maxErrorBody ?? MAX_ERROR_BODY;
    const headers: Record<string, string> = { 'user-agent': 'dtrust', ...spec.headers };
    if (spec.body !== undefined) headers['content-length'] = String(spec.body.length);
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port !== '' ? Number(url.port) : isHttps ? 443 : 80;

    return new Promise<HttpResponse>((resolve, reject) => {
      this.stats.requests++;
      let phase: Phase = 'connect';
      let settled = false;
      let status: number | undefined;
      let socket: Socket | undefined;
      let socketBytesAtStart = 0;
      let idleTimer: NodeJS.Timeout | undefined;
      let connectTimer: NodeJS.Timeout | undefined;
      // The first timeout wins over whatever error node reports while tearing the request down.
      let timedOut: TimeoutSignal | undefined;
      const timeout = (kind: TimeoutSignal['kind'], ms: number): void => {
        timedOut ??= new TimeoutSignal(kind, ms);
        req.destroy(timedOut);
      };
      const remaining = Math.max(1, deadline - Date.now());
      const totalTimer = setTimeout(() => timeout('total', t.totalMs), remaining);

      const clearTimers = (): void => {
        clearTimeout(totalTimer);
        if (idleTimer) clearTimeout(idleTimer);
        if (connectTimer) clearTimeout(connectTimer);
      };
      const armIdle = (): void => {
        if (idleTimer) clearTimeout(idleTimer);
        idleTimer = setTimeout(() => timeout('idle', t.readMs), t.readMs);
      };
      const done = (res: HttpResponse): void => {
        if (settled) return;
        settled = true;
        clearTimers();
        resolve(res);
      };
      const fail = (f: Failure): void => {
        if (settled) return;
        settled = true;
        clearTimers();
        req.destroy();
        reject(f);
      };

      const req = agents.request({
        method: spec.method,
        host: hostname,
        port,
        path: `${url.pathname}${url.search}`,
        headers,
        agent,
      });

      req.on('socket', (s: Socket) => {
        socket = s;
        socketBytesAtStart = s.bytesWritten;
        if (req.reusedSocket || this.seen.has(s)) {
          phase = 'send';
          return;
        }
        this.seen.add(s);
        this.stats.connections++;
        connectTimer = setTimeout(() => timeout('connect', t.connectMs), Math.min(t.connectMs, remaining));
        s.once('connect', () => {
          if (phase === 'connect') phase = isHttps ? 'tls' : 'send';
          if (!isHttps && connectTimer) clearTimeout(connectTimer);
        });
        if (isHttps) {
          s.once('secureConnect', () => {
            if (phase === 'connect' || phase === 'tls') phase = 'send';
            if (connectTimer) clearTimeout(connectTimer);
          });
        }
      });

      req.on('finish', () => {
        if (phase === 'send' || phase === 'connect' || phase === 'tls') phase = 'wait';
        this.stats.bytesOut += spec.body?.length ?? 0;
        armIdle();
      });

      req.on('response', (res: IncomingMessage) => {
        phase = 'body';
        status = res.statusCode ?? 0;
        armIdle();
        const ok = status >= 200 && status < 300;
        const cap = ok ? spec.maxBody : errorCap;
        const wwwAuthenticate = res.headersDistinct['www-authenticate'] ?? [];
        const base = { status, headers: res.headers, wwwAuthenticate, url: shown };
        const cl = contentLength(res.headers['content-length']);
        if (ok && cl !== undefined && cl > cap) {
          fail(new Failure(tooLarge(spec, shown, status, `Content-Length ${cl} is above the limit of ${cap} bytes`), false));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (settled) return;
          this.stats.bytesIn += c.length;
          armIdle();
          if (size + c.length > cap) {
            if (ok) {
              fail(new Failure(tooLarge(spec, shown, status, `the body is larger than the limit of ${cap} bytes`), false));
              return;
            }
            chunks.push(c.subarray(0, cap - size));
            size = cap;
            // Enough of an error body: stop reading, do not reuse this connection.
            done({ ...base, body: Buffer.concat(chunks, size), truncated: true });
            req.destroy();
            return;
          }
          chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          if (!res.complete) return; // 'close'/'error' report the truncation
          done({ ...base, body: Buffer.concat(chunks, size), truncated: false });
        });
        res.on('error', (err) => onError(err));
        res.on('close', () => {
          if (!settled && !res.complete) onError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
        });
      });

      const onError = (err: Error): void => {
        if (settled) return;
        fail(classify(spec, timedOut ?? err, phase, status, shown, socket ? socket.bytesWritten - socketBytesAtStart : 0));
      };
      req.on('error', onError);
      req.on('close', () => {
        if (!settled) onError(Object.assign(new Error('socket closed'), { code: 'ECONNRESET' }));
      });

      if (spec.body !== undefined) req.end(spec.body);
      else req.end();
    });
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
