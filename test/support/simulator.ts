// A malicious-repository simulator (design principle 6, security.md §7.1): an in-process
// loopback HTTP server that speaks notary-server's read protocol (formats.md §6) for one or more
// GUNs served from MemRepos, and that can be told to corrupt exactly one property of one answer.
//
// Routes: GET /v2/ (200 `{}`), GET /_notary_server/health, and under /v2/<gun>/_trust/tuf/:
//   <role>.json            the repository's current file
//   <role>.<sha256>.json   any file the repository ever served, by checksum (as the server's store)
//   <N>.<role>.json        any version the repository ever served, by version
//   {timestamp,snapshot}.key  the public key the repository's root lists for that role
// Anything else (and POST/DELETE) gets notary-server's 404 / 400 bodies. Every request is recorded
// and counted per path; `hook` sees the request and the answer the simulator would give, and may
// return a replacement (other body or status, a delay, a slow drip, a truncation, an endless body).
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { sha256Hex } from '../../src/crypto/hash.js';
import { signedVersion } from '../../src/tuf/envelope.js';
import type { MemRepo } from './memrepo.js';

export type SimKind = 'ping' | 'health' | 'current' | 'checksum' | 'version' | 'key' | 'publish' | 'delete' | 'unknown';

export interface SimRequest {
  method: string;
  /** The request path as sent (still percent-escaped), without the query. */
  path: string;
  kind: SimKind;
  gun?: string;
  /** What follows `_trust/tuf/`, e.g. `timestamp.json`, `snapshot.<hex>.json`, `2.root.json`. */
  file?: string;
  /** The role the file belongs to (`targets/releases`, `root`, …). */
  role?: string;
  /** For checksum requests. */
  hash?: string;
  /** For version requests. */
  version?: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** This is the n-th request for this path (1-based). */
  n: number;
}

export interface SimResponse {
  status: number;
  body: Buffer;
  headers: Record<string, string>;
  /** Wait this long before sending anything. */
  delayMs?: number;
  /** Send the body `bytes` at a time, one piece every `everyMs`. */
  drip?: { bytes: number; everyMs: number };
  /** Announce the whole body in Content-Length but close the connection after this many bytes. */
  truncateAt?: number;
  /** No Content-Length: the body is sent chunked. */
  chunked?: boolean;
  /** After `body`, keep sending filler (chunked) until the client goes away. */
  endless?: boolean;
  /** Close the connection without answering. */
  hangUp?: boolean;
}

export type SimHook = (req: SimRequest, res: SimResponse) => SimResponse | undefined | void | Promise<SimResponse | undefined | void>;

interface GunStore {
  repo: MemRepo;
  /** `<role>.<sha256hex>` → bytes */
  byHash: Map<string, Buffer>;
  /** `<role>.<version>` → bytes */
  byVersion: Map<string, Buffer>;
}

const TUF_PATH = /^\/v2\/(.+)\/_trust\/tuf\/(.*)$/;
const ROLE = '(root|snapshot|timestamp|targets(?:/[^/\\s]+)*)';
const CURRENT = new RegExp(`^${ROLE}\\.json$`);
const CHECKSUM = new RegExp(`^${ROLE}\\.([0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})\\.json$`);
const BY_VERSION = new RegExp(`^([1-9]*[0-9]+)\\.${ROLE}\\.json$`);
const KEY = /^(timestamp|snapshot)\.key$/;

const META_HEADERS = { 'content-type': 'text/plain; charset=utf-8' };

function errorBody(code: string, message: string): Buffer {
  return Buffer.from(JSON.stringify({ errors: [{ code, message, detail: {} }] }) + '\n');
}

export function notFound(): SimResponse {
  return {
    status: 404,
    body: errorBody('METADATA_NOT_FOUND', 'You have requested metadata that does not exist.'),
    headers: { 'content-type': 'application/json; charset=utf-8' },
  };
}

export function ok(body: Buffer | string, headers: Record<string, string> = META_HEADERS): SimResponse {
  return { status: 200, body: Buffer.from(body), headers: { ...headers } };
}

