// Runs a command on a real pseudo-terminal (python3's pty module) and plays a dialogue:
// wait for each `expect` regex in the output, then type `send`. For passphrase prompt tests.
import { runProcess, type EnvMap } from '../rig/notary.js';

export interface PtyStep {
  /** A Python regular expression searched in the output after the previous match. */
  expect: string;
  /** Typed on the terminal once `expect` matched. */
  send: string;
}

export interface PtyResult {
  code: number;
  /** Everything the program wrote to the terminal (stdout and stderr, as on a real terminal). */
  output: string;
  /** Set when a step's `expect` never appeared before the timeout or the end of the output. */
  stuckAt?: string;
}

const DRIVER = String.raw`
import json, os, pty, re, select, sys, time
spec = json.loads(sys.stdin.read())
pid, fd = pty.fork()
if pid == 0:
    os.chdir(spec['cwd'])
    os.execvpe(spec['cmd'][0], spec['cmd'], spec['env'])
buf = b''
deadline = time.time() + spec['timeout']
eof = False
def more(t):
    global buf, eof
    if eof:
        return False
    r, _, _ = select.select([fd], [], [], t)
    if not r:
        return True
    try:
        d = os.read(fd, 65536)
    except OSError:
        d = b''
    if not d:
        eof = True
        return False
    buf += d
    return True
pos = 0
stuck = None
for st in spec['steps']:
    pat = re.compile(st['expect'].encode())
    while True:
        m = pat.search(buf, pos)
        if m:
            pos = m.end()
            break
        if time.time() > deadline or not more(0.1):
            stuck = st['expect']
            break
    if stuck is not None:
        break
    time.sleep(0.05)
    os.write(fd, st['send'].encode())
while time.time() < deadline and more(0.2):
    pass
if not eof:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
out = {'code': code if code >= 0 else 128 - code, 'output': buf.decode('utf-8', 'replace')}
if stuck is not None:
    out['stuckAt'] = stuck
print(json.dumps(out))
`;

export async function runOnPty(cmd: readonly string[], steps: readonly PtyStep[], opts: { env: EnvMap; cwd: string; timeoutMs?: number }): Promise<PtyResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
  const spec = { cmd, steps, env, cwd: opts.cwd, timeout: (opts.timeoutMs ?? 30_000) / 1000 };
  // The dialogue goes through stdin, not argv (it holds passphrases).
  const r = await runProcess('python3', ['-c', DRIVER], {
    input: JSON.stringify(spec),
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'] },
    timeoutMs: (opts.timeoutMs ?? 30_000) + 10_000,
  });
  if (r.code !== 0) throw new Error(`pty driver failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as PtyResult;
}
