// Runs the REAL notary-server (Debian package `notary`) for integration tests:
// memory storage, local trust service (ED25519 server-held keys), plain HTTP on 127.0.0.1.
import { after, before } from 'node:test';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTempDir, removeTempDir } from './tmp.js';

export interface NotaryServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (no trailing slash). */
  url: string;
  port: number;
  pid: number;
  /** Temp dir holding config.json and server.log. Removed by stop() unless DTRUST_KEEP_TMP=1. */
  dir: string;
  /** Path of the server's combined stdout/stderr log (JSON lines). */
  logFile: string;
  /** Last `lines` lines of the server log (for failure messages). */
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after a bounded wait; resolves once the pid is verifiably gone. */
  stop(): Promise<void>;
}

/** Binary to run; override with NOTARY_SERVER_BIN. */
export const NOTARY_SERVER_BIN = process.env['NOTARY_SERVER_BIN'] || 'notary-server';

const HEALTH_TIMEOUT_MS = 15_000;
const TERM_GRACE_MS = 5_000;
const KILL_WAIT_MS = 5_000;
const PORT_ATTEMPTS = 5;

// ---------------------------------------------------------------------------------------------
// Emergency cleanup: kill every server we started if this process goes away without stop().

const running = new Map<number, ChildProcess>();
let emergencyInstalled = false;

function killAllNow(): void {
  for (const pid of running.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

function installEmergencyCleanup(): void {
  if (emergencyInstalled) return;
  emergencyInstalled = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      killAllNow();
      // If nobody else handles this signal, behave like the default (terminate), but through
      // process.exit so that 'exit' listeners (temp dir removal) still run.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, handler);
        process.exit(128 + (osConstants.signals[sig] ?? 15));
      }
    };
    process.on(sig, handler);
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers (exported for tests).

/** A currently free TCP port on 127.0.0.1 (listen on 0, read it, close). Racy by nature. */
export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      const port = addr.port;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One plain GET with no keep-alive (nothing lingers in the test process). */
export function httpGet(url: string, timeoutMs = 2_000): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Resolves true if something accepts a TCP connection on 127.0.0.1:port, false on refusal. */
export function portAcceptsConnections(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`connect to 127.0.0.1:${port} neither succeeded nor was refused within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ECONNREFUSED') resolve(false);
      else reject(err);
    });
  });
}

/** True if a process with this pid exists (signal 0 probe). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tail(file: string, lines: number): string {
  try {
    const all = readFileSync(file, 'utf8').split('\n');
    return all.slice(-lines - 1).join('\n');
  } catch (err) {
    return `<could not read ${file}: ${(err as Error).message}>`;
  }
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      child.removeListener('exit', onExit);
      resolve(false);
    }, ms);
    child.once('exit', onExit);
  });
}

// ---------------------------------------------------------------------------------------------

/** The configuration the spec's observations were made with (cli.md §13), on the given port. */
export function serverConfig(port: number): object {
  return {
    server: { http_addr: `127.0.0.1:${port}` },
    // "local" ignores every other trust_service key and always uses ED25519 (cmd/notary-server/config.go).
    trust_service: { type: 'local', hostname: '', port: '', key_algorithm: 'ed25519' },
    storage: { backend: 'memory' },
    logging: { level: 'info' },
  };
}

class AddressInUse extends Error {}

async function startOnce(dir: string, attempt: number): Promise<NotaryServer> {
  const port = await getFreePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = join(dir, `config.${attempt}.json`);
  const logFile = join(dir, `server.${attempt}.log`);
  await writeFile(configFile, JSON.stringify(serverConfig(port), null, 2) + '\n', { mode: 0o600 });

  const logFd = openSync(logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(NOTARY_SERVER_BIN, ['-config', configFile], {
      cwd: dir,
      // Minimal env: notary-server reads NOTARY_SERVER_* variables through viper.
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir },
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let spawnErr: Error | undefined;
  void spawnError.then((e) => {
    spawnErr = e;
  });
  // Let a forgotten server not hold the test process open; 'exit' kills it anyway.
  child.unref();

  const pid = child.pid;
  if (pid === undefined) {
    const err = await spawnError;
    throw new Error(`could not start ${NOTARY_SERVER_BIN}: ${err.message}`);
  }
  running.set(pid, child);

  let stopped: Promise<void> | undefined;
  const server: NotaryServer = {
    url,
    port,
    pid,
    dir,
    logFile,
    logTail: (lines = 40) => tail(logFile, lines),
    stop(): Promise<void> {
      stopped ??= (async () => {
        child.ref(); // keep the loop alive while we wait for the exit event
        try {
          if (!(await waitForExit(child, 0))) {
            try {
              process.kill(pid, 'SIGTERM');
            } catch {
              // raced with its own exit
            }
            if (!(await waitForExit(child, TERM_GRACE_MS))) {
              try {
                process.kill(pid, 'SIGKILL');
              } catch {
                // gone
              }
              if (!(await waitForExit(child, KILL_WAIT_MS))) {
                throw new Error(`notary-server pid ${pid} survived SIGKILL for ${KILL_WAIT_MS} ms`);
              }
            }
          }
          // node reaps its children before emitting 'exit', so the pid must be gone now.
          if (pidAlive(pid)) throw new Error(`notary-server pid ${pid} still exists after exit`);
        } finally {
          running.delete(pid);
          child.unref();
        }
      })();
      return stopped;
    },
  };

  // Poll the health endpoint.
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let lastProblem = 'no attempt made';
  for (;;) {
    if (spawnErr) {
      running.delete(pid);
      throw new Error(`could not start ${NOTARY_SERVER_BIN}: ${spawnErr.message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      running.delete(pid);
      const log = tail(logFile, 40);
      if (/address already in use/i.test(log)) throw new AddressInUse(log);
      throw new Error(
        `notary-server exited early (code ${child.exitCode}, signal ${child.signalCode}); log tail:\n${log}`,
      );
    }
    try {
      const res = await httpGet(`${url}/_notary_server/health`, 1_000);
      if (res.status === 200) break;
      lastProblem = `health returned ${res.status}: ${res.body}`;
    } catch (err) {
      lastProblem = (err as Error).message;
    }
    if (Date.now() > deadline) {
      await server.stop().catch(() => undefined);
      throw new Error(
        `notary-server on ${url} not healthy after ${HEALTH_TIMEOUT_MS} ms (${lastProblem}); log tail:\n${tail(logFile, 40)}`,
      );
    }
    await sleep(50);
  }

  // Make sure the thing answering is our child (someone may have grabbed the port first).
  await sleep(20);
  if (child.exitCode !== null || child.signalCode !== null) {
    running.delete(pid);
    const log = tail(logFile, 40);
    if (/address already in use/i.test(log)) throw new AddressInUse(log);
    throw new Error(`notary-server exited right after becoming healthy; log tail:\n${log}`);
  }
  return server;
}

