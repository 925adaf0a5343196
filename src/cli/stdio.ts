// stdout and stderr written with write(2) on the descriptors. process.stdout and process.stderr
// are streams whose first use loads net and stream (about 3 ms, as much as a short command's own
// work), and a short command writes a few lines. A descriptor the parent left non-blocking
// (EAGAIN) hands the rest of the output to the stream, so order is kept; a reader that went
// away (EPIPE) ends the output quietly, as SIGPIPE ends notary's.

import { once } from 'node:events';
import { writeSync } from 'node:fs';

export class StdWriter {
  private stream: NodeJS.WriteStream | undefined;
  private closed = false;

  constructor(
    private readonly fd: number,
    private readonly openStream: () => NodeJS.WriteStream,
  ) {}

  write(data: string | Uint8Array): void {
    if (this.closed) return;
    if (this.stream !== undefined) {
      this.stream.write(data);
      return;
    }
    let rest: Uint8Array = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    while (rest.length > 0) {
      try {
        rest = rest.subarray(writeSync(this.fd, rest));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') {
          this.closed = true;
          return;
        }
        if (code !== 'EAGAIN') throw e;
        this.asStream().write(rest);
        return;
      }
    }
  }

  /** The stream, for output too large to hold; every later write goes through it as well. */
  asStream(): NodeJS.WriteStream {
    return (this.stream ??= this.openStream());
  }

  /** True when everything written has left the process (a stream may still hold some). */
  flushed(): boolean {
    return this.stream === undefined || this.stream.writableLength === 0;
  }

  /** Resolves once the stream (if one took over) has room again; direct writes are complete. */
  drain(): Promise<void> {
    const s = this.stream;
    return s !== undefined && s.writableNeedDrain ? once(s, 'drain').then(() => undefined) : Promise.resolve();
  }
}

export const stdout = new StdWriter(1, () => process.stdout);
export const stderr = new StdWriter(2, () => process.stderr);
