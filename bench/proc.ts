// A timed child process: wall time from spawn to exit, plus peak RSS (VmHWM) read by polling
// /proc/<pid>/status (Linux only; null elsewhere). VmHWM is a high-water mark, so polling only
// misses growth in the last poll interval before exit.
//
// Every child still running when the bench process exits (deadline, Ctrl-C) is SIGKILLed.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { EnvMap } from '../test/rig/notary.js';

export interface TimedRun {
  code: number;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Peak resident set size in KiB, or null if /proc was not readable (or polling was off). */
  peakRssKiB: number | null;
}

export interface RunTimedOptions {
  env: EnvMap;
  cwd?: string;
  timeoutMs: number;
  /** /proc polling interval; 0 turns polling off (start-up timings). Default 5 ms. */
  pollMs?: number;
  /** Standard input is this file (opened read-only); default: no input (/dev/null). */
  stdinFile?: string;
  /** Standard output goes to /dev/null instead of being collected (large outputs). */
  discardStdout?: boolean;
}

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export function readHwmKiB(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function runTimed(cmd: string, args: readonly string[], opts: RunTimedOptions): Promise<TimedRun> {
  hookExit();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
  const fds: number[] = [];
  let stdio: StdioOptions;
  try {
    const stdin = opts.stdinFile !== undefined ? openSync(opts.stdinFile, 'r') : 'ignore';
    if (typeof stdin === 'number') fds.push(stdin);
    const stdout = opts.discardStdout ? openSync('/dev/null', 'w') : 'pipe';
    if (typeof stdout === 'number') fds.push(stdout);
    stdio = [stdin, stdout, 'pipe'];
  } catch (e) {
    for (const fd of fds) closeSync(fd);
    return Promise.reject(e);
  }
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, [...args], { env, cwd: opts.cwd, stdio });
    for (const fd of fds) closeSync(fd); // the child has its copies
    live.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    let peak: number | null = null;
    const poll = (): void => {
      if (child.pid === undefined || child.exitCode !== null) return;
      const v = readHwmKiB(child.pid);
      if (v !== null && (peak === null || v > peak)) peak = v;
    };
    const pollMs = opts.pollMs ?? 5;
    const poller = pollMs > 0 ? setInterval(poll, pollMs) : undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    // Wall time ends at process exit; 'close' (streams drained) may come a little later.
    let wallMs = 0;
    child.once('exit', () => {
      wallMs = performance.now() - t0;
    });
    child.once('error', (e) => {
      live.delete(child);
      if (poller) clearInterval(poller);
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      live.delete(child);
      if (poller) clearInterval(poller);
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) {
        reject(new Error(`${cmd} ${args.join(' ')}: killed after ${opts.timeoutMs} ms\n${stderr}`));
        return;
      }
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, wallMs, peakRssKiB: peak });
    });
  });
}