export class Simulator {
  /** Called for every request with the default answer; return a replacement to change it. */
  hook: SimHook | undefined;
  readonly requests: SimRequest[] = [];
  /** Requests per path (`GET /v2/<gun>/_trust/tuf/timestamp.json` → n). */
  readonly counts = new Map<string, number>();
  private readonly guns = new Map<string, GunStore>();
  private readonly sockets = new Set<Socket>();
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  /** Starts on 127.0.0.1, a free port. Serves `repos` (more can be added with `add`). */
  static async start(...repos: MemRepo[]): Promise<Simulator> {
    let sim: Simulator | undefined;
    const server = http.createServer((req, res) => {
      if (!sim) {
        res.destroy();
        return;
      }
      sim.onRequest(req, res);
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('simulator: no address');
    sim = new Simulator(server, addr.port);
    server.on('connection', (s: Socket) => {
      sim!.sockets.add(s);
      s.on('close', () => sim!.sockets.delete(s));
      s.on('error', () => undefined);
    });
    for (const r of repos) sim.add(r);
    return sim;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Serves a repository under its GUN (replacing an earlier one with that GUN). */
  add(repo: MemRepo): void {
    this.guns.set(repo.gun, { repo, byHash: new Map(), byVersion: new Map() });
    this.index(repo.gun);
  }

  repo(gun: string): MemRepo {
    const g = this.guns.get(gun);
    if (!g) throw new Error(`simulator: no repository ${gun}`);
    return g.repo;
  }

  /** Path prefix of a GUN's metadata, e.g. `/v2/example.com/app/_trust/tuf/`. */
  tufPath(gun: string): string {
    return `/v2/${gun.split('/').map(encodeURIComponent).join('/')}/_trust/tuf/`;
  }

  /** Requests so far for an exact path (GET unless `method` says otherwise). */
  count(path: string, method = 'GET'): number {
    return this.counts.get(`${method} ${path}`) ?? 0;
  }

  /** Requests so far whose path matches. */
  countMatching(re: RegExp): number {
    return this.requests.filter((r) => re.test(r.path)).length;
  }

  resetCounts(): void {
    this.requests.length = 0;
    this.counts.clear();
  }

  /**
   * Records the repository's current files in the by-checksum and by-version stores, as the
   * server keeps every version it was sent. Done before every request; call it by hand to make
   * a state reachable later although it was never served.
   */
  index(gun: string): void {
    const g = this.guns.get(gun);
    if (!g) return;
    for (const [role, bytes] of g.repo.files) {
      g.byHash.set(`${role}.${sha256Hex(bytes)}`, bytes);
      let v: number | undefined;
      try {
        v = signedVersion(bytes, role);
      } catch {
        v = undefined; // a deliberately broken file has no version to be found by
      }
      if (v !== undefined && !g.byVersion.has(`${role}.${v}`)) g.byVersion.set(`${role}.${v}`, bytes);
    }
  }

  /** Replaces what `<N>.<role>.json` returns. */
  setVersion(gun: string, role: string, version: number, bytes: Buffer): void {
    this.guns.get(gun)!.byVersion.set(`${role}.${version}`, bytes);
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      for (const s of this.sockets) s.destroy();
      this.server.close(() => resolve());
    });
    return this.closed;
  }

  // -------------------------------------------------------------------------------------------

  private route(method: string, path: string): Omit<SimRequest, 'headers' | 'body' | 'n'> & { answer: SimResponse } {
    if (path === '/v2/' || path === '/v2') return { method, path, kind: 'ping', answer: ok('{}') };
    if (path === '/_notary_server/health') return { method, path, kind: 'health', answer: ok('{}', { 'content-type': 'application/json' }) };
    const m = TUF_PATH.exec(path);
    if (!m) return { method, path, kind: 'unknown', answer: notFound() };
    let gun: string;
    let file: string;
    try {
      gun = decodeURIComponent(m[1]!);
      file = decodeURIComponent(m[2]!);
    } catch {
      return { method, path, kind: 'unknown', answer: notFound() };
    }
    const base = { method, path, gun, file };
    if (method === 'POST' && file === '') {
      return { ...base, kind: 'publish', answer: { status: 400, body: errorBody('INVALID_UPDATE', 'the simulator does not accept uploads'), headers: {} } };
    }
    if (method === 'DELETE' && file === '') return { ...base, kind: 'delete', answer: ok('') };
    const g = this.guns.get(gun);
    let r: RegExpExecArray | null;
    if ((r = KEY.exec(file))) {
      const role = r[1]!;
      if (!g) return { ...base, kind: 'key', role, answer: notFound() };
      const id = g.repo.root.roles.get(role)?.keyids?.[0];
      const key = id === undefined ? undefined : g.repo.root.keys.get(id);
      return { ...base, kind: 'key', role, answer: key ? ok(JSON.stringify(key.toJson()), { 'content-type': 'application/json' }) : notFound() };
    }
    if ((r = CHECKSUM.exec(file))) {
      const [, role, hash] = r as unknown as [string, string, string];
      const bytes = g?.byHash.get(`${role}.${hash}`);
      return { ...base, kind: 'checksum', role, hash, answer: bytes ? ok(bytes) : notFound() };
    }
    if ((r = BY_VERSION.exec(file))) {
      const version = Number(r[1]);
      const role = r[2]!;
      const bytes = version === 0 ? undefined : g?.byVersion.get(`${role}.${version}`);
      return { ...base, kind: 'version', role, version, answer: bytes ? ok(bytes) : notFound() };
    }
    if ((r = CURRENT.exec(file))) {
      const role = r[1]!;
      const bytes = g?.repo.files.get(role);
      return { ...base, kind: 'current', role, answer: bytes ? ok(bytes) : notFound() };
    }
    return { ...base, kind: 'unknown', answer: notFound() };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      void this.answer(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(599);
        res.end(String(err));
      });
    });
  }

  private async answer(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    const routed = this.route(method, path);
    if (routed.gun) this.index(routed.gun);
    const key = `${method} ${path}`;
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    const { answer: defaultAnswer, ...info } = routed;
    const sreq: SimRequest = { ...info, headers: req.headers, body, n };
    this.requests.push(sreq);
    let answer = defaultAnswer;
    if (this.hook) answer = (await this.hook(sreq, answer)) ?? answer;
    await sendResponse(res, answer);
  }
}

