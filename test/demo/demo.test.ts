// The demo (issue 18 item 6): commands printed as a user types them (server, trust directory,
// passphrase variables), where its temporary files are and that they are removed, the next step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runProcess } from '../rig/notary.js';

test('the demo prints repeatable commands, its temporary files, and the next step', async () => {
  const r = await runProcess(process.execPath, [join(REPO_ROOT, 'build', 'demo', 'main.js')], { cwd: REPO_ROOT, env: { PATH: process.env['PATH'], HOME: process.env['HOME'] }, timeoutMs: 180_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = r.stdout.split('\n');
  const temp = lines.find((l) => l.startsWith('Temporary files'))!;
  const m = /^Temporary files \(removed when the demo ends\): the artifact in (\S+), dtrust's trust directory (\S+), notary's (\S+)\.$/.exec(temp);
  assert.ok(m, temp);
  for (const dir of m.slice(1)) assert.ok(!existsSync(dir), `${dir} was removed`);
  const url = /^notary-server running at (http:\/\/127\.0\.0\.1:\d+) \(pid \d+\)$/m.exec(r.stdout)![1]!;
  for (const v of ['NOTARY_ROOT_PASSPHRASE', 'NOTARY_TARGETS_PASSPHRASE', 'NOTARY_SNAPSHOT_PASSPHRASE', 'NOTARY_DELEGATION_PASSPHRASE']) {
    assert.ok(lines.includes(`$ export ${v}=rig-passphrase-0123456789`), v);
  }
  const commands = lines.filter((l) => l.startsWith('$ ') && !l.startsWith('$ export '));
  assert.equal(commands.length, 7);
  for (const c of commands) {
    const tool = c.startsWith('$ notary ') ? 'notary' : 'bin/dtrust';
    const dir = tool === 'notary' ? m[3] : m[2];
    assert.ok(c.startsWith(`$ ${tool} -s ${url} -d ${dir} `), c);
  }
  assert.equal(commands[0], `$ bin/dtrust -s ${url} -d ${m[2]} init example.com/quickstart --publish`);
  assert.ok(
    r.stdout.endsWith(
      [
        'The whole flow ran against a real notary-server; the real notary client verified what dtrust signed.',
        'The server is stopped and the temporary files are removed as the demo exits.',
        '',
        'Next:',
        '  install dtrust            see "Install" in README.md (npm pack, then npm install -g ./dtrust-0.1.0.tgz)',
        '  use it where notary was   ln -s "$(command -v dtrust)" ~/bin/notary   (notary\'s defaults: ~/.notary)',
        '  your own repositories     docs/workflows.md (server, keys, delegations, CI)',
        '  shell completion          source <(dtrust completion bash)',
        '',
      ].join('\n'),
    ),
    r.stdout,
  );
});
