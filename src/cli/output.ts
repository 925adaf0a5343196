// Where a command writes: stdout for results (as notary), stderr for logs, and the log format
// of logrus (notary's logger) so that scripts reading notary's stderr keep working.

import { isatty } from 'node:tty';
import { stderr, stdout } from './stdio.js';

export type LogLevel = 'error' | 'warning' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { error: 0, warning: 1, info: 2, debug: 3 };
const TAG: Record<LogLevel, string> = { error: 'ERRO', warning: 'WARN', info: 'INFO', debug: 'DEBU' };

export interface Output {
  out(text: string): void;
  /** Resolves once stdout has taken what was written (large outputs wait here between pieces). */
  drain(): Promise<void>;
  err(text: string): void;
  log(level: LogLevel, msg: string): void;
  setLevel(level: LogLevel): void;
}

// isatty() rather than process.stderr.isTTY, and only when a line is logged: opening the stream
// or loading tty costs milliseconds a short command otherwise never spends.
export function processOutput(startedAt: number): Output {
  let level: LogLevel = 'warning';
  return {
    out: (t) => stdout.write(t),
    drain: () => stdout.drain(),
    err: (t) => stderr.write(t),
    setLevel: (l) => {
      level = l;
    },
    log(l, msg) {
      if (RANK[l] > RANK[level]) return;
      if (isatty(2)) {
        const secs = String(Math.floor((Date.now() - startedAt) / 1000)).padStart(4, '0');
        stderr.write(`${TAG[l]}[${secs}] ${msg}\n`);
      } else {
        const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
        stderr.write(`time="${time}" level=${l} msg=${JSON.stringify(msg)}\n`);
      }
    },
  };
}

/** True once the output has left the process: bin/dtrust may then exit without draining the event loop. */
export function outputFlushed(): boolean {
  return stdout.flushed() && stderr.flushed();
}
