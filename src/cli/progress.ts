// What a long step is doing (issue 18 item 3): a line on stderr when a step takes longer than
// about 300 ms, on a terminal only (never on a pipe), and never while a passphrase prompt is on.

import { isatty } from 'node:tty';
import { promptActive } from './interrupt.js';
import { stderr } from './stdio.js';

export const PROGRESS_DELAY_MS = 300;

export async function withProgress<T>(label: string, work: () => Promise<T>): Promise<T> {
  if (!isatty(2)) return work();
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(() => (promptActive() ? arm() : stderr.write(`${label}\n`)), PROGRESS_DELAY_MS);
  };
  arm();
  try {
    return await work();
  } finally {
    clearTimeout(timer);
  }
}
