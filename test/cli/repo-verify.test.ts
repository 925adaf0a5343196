// `verify` against the real notary client and server: -i/-o/-q and stdin, notary's error messages,
// the length check notary skips (cli.md §12 #21), and a 100 MB payload streamed with bounded
// memory (peak RSS of the dtrust process, from /proc/<pid>/status VmHWM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, createReadStream, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { DTRUST_BIN, baseEnv, killAfter } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { FAST_KDF, clients, fails, fatal, file, ok } from './repo-helpers.js';

const server = useNotaryServer();
const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

test('verify: stdin, -i, -o, -q; notary\'s messages for a missing input, an unknown target, wrong content', async () => {
  const url = server().url;
  const { home, notary, dtrust } = await clients(url, { prefix: 'repo-verify-' });
  const gun = 'example.com/verify/small';
  const content = 'payload\n';
  const f = file(home, 'payload.txt', content);
  const d = async (...args: string[]) => ok('dtrust', args, await dtrust.run(args));
  await d('init', gun);
  await d('add', gun, 'v1', f);
  // Right hash, wrong length: notary ignores the length, dtrust does not (cli.md §12 #21).
  await d('addhash', gun, 'long', String(content.length + 1), '--sha256', sha256(content));
  await d('publish', gun);

  assert.equal(ok('dtrust', ['verify'], await dtrust.run(['verify', gun, 'v1'], { input: content })).stdout, content);
  assert.equal((await d('verify', gun, 'v1', '-i', f)).stdout, content);
  assert.equal((await d('verify', gun, 'v1', '-i', f, '-q')).stdout, '');
  assert.equal(ok('dtrust', ['verify'], await dtrust.run(['verify', gun, 'v1', '--quiet'], { input: content })).stdout, '');
  const out = join(home, 'out.bin');
  assert.equal((await d('verify', gun, 'v1', '--input', f, '--output', out)).stdout, '');
  assert.equal(readFileSync(out, 'utf8'), content);
  assert.equal(statSync(out).mode & 0o777, 0o600);

  // Errors: same message as notary (dtrust: stderr, notary: stdout), exit 1, nothing on stdout.
  const same = async (args: string[], input?: string): Promise<string> => {
    const n = fails('notary', args, await notary.run(args, { input, cwd: home }));
    const r = fails('dtrust', args, await dtrust.run(args, { input, cwd: home }));
    assert.equal(r.stdout, '', args.join(' '));
    assert.equal(fatal(r.stderr), fatal(n.stdout), args.join(' '));
    return fatal(r.stderr);
  };
  assert.equal(await same(['verify', gun, 'v1', '-i', 'no-such-file']), 'open no-such-file: no such file or directory');
  assert.equal(await same(['verify', gun, 'nope', '-i', f]), 'error retrieving target by name:nope, error:No valid trust data for nope');
  assert.equal(await same(['verify', gun, 'v1', '-i', f, '-o', join(home, 'missing-dir', 'out')]), `open ${join(home, 'missing-dir', 'out')}: no such file or directory`);
  // The spool (dtrust only; stdin, and files other users may write): a TMPDIR it cannot use is
  // named as such, not as the input's fault. A file only its owner may write needs no spool.
  const noTmp = join(home, 'no-tmp');
  const shared = file(home, 'shared.txt', content);
  chmodSync(shared, 0o666);
  assert.equal(ok('dtrust', ['verify'], await dtrust.run(['verify', gun, 'v1', '-i', f, '-o', out], { env: { TMPDIR: noTmp } })).stdout, '', 'no spool needed');
  for (const [args, input] of [[['verify', gun, 'v1', '-i', shared], undefined], [['verify', gun, 'v1'], content]] as const) {
    const r = fails('dtrust', [...args], await dtrust.run(args, { input, env: { TMPDIR: noTmp } }));
    assert.equal(r.stdout, '');
    assert.equal(fatal(r.stderr), `cannot spool the content to ${noTmp}: ENOENT`);
    assert.match(r.stderr, /hint: verify spools the content to \$TMPDIR/);
  }
  assert.equal((await dtrust.run(['verify', gun, 'v1', '-i', f, '-q'], { env: { TMPDIR: noTmp } })).code, 0, '-q needs no spool');
  // Wrong content: notary names sha256 or sha512 (map order); dtrust always sha256 first.
  const wrong = fails('dtrust', ['verify'], await dtrust.run(['verify', gun, 'v1'], { input: 'tampered\n' }));
  assert.equal(wrong.stdout, '');
  assert.equal(fatal(wrong.stderr), `data not present in the trusted collection, sha256 checksum for v1 did not match: expected ${sha256(content)}`);
  assert.match(wrong.stderr, /\n {2}hint: /);
  const nWrong = fails('notary', ['verify'], await notary.run(['verify', gun, 'v1'], { input: 'tampered\n' }));
  assert.match(fatal(nWrong.stdout), /^data not present in the trusted collection, sha(256|512) checksum for v1 did not match: expected [0-9a-f]+$/);

  // The length: notary accepts content whose hash matches a target of another length; dtrust not.
  assert.equal(ok('notary', ['verify'], await notary.run(['verify', gun, 'long'], { input: content })).stdout, content);
  const long = fails('dtrust', ['verify'], await dtrust.run(['verify', gun, 'long'], { input: content }));
  assert.equal(long.stdout, '');
  assert.equal(fatal(long.stderr), `data not present in the trusted collection, length for long did not match: expected ${content.length + 1}, got ${content.length}`);
});

