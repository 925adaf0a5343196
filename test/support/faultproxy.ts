// A fault-injecting HTTP(S) front for a real server (security.md §7.2): every request goes
// through `hook`, which may forward it to the upstream server (and change the answer), answer
// itself, delay, drip, truncate or hold the request. Requests are recorded and counted per path.
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { sendResponse, type SimResponse } from './simulator.js';

export interface ProxyRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  /** Path without the query. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** This is the n-th request for this method and path (1-based). */
  n: number;
  /** Resolves when the client's connection closes (e.g. the client was killed). */
  clientGone: Promise<void>;
}

/** Decides the answer; `forward()` sends the request upstream and resolves with its answer. */
export type ProxyHook = (req: ProxyRequest, forward: () => Promise<SimResponse>) => SimResponse | Promise<SimResponse>;

export interface FaultProxy {
  url: string;
  port: number;
  hook: ProxyHook | undefined;
  readonly requests: ProxyRequest[];
  /** Requests for `METHOD path`. */
  count(path: string, method?: string): number;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function forwardTo(upstream: URL, req: ProxyRequest): Promise<SimResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    headers['content-length'] = String(req.body.length);
    const r = http.request(
      { host: upstream.hostname, port: Number(upstream.port), method: req.method, path: req.url, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const out: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined || HOP_BY_HOP.has(k)) continue;
            out[k] = Array.isArray(v) ? v.join(', ') : v;
          }
          resolve({ status: res.statusCode ?? 502, headers: out, body: Buffer.concat(chunks) });
        });
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

/** Starts a front on 127.0.0.1 (HTTPS when `tls` is given) for `upstream` (an http:// URL). */
export async function startFaultProxy(upstream: string, opts: { tls?: { cert: Buffer; key: Buffer }; hook?: ProxyHook } = {}): Promise<FaultProxy> {
  const up = new URL(upstream);
  const requests: ProxyRequest[] = [];
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    url: '',
    port: 0,
    hook: opts.hook,
    requests,
    count: (path, method = 'GET') => counts.get(`${method} ${path}`) ?? 0,
    close: () => Promise.resolve(),
  };
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    const clientGone = new Promise<void>((resolve) => {
      res.once('close', () => resolve());
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      const url = req.url ?? '/';
      const method = req.method ?? 'GET';
      const path = url.split('?')[0]!;
      const key = `${method} ${path}`;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      const preq: ProxyRequest = { method, url, path, headers: req.headers, body: Buffer.concat(chunks), n, clientGone };
      requests.push(preq);
      const forward = (): Promise<SimResponse> => forwardTo(up, preq);
      void (async () => {
        let answer: SimResponse;
        try {
          answer = proxy.hook ? await proxy.hook(preq, forward) : await forward();
        } catch (e) {
          answer = { status: 502, headers: {}, body: Buffer.from(`proxy: ${String(e)}`) };
        }
        await sendResponse(res, answer);
      })().catch(() => res.destroy());
    });
  };
  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, listener) : http.createServer(listener);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('fault proxy: no address');
  let closed: Promise<void> | undefined;
  proxy.port = addr.port;
  proxy.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${addr.port}`;
  proxy.close = () => {
    closed ??= new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
    return closed;
  };
  return proxy;
}