const FILLER = Buffer.alloc(64 * 1024, 0x20);

/** Writes `a` to `res` with its delay, drip, truncation or endless filler. */
export async function sendResponse(res: ServerResponse, a: SimResponse): Promise<void> {
  if (a.delayMs) await sleepUnlessClosed(res, a.delayMs);
  if (res.destroyed) return;
  if (a.hangUp) {
    res.socket?.destroy();
    return;
  }
  const headers: Record<string, string> = { ...a.headers };
  const streaming = a.chunked || a.endless;
  if (!streaming && headers['content-length'] === undefined) headers['content-length'] = String(a.body.length);
  res.writeHead(a.status, headers);
  const limit = a.truncateAt ?? a.body.length;
  const body = a.body.subarray(0, Math.min(limit, a.body.length));
  if (a.drip) {
    for (let i = 0; i < body.length && !res.destroyed; i += a.drip.bytes) {
      await write(res, body.subarray(i, i + a.drip.bytes));
      await sleepUnlessClosed(res, a.drip.everyMs);
    }
  } else if (body.length > 0) await write(res, body);
  if (a.truncateAt !== undefined) {
    // end(), not destroy(): what was written (headers and the first bytes) must reach the client.
    res.socket?.end();
    return;
  }
  if (a.endless) {
    while (!res.destroyed && !res.socket?.destroyed) await write(res, FILLER);
    return;
  }
  if (!res.destroyed) res.end();
}

function write(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    const onClose = (): void => resolve();
    res.once('close', onClose);
    if (res.write(chunk)) {
      res.removeListener('close', onClose);
      resolve();
    } else {
      res.once('drain', () => {
        res.removeListener('close', onClose);
        resolve();
      });
    }
  });
}

function sleepUnlessClosed(res: ServerResponse, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      res.removeListener('close', done);
      resolve();
    }
    res.once('close', done);
  });
}