/** Starts a fresh notary-server (memory storage, so every server starts empty). */
export async function startNotaryServer(): Promise<NotaryServer> {
  installEmergencyCleanup();
  const dir = await makeTempDir('dtrust-notary-server-');
  let lastErr: unknown;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    try {
      const srv = await startOnce(dir, attempt);
      const stop = srv.stop.bind(srv);
      srv.stop = async () => {
        await stop();
        await removeTempDir(dir);
      };
      return srv;
    } catch (err) {
      lastErr = err;
      if (!(err instanceof AddressInUse)) break;
    }
  }
  await removeTempDir(dir).catch(() => undefined);
  if (lastErr instanceof AddressInUse) {
    throw new Error(`notary-server: address in use on ${PORT_ATTEMPTS} attempts; last log:\n${lastErr.message}`);
  }
  throw lastErr;
}

/**
 * For test files: starts one server in before() and stops it in after() of the current scope
 * (file or describe). Call it at file scope or directly inside describe(), not inside a hook.
 * Returns a getter that throws if used before the server is up.
 */
export function useNotaryServer(): () => NotaryServer {
  let srv: NotaryServer | undefined;
  before(async () => {
    srv = await startNotaryServer();
  });
  after(async () => {
    const s = srv;
    srv = undefined;
    if (s) await s.stop();
  });
  return () => {
    if (!srv) throw new Error('useNotaryServer(): server not running (only available inside tests)');
    return srv;
  };
}
