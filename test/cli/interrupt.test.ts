// Interruptions (issue 18 item 2): Ctrl-C or SIGTERM releases the GUN lock, removes the temp
// files of writes in flight and prints one line saying what state things are in; Ctrl-C at a
// passphrase prompt gives the terminal back as it was, on a new line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DTRUST_BIN, DtrustClient, baseEnv } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { tempDir } from '../rig/tmp.js';
import { runOnPty } from './key-pty-driver.js';
import { interruptedLine } from '../../src/cli/interrupt.js';

const ENV = { DTRUST_KDF_ITERATIONS: '2048' };
const server = useNotaryServer();

function tempsUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.tmp')) out.push(join(d, e.name));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

function start(c: DtrustClient, args: string[], url = c.serverUrl) {
  const child = spawn(process.execPath, [DTRUST_BIN, '-s', url, '-d', c.trustDir, ...args], {
    cwd: c.home,
    env: { ...baseEnv(c.home), ...ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

async function stage(c: DtrustClient, gun: string, names: string[]): Promise<void> {
  for (const n of names) {
    const f = join(c.home, `${n}.bin`);
    await writeFile(f, `${n}\n`);
    const r = await c.run(['add', gun, n, f]);
    assert.equal(r.code, 0, r.stderr);
  }
}

test('SIGINT and SIGTERM while waiting for the server: lock released, one line, 130/143', async () => {
  // A server that accepts and never answers: the command is inside the lock, at the network.
  const sockets: Socket[] = [];
  let connected: () => void = () => undefined;
  const hang = createServer((s) => {
    sockets.push(s);
    connected();
  });
  await new Promise<void>((ok) => hang.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
  try {
    const c = await DtrustClient.create({ serverUrl: url, env: ENV });
    const gun = 'example.com/interrupted';
    await stage(c, gun, ['a', 'b', 'c']);
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const reached = new Promise<void>((ok) => (connected = ok));
      const p = start(c, ['publish', gun]);
      await reached;
      assert.ok(existsSync(join(c.trustDir, 'tuf', gun, '.dtrust.lock')), 'the lock is held while publishing');
      p.child.kill(signal);
      const r = await p.exited;
      assert.equal(r.code, code, r.stderr);
      assert.equal(r.stderr, 'interrupted: nothing was published; your 3 staged changes are kept\n');
      assert.ok(!existsSync(join(c.trustDir, 'tuf', gun, '.dtrust.lock')), 'the lock was released');
      assert.deepEqual(tempsUnder(c.trustDir), []);
    }
    const st = await c.run(['status', gun]);
    assert.match(st.stdout, /^Unpublished changes for example\.com\/interrupted:/);
  } finally {
    for (const s of sockets) s.destroy();
    hang.close();
  }
});

test('signals at many moments of a publish: no lock, no temp file, a known line, and the next publish converges', async () => {
  const c = await DtrustClient.create({ serverUrl: server().url, env: ENV });
  const gun = `example.com/many-${process.pid}`;
  const init = await c.run(['init', gun]);
  assert.equal(init.code, 0, init.stderr);
  const lines = [
    /^interrupted: nothing was published; your 3 staged changes are kept$/,
    new RegExp(`^interrupted: the upload was sent and the server may or may not have applied it; your 3 staged changes are kept \\(run dtrust publish ${gun.replace(/\./g, '\\.')} again\\)$`),
    // Once the server took the upload, publish removes the change files one by one: a signal
    // during that leaves fewer (published) changes, which the next publish applies again.
    new RegExp(`^interrupted: the changes were published; your ([23] staged changes are|1 staged change is) kept until dtrust publish ${gun.replace(/\./g, '\\.')} clears them$`),
    /^interrupted: the changes were published; nothing is left staged$/,
  ];
  let n = 0;
  for (const delay of [20, 60, 100, 140, 180, 220, 260, 300, 360, 420]) {
    await stage(c, gun, [`t${n++}`, `t${n++}`, `t${n++}`]);
    const p = start(c, ['publish', gun]);
    await new Promise((ok) => setTimeout(ok, delay));
    p.child.kill(delay % 40 === 0 ? 'SIGTERM' : 'SIGINT');
    const r = await p.exited;
    if (r.code === 130 || r.code === 143) {
      const last = r.stderr.trimEnd().split('\n').pop()!;
      assert.ok(lines.some((re) => re.test(last)), `${delay} ms: ${r.stderr}`);
    } else {
      // Finished first, or killed before the handlers were installed.
      assert.ok(r.code === 0 || r.signal !== null, `${delay} ms: ${r.code} ${r.signal} ${r.stderr}`);
    }
    assert.ok(!existsSync(join(c.trustDir, 'tuf', gun, '.dtrust.lock')), `${delay} ms: lock left`);
    assert.deepEqual(tempsUnder(c.trustDir), [], `${delay} ms`);
    const pub = await c.run(['publish', gun]);
    assert.equal(pub.code, 0, `${delay} ms: ${pub.stderr}`);
  }
  const list = await c.run(['list', gun]);
  assert.equal(list.stdout.split('\n').filter((l) => /^t\d+ /.test(l)).length, n);
});

test('pty: Ctrl-C at a passphrase prompt restores the terminal, on a new line', async () => {
  const home = await tempDir('interrupt-pty-');
  const dtrust = `${process.execPath} ${DTRUST_BIN} -d ${join(home, 'trust')}`;
  const r = await runOnPty(['sh', '-c', `${dtrust} key generate -r targets/x; echo "exit=$?"; stty -a`], [
    { expect: 'Enter passphrase for new targets/x key with ID [0-9a-f]{7}: ', send: '\x03' },
    { expect: 'exit=130', send: '' },
  ], { env: { PATH: process.env['PATH'], HOME: home, TERM: 'dumb', ...ENV }, cwd: home });
  assert.equal(r.stuckAt, undefined, r.output);
  assert.match(r.output, /key with ID [0-9a-f]{7}: \r\ninterrupted: files being written were removed; nothing is half-written\r\nexit=130\r\n/);
  // The terminal is back in its normal mode: echo and line editing on.
  assert.match(r.output, /(^|\s)echo(\s|$)/m);
  assert.match(r.output, /(^|\s)icanon(\s|$)/m);
  assert.deepEqual(readdirSync(home).filter((n) => n.endsWith('.tmp')), []);
});

test('the line for each state: after the server took the upload, the cleared changelist is not "0 staged changes kept"', () => {
  const repo = (staged: number) => ({ gun: 'example.com/app', staged });
  assert.equal(interruptedLine('dtrust', repo(3), 'none'), 'interrupted: nothing was published; your 3 staged changes are kept');
  assert.equal(interruptedLine('dtrust', repo(1), 'sending'), 'interrupted: the upload was sent and the server may or may not have applied it; your 1 staged change is kept (run dtrust publish example.com/app again)');
  assert.equal(interruptedLine('dtrust', repo(3), 'sent'), 'interrupted: the changes were published; your 3 staged changes are kept until dtrust publish example.com/app clears them');
  assert.equal(interruptedLine('dtrust', repo(0), 'sent'), 'interrupted: the changes were published; nothing is left staged');
  assert.equal(interruptedLine('notary', undefined, 'none'), 'interrupted: files being written were removed; nothing is half-written');
});
