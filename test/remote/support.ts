// Small local HTTP/HTTPS servers on 127.0.0.1 that tests fully control, and TLS material made
// with openssl. Every server is closed by the test that started it (and at process exit).
import { after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isRemoteError, type RemoteError } from '../../src/remote/errors.js';
import { makeTempDir } from '../rig/tmp.js';

const execFileP = promisify(execFile);

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface TestServer {
  url: string;
  port: number;
  requests: SeenRequest[];
  /** TCP connections accepted. */
  connections: number;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer, seen: SeenRequest) => unknown;

export interface ServerOptions {
  tls?: https.ServerOptions;
  /** Do not read the request body before calling the handler. */
  raw?: boolean;
}

/** Starts a server on 127.0.0.1:<free port>; closed by after() of the current scope. */
export async function startServer(handler: Handler, opts: ServerOptions = {}): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.alloc(0) };
    requests.push(seen);
    const run = (body: Buffer): void => {
      seen.body = body;
      Promise.resolve(handler(req, res, body, seen)).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(599);
        res.end(String(err));
      });
    };
    if (opts.raw) {
      run(Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => run(Buffer.concat(chunks)));
    req.on('error', () => undefined);
  };
  const server = opts.tls ? https.createServer(opts.tls, listener) : http.createServer(listener);
  const state = { connections: 0 };
  server.on(opts.tls ? 'secureConnection' : 'connection', () => state.connections++);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined);
  const { port, close } = await listenLocal(server, sockets);
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    get connections() {
      return state.connections;
    },
    close,
  };
}

/** A raw TCP server: the handler gets each socket (for protocol-level faults). */
export async function startTcpServer(onSocket: (s: Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  const { port, close } = await listenLocal(server, sockets);
  return { port, close };
}

/** A port nothing listens on (bound then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const addr = s.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return addr.port;
}

export interface TestPki {
  dir: string;
  caCert: string;
  /** Server certificate for 127.0.0.1 / localhost, signed by the CA. */
  serverCert: string;
  serverKey: string;
  /** Client certificate signed by the CA. */
  clientCert: string;
  clientKey: string;
  /** A second, unrelated CA. */
  otherCaCert: string;
  /** Signed by the CA, but only for the name wrong.example. */
  wrongNameCert: string;
  wrongNameKey: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await execFileP('openssl', args, { cwd, timeout: 20_000 });
}

/** CA, server and client certificates (P-256) made with openssl in a temp dir. */
export async function makePki(): Promise<TestPki> {
  const dir = await makeTempDir('dtrust-remote-pki-');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=dtrust test CA'], dir);
  await openssl(['req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.crt', '-days', '2', '-subj', '/CN=other CA'], dir);
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  await writeFile(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  await writeFile(join(dir, 'wrong.ext'), 'subjectAltName=DNS:wrong.example\nbasicConstraints=CA:FALSE\n');
  for (const [name, ext, cn] of [
    ['server', 'server.ext', 'localhost'],
    ['client', 'client.ext', 'dtrust client'],
    ['wrong', 'wrong.ext', 'wrong.example'],
  ] as const) {
    await openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    await openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', ext],
      dir,
    );
  }
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    otherCaCert: join(dir, 'other.crt'),
    wrongNameCert: join(dir, 'wrong.crt'),
    wrongNameKey: join(dir, 'wrong.key'),
  };
}

/** Small retry/timeouts so fault tests stay fast and bounded. */
export const FAST = {
  timeouts: { connectMs: 2_000, readMs: 2_000, totalMs: 5_000 },
  retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
} as const;

/** Every string a RemoteError exposes (message, hint, url, JSON form, causes) for secret checks. */
export function everythingIn(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    if (cur instanceof Error) {
      parts.push(cur.message, cur.stack ?? '', String(cur));
      const rec = cur as unknown as Record<string, unknown>;
      for (const k of Object.keys(rec)) parts.push(`${k}=${safeJson(rec[k])}`);
      cur = cur.cause;
    } else {
      parts.push(safeJson(cur));
      break;
    }
  }
  return parts.join('\n');
}

function safeJson(v: unknown): string {
  try {
    return typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Listens on a free 127.0.0.1 port; `close` (also run after the test file) drops open sockets. */
async function listenLocal(server: net.Server, sockets: Set<Socket>): Promise<{ port: number; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
    return closed;
  };
  after(close);
  return { port: addr.port, close };
}

/** The RemoteError `p` rejects with; fails the test when it resolves or rejects with anything else. */
export async function failure(p: Promise<unknown>): Promise<RemoteError> {
  const e = await p.then(
    () => assert.fail('expected a failure'),
    (err: unknown) => err,
  );
  assert.ok(isRemoteError(e), `not a RemoteError: ${String(e)}\n${(e as Error).stack}`);
  return e;
}
