// Loaded into every test file's process by run-tests.mjs. Once a file's tests and after() hooks
// are done its process must exit; if it is still alive GRACE_MS later, something keeps the event
// loop alive (a worker thread, a child process, a socket or server, a timer). This names it and
// fails the file then, instead of leaving it to hang, silent, until the runner kills it at the
// test timeout. DTRUST_TEST_LEAK_STACKS=1 also records where each of them was created
// (async_hooks: slower, for a re-run of the file that leaks).
import { createHook } from 'node:async_hooks';
import { after } from 'node:test';

const GRACE_MS = 20_000;
/** The async resource types that can keep the event loop alive. */
const HOLDING = new Set(['WORKER', 'PROCESSWRAP', 'TCPWRAP', 'TCPSERVERWRAP', 'PIPEWRAP', 'PIPESERVERWRAP', 'UDPWRAP', 'TTYWRAP', 'FSEVENTWRAP', 'SIGNALWRAP', 'STATWATCHER', 'MESSAGEPORT', 'Timeout', 'Immediate']);

// Only in a test file's process (the runner sets NODE_TEST_CONTEXT there), not in the runner's.
if (process.env.NODE_TEST_CONTEXT) {
  const created = process.env.DTRUST_TEST_LEAK_STACKS === '1' ? recordCreation() : undefined;
  after(() => {
    setTimeout(() => report(created), GRACE_MS).unref();
  });
}

function recordCreation() {
  const live = new Map();
  createHook({
    init(id, type, _trigger, resource) {
      if (!HOLDING.has(type)) return;
      const where = {};
      Error.captureStackTrace(where);
      live.set(id, { type, resource, stack: where.stack.split('\n').slice(2).join('\n') });
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return live;
}

function describe(h) {
  const name = h?.constructor?.name ?? typeof h;
  if (name === 'ChildProcess') return `child process ${h.pid}: ${h.spawnargs?.join(' ')}`;
  if (name === 'Server') return `server listening on ${JSON.stringify(h.address())}`;
  if (name === 'Socket') return h.remotePort !== undefined ? `socket to ${h.remoteAddress}:${h.remotePort}` : `socket on descriptor ${h._handle?.fd}`;
  if (name === 'MessagePort') return "a MessagePort: a worker thread's, a Worker not terminated";
  if (name === 'Timeout') return `timer of ${h._idleTimeout} ms: ${h._onTimeout?.name || 'anonymous'}`;
  return name;
}

function report(created) {
  const lines = [`the event loop is still alive ${GRACE_MS / 1000} s after this file's last test and after() hook; it holds:`];
  // stdin, stdout and stderr are the runner's pipes: always there, never the reason.
  for (const h of process._getActiveHandles()) if (!(h?.constructor?.name === 'Socket' && h._handle?.fd >= 0 && h._handle.fd <= 2)) lines.push(`  ${describe(h)}`);
  for (const r of process._getActiveRequests()) lines.push(`  a pending ${r?.constructor?.name ?? 'request'}`);
  lines.push(`  (process.getActiveResourcesInfo(): ${process.getActiveResourcesInfo().join(', ') || 'nothing'}; a worker thread with no listener is not listed)`);
  if (created) {
    for (const { type, resource, stack } of created.values()) {
      if (typeof resource.hasRef === 'function' && resource.hasRef() !== true) continue;
      lines.push(`  ${type} created\n${stack}`);
    }
  } else lines.push('  DTRUST_TEST_LEAK_STACKS=1 node scripts/run-tests.mjs <this file> shows where each was created');
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(1);
}