// ---------------------------------------------------------------------------------------------
// Every hash and the length, on both sides of the payload ring (8 MiB: sha512 inline below it, in
// a worker thread above it); nothing is written on a failure; the stdin spool is removed.

interface Raw {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** dtrust with stdin from a buffer (a pipe) or an open file descriptor; stdout kept as bytes. */
async function raw(args: string[], home: string, stdin: Buffer | number, env: Record<string, string> = {}): Promise<Raw> {
  const child = spawn(process.execPath, [DTRUST_BIN, ...args], {
    env: { ...baseEnv(home), ...FAST_KDF, ...env },
    cwd: home,
    stdio: [typeof stdin === 'number' ? stdin : 'pipe', 'pipe', 'pipe'],
  });
  killAfter(child);
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  if (typeof stdin !== 'number') {
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(stdin);
  }
  const [code] = (await once(child, 'close')) as [number | null];
  return { code: code ?? 1, stdout: Buffer.concat(out), stderr };
}

test('verify: a mismatch in sha512 alone or in the length is refused and writes nothing; success writes the bytes unchanged', { timeout: 120_000 }, async () => {
  const url = server().url;
  const { home, notary, dtrust } = await clients(url, { prefix: 'repo-verify-all-' });
  const gun = 'example.com/verify/all';
  const spools = join(home, 'spools');
  mkdirSync(spools);
  const g = ['-s', url, '-d', dtrust.trustDir];
  const env = { TMPDIR: spools };
  const d = async (...args: string[]) => ok('dtrust', args, await dtrust.run(args));
  await d('init', gun);
  const sizes = { small: 8, ring: 8 * 1024 * 1024, large: 9 * 1024 * 1024 + 1 };
  const wrong512 = createHash('sha512').update('not the payload').digest('hex');
  const data = new Map<string, { bytes: Buffer; path: string }>();
  for (const [name, size] of Object.entries(sizes)) {
    const bytes = randomBytes(size);
    const path = file(home, `${name}.bin`, bytes);
    data.set(name, { bytes, path });
    await d('add', gun, name, path);
    // The right sha256 and length with a wrong sha512; the right hashes with a wrong length.
    await d('addhash', gun, `${name}-512`, String(size), '--sha256', sha256(bytes), '--sha512', wrong512);
    await d('addhash', gun, `${name}-len`, String(size + 1), '--sha256', sha256(bytes), '--sha512', createHash('sha512').update(bytes).digest('hex'));
  }
  await d('publish', gun);

  for (const [name, size] of Object.entries(sizes)) {
    const { bytes, path } = data.get(name)!;
    // Success: stdin (pipe), stdin (a regular file), -i to stdout, -i to -o: the same bytes.
    const piped = await raw([...g, 'verify', gun, name], home, bytes, env);
    assert.equal(piped.code, 0, piped.stderr);
    assert.ok(piped.stdout.equals(bytes), `${name}: stdin (pipe) to stdout unchanged`);
    const fd = openSync(path, 'r');
    try {
      const fromFile = await raw([...g, 'verify', gun, name], home, fd, env);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.ok(fromFile.stdout.equals(bytes), `${name}: stdin (a file) to stdout unchanged`);
    } finally {
      closeSync(fd);
    }
    const viaI = await raw([...g, 'verify', gun, name, '-i', path], home, Buffer.alloc(0));
    assert.equal(viaI.code, 0, viaI.stderr);
    assert.ok(viaI.stdout.equals(bytes), `${name}: -i to stdout unchanged`);
    const out = join(home, `${name}.out`);
    ok('dtrust', ['verify'], await dtrust.run(['verify', gun, name, '-i', path, '-o', out]));
    assert.ok(readFileSync(out).equals(bytes), `${name}: -i to -o unchanged`);

    // Refused: nothing on stdout, an existing -o file left as it was, notary's message.
    for (const [target, msg] of [
      [`${name}-512`, `data not present in the trusted collection, sha512 checksum for ${name}-512 did not match: expected ${wrong512}`],
      [`${name}-len`, `data not present in the trusted collection, length for ${name}-len did not match: expected ${size + 1}, got ${size}`],
    ] as const) {
      const viaStdin = await raw([...g, 'verify', gun, target], home, bytes, env);
      assert.equal(viaStdin.code, 1, `${target}: stdin refused`);
      assert.equal(viaStdin.stdout.length, 0, `${target}: nothing written to stdout`);
      assert.equal(fatal(viaStdin.stderr), msg);
      const kept = file(home, 'kept.out', 'kept');
      const viaFile = await raw([...g, 'verify', gun, target, '-i', path, '-o', kept], home, Buffer.alloc(0));
      assert.equal(viaFile.code, 1, `${target}: -i refused`);
      assert.equal(fatal(viaFile.stderr), msg);
      assert.equal(readFileSync(kept, 'utf8'), 'kept', `${target}: -o file untouched`);
      const absent = join(home, 'absent.out');
      assert.equal((await raw([...g, 'verify', gun, target, '-i', path, '-o', absent], home, Buffer.alloc(0))).code, 1);
      assert.equal(existsSync(absent), false, `${target}: no -o file created`);
    }
    // notary refuses the sha512 mismatch with the same words (it does not check the length).
    if (name === 'small') {
      const n = fails('notary', ['verify'], await notary.run(['verify', gun, `${name}-512`], { input: bytes }));
      assert.equal(fatal(n.stdout), `data not present in the trusted collection, sha512 checksum for ${name}-512 did not match: expected ${wrong512}`);
    }
  }
  assert.deepEqual(readdirSync(spools), [], 'every stdin spool was removed');

  // Stdin is read from its current offset, as notary reads it.
  const { bytes, path } = data.get('large')!;
  await d('add', gun, 'tail', file(home, 'tail.bin', bytes.subarray(5)), '-p');
  const fd = openSync(path, 'r');
  try {
    readSync(fd, Buffer.alloc(5), 0, 5, null);
    const tail = await raw([...g, 'verify', gun, 'tail'], home, fd, env);
    assert.equal(tail.code, 0, tail.stderr);
    assert.ok(tail.stdout.equals(bytes.subarray(5)));
  } finally {
    closeSync(fd);
  }
});

// ---------------------------------------------------------------------------------------------
// A non-blocking stdin: on EAGAIN the rest comes through process.stdin, which must not outlive
// the command when the spool fails.

/** True once process `pid` has its fd 0 in an epoll set: node reads stdin through its stream. */
function pollsStdin(pid: number): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return false; // exited
  }
  for (const fd of fds) {
    try {
      if (/^tfd:\s+0 /m.test(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

test('verify from a non-blocking stdin whose writer stays open: a spool that fails ends the process', { timeout: 120_000 }, async () => {
  const url = server().url;
  const { home, dtrust } = await clients(url, { prefix: 'repo-verify-nonblock-' });
  // bash: spool writes past 1 MiB fail (EFBIG); perl: stdin non-blocking, as a parent may leave it.
  const wrapper = `ulimit -f 1024 && exec perl -MFcntl -e 'fcntl(STDIN, F_SETFL, fcntl(STDIN, F_GETFL, 0) | O_NONBLOCK) or die "fcntl: $!"; exec @ARGV or die "exec: $!"' -- "$@"`;
  const args = ['-s', url, '-d', dtrust.trustDir, 'verify', 'example.com/verify/nonblocking', 'v1'];
  const spools = join(home, 'spools');
  mkdirSync(spools);
  const child = spawn('bash', ['-c', wrapper, 'bash', process.execPath, DTRUST_BIN, ...args], {
    env: { ...baseEnv(home), ...FAST_KDF, TMPDIR: spools },
    cwd: home,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  killAfter(child);
  const exited = once(child, 'exit') as Promise<[number | null]>;
  let stderr = '';
  let reported!: () => void;
  const failed = new Promise<void>((r) => (reported = r));
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
    if (stderr.includes('\n')) reported();
  });
  child.stdin.on('error', () => undefined);
  let running = true;
  void exited.then(() => (running = false));
  try {
    // Nothing is written until dtrust reads stdin through its stream: its first read found the
    // pipe empty (EAGAIN). Then one ring slot (2 MiB): its spool write fails, the pipe is empty
    // again and its writer (this test) stays open.
    while (running && !pollsStdin(child.pid!)) await new Promise((r) => setTimeout(r, 10));
    assert.ok(running, `dtrust exited before it read stdin through its stream: ${stderr}`);
    child.stdin.write(randomBytes(2 * 1024 * 1024));
    await failed;
    // Bounded: before the fix the process stayed alive, reading stdin, until its writer closed it.
    const code = await Promise.race([exited.then(([c]) => c), new Promise<'alive'>((r) => setTimeout(() => r('alive'), 20_000).unref())]);
    assert.notEqual(code, 'alive', `dtrust still running 20 s after it reported: ${stderr}`);
    assert.equal(code, 1);
    assert.equal(fatal(stderr), `cannot spool the content to ${spools}: EFBIG`);
  } finally {
    child.stdin.destroy();
  }
});

// ---------------------------------------------------------------------------------------------
// 100 MB through dtrust with bounded memory.

const BIG = 100 * 1024 * 1024;
const RSS_LIMIT_KIB = 150 * 1024;

interface Measured {
  code: number;
  stderr: string;
  stdoutSha256: string;
  stdoutBytes: number;
  peakKiB: number;
}

function vmHwmKiB(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined; // exited
  }
}

/** Runs dtrust with stdin from a file (or closed), hashing stdout as it streams, polling VmHWM. */
async function measured(args: string[], home: string, stdinFile?: string): Promise<Measured> {
  const child = spawn(process.execPath, [DTRUST_BIN, ...args], {
    env: { ...baseEnv(home), ...FAST_KDF },
    cwd: home,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  killAfter(child);
  let peakKiB = 0;
  const poll = setInterval(() => {
    const v = vmHwmKiB(child.pid!);
    if (v !== undefined && v > peakKiB) peakKiB = v;
  }, 10);
  const hash = createHash('sha256');
  let stdoutBytes = 0;
  child.stdout.on('data', (c: Buffer) => {
    hash.update(c);
    stdoutBytes += c.length;
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  child.stdin.on('error', () => undefined);
  if (stdinFile) createReadStream(stdinFile).pipe(child.stdin);
  else child.stdin.end();
  const [code] = (await once(child, 'close')) as [number | null];
  clearInterval(poll);
  return { code: code ?? 1, stderr, stdoutSha256: hash.digest('hex'), stdoutBytes, peakKiB };
}

test('verify streams a 100 MB payload (stdin and -i/-o) with peak RSS under 150 MiB; add hashes it likewise', { timeout: 120_000 }, async (t) => {
  const url = server().url;
  const { home, notary, dtrust } = await clients(url, { prefix: 'repo-verify-big-' });
  const gun = 'example.com/verify/big';
  const big = join(home, 'big.bin');
  // 100 MiB of random data, written in 1 MiB chunks.
  const h = createHash('sha256');
  const ws = createWriteStream(big);
  for (let i = 0; i < BIG / (1024 * 1024); i++) {
    const chunk = randomBytes(1024 * 1024);
    h.update(chunk);
    if (!ws.write(chunk)) await once(ws, 'drain');
  }
  ws.end();
  await once(ws, 'finish');
  const digest = h.digest('hex');

  ok('dtrust', ['init'], await dtrust.run(['init', gun]));
  const g = ['-s', url, '-d', dtrust.trustDir];
  const add = await measured([...g, 'add', gun, 'big', big, '-p'], home);
  assert.equal(add.code, 0, add.stderr);
  assert.ok(add.peakKiB > 0, 'VmHWM was read');
  assert.ok(add.peakKiB < RSS_LIMIT_KIB, `add: peak RSS ${add.peakKiB} KiB`);
  const lk = ok('notary', ['lookup'], await notary.run(['lookup', gun, 'big']));
  assert.equal(lk.stdout, `big sha256:${digest} ${BIG}\n`, 'notary sees the hash and size dtrust computed');

  const viaStdin = await measured([...g, 'verify', gun, 'big'], home, big);
  assert.equal(viaStdin.code, 0, viaStdin.stderr);
  assert.equal(viaStdin.stdoutBytes, BIG);
  assert.equal(viaStdin.stdoutSha256, digest, 'the payload is written out unchanged');
  assert.ok(viaStdin.peakKiB < RSS_LIMIT_KIB, `verify (stdin): peak RSS ${viaStdin.peakKiB} KiB`);

  const out = join(home, 'big.out');
  const viaFile = await measured([...g, 'verify', gun, 'big', '-i', big, '-o', out], home);
  assert.equal(viaFile.code, 0, viaFile.stderr);
  assert.equal(viaFile.stdoutBytes, 0);
  assert.ok(viaFile.peakKiB < RSS_LIMIT_KIB, `verify (-i/-o): peak RSS ${viaFile.peakKiB} KiB`);
  assert.equal(statSync(out).size, BIG);
  const oh = createHash('sha256');
  for await (const c of createReadStream(out)) oh.update(c as Buffer);
  assert.equal(oh.digest('hex'), digest);

  // Wrong content of the same size: refused, nothing written to stdout.
  const flipped = join(home, 'flipped.bin');
  await copyFile(big, flipped);
  const fh = await open(flipped, 'r+');
  const last = Buffer.alloc(1);
  await fh.read(last, 0, 1, BIG - 1);
  last[0] = last[0]! ^ 1;
  await fh.write(last, 0, 1, BIG - 1);
  await fh.close();
  const bad = await measured([...g, 'verify', gun, 'big'], home, flipped);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdoutBytes, 0);
  assert.equal(fatal(bad.stderr), `data not present in the trusted collection, sha256 checksum for big did not match: expected ${digest}`);
  assert.ok(bad.peakKiB < RSS_LIMIT_KIB, `verify (wrong): peak RSS ${bad.peakKiB} KiB`);
  t.diagnostic(`peak RSS (KiB): add ${add.peakKiB}, verify stdin ${viaStdin.peakKiB}, verify -i/-o ${viaFile.peakKiB}, verify wrong ${bad.peakKiB}`);
});
