// A timed child process: wall time from spawn to exit, plus peak RSS (VmHWM) read by polling
// /proc/<pid>/status (Linux only; null elsewhere). VmHWM is a high-water mark, so polling only
// misses growth in the last poll interval before exit.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { EnvMap } from '../test/rig/notary.js';

export interface TimedRun {
  code: number;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Peak resident set size in KiB, or null if /proc was not readable. */
  peakRssKiB: number | null;
}

function readHwmKiB(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function runTimed(
  cmd: string,
  args: readonly string[],
  opts: { env: EnvMap; cwd?: string; timeoutMs: number; pollMs?: number },
): Promise<TimedRun> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, [...args], { env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    let peak: number | null = null;
    const poll = (): void => {
      if (child.pid === undefined) return;
      const v = readHwmKiB(child.pid);
      if (v !== null && (peak === null || v > peak)) peak = v;
    };
    const poller = setInterval(poll, opts.pollMs ?? 5);
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
      clearInterval(poller);
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearInterval(poller);
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
