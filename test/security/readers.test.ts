// Security matrix CC-03 through the CLI against the simulator: readers racing updaters on one
// trust directory. Each round the owner publishes a new release; then two `list` runs that
// update the cache from the server and two runs that read only the cache (their server does not
// answer, so they use the verified cache offline) start at once, with a cache-only `lookup`.
// Every run exits 0 and shows the state before the release or the one after it, never an error
// about a missing or partial file: the cache is replaced file by file with atomic renames.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { DtrustClient } from '../rig/notary.js';
import { Simulator } from '../support/simulator.js';
import { ENV, listOk, newCase, release, run, type Case } from './harness.js';

const T = { timeout: 180_000 };
const ROUNDS = 4;

let sim: Simulator;
let closedPort: number;
before(async () => {
  sim = await Simulator.start();
  closedPort = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
});
after(() => sim.close());

/** The names `list` printed (first column of its table). */
function names(stdout: string): string[] {
  return stdout
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

describe('CC-03 readers racing updaters on one trust directory', () => {
  test(`${ROUNDS} releases, each read by 2 updating and 2 cache-only lists and a lookup at once: the old or the new state, never an error`, T, async () => {
    const c: Case = await newCase(sim, 'cc03');
    await listOk(c, 'app/v1', 'rel/r1');
    const offline = await DtrustClient.create({ serverUrl: `http://127.0.0.1:${closedPort}`, home: c.client.home, trustDir: c.client.trustDir, env: ENV });
    const published = ['app/v1', 'rel/r1'];
    for (let round = 1; round <= ROUNDS; round++) {
      const old = [...published];
      const name = `app/round-${round}`;
      await release(c.repo, ['targets'], () => c.repo.addTarget(name, `content ${round}`));
      published.push(name);
      const runs = await Promise.all([
        run(c, ['list', c.gun]),
        run(c, ['list', c.gun]),
        offline.run(['list', c.gun], { timeoutMs: 60_000 }),
        offline.run(['list', c.gun], { timeoutMs: 60_000 }),
        offline.run(['lookup', c.gun, 'app/v1'], { timeoutMs: 60_000 }),
      ]);
      for (const [i, r] of runs.entries()) {
        assert.equal(r.code, 0, `round ${round}, run ${i}:\n${r.stdout}\n${r.stderr}`);
        assert.doesNotMatch(r.stderr, /fatal|ENOENT|invalid JSON|unexpected end|checksum|TypeError/, `round ${round}, run ${i}:\n${r.stderr}`);
      }
      for (const r of runs.slice(0, 4)) {
        const seen = names(r.stdout).sort();
        const ok = JSON.stringify(seen) === JSON.stringify([...old].sort()) || JSON.stringify(seen) === JSON.stringify([...published].sort());
        assert.ok(ok, `round ${round}: the old or the new state, got ${seen.join(' ')}`);
      }
      for (const r of runs.slice(4)) assert.match(r.stdout, /^app\/v1 sha256:[0-9a-f]{64} \d+\n$/);
    }
    // The cache the races left verifies: offline, every release is there.
    const last = await offline.run(['list', c.gun], { timeoutMs: 60_000 });
    assert.equal(last.code, 0, last.stderr);
    assert.deepEqual(names(last.stdout).sort(), [...published].sort());
  });
});
