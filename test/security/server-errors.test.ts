// Security matrix NF-02 and NF-03 per role, through the CLI against the simulator: after a new
// release, the server answers one role's file with a 404 or a 503 (every retry too). The read
// exits 1 naming the role and the status, shows nothing, and leaves the trust directory as it
// was; a publish meets the same and uploads nothing, its change kept. The timestamp (its cached
// copy is used, with a warning) and the root on first contact are in test/cli/faults.test.ts
// and test/cli/repo-interop.test.ts against the real notary-server.
import { after, before, describe, test } from 'node:test';
import { Simulator } from '../support/simulator.js';
import { assertRefusedEverywhere, escapeRe, listOk, newCase, release, type Case } from './harness.js';

const T = { timeout: 120_000 };

let sim: Simulator;
before(async () => {
  sim = await Simulator.start();
});
after(() => sim.close());

async function trusted(): Promise<Case> {
  const c = await newCase(sim, 'nf02');
  await listOk(c, 'app/v1', 'rel/r1');
  return c;
}

describe('NF-02, NF-03 a role the server cannot serve', () => {
  for (const role of ['snapshot', 'targets', 'targets/releases']) {
    for (const status of [404, 503]) {
      test(`${status} on ${role} after a new release: exit 1 naming ${role} and the status; nothing cached, nothing uploaded`, T, async () => {
        const c = await trusted();
        const { repo } = c;
        const roleFile = role === 'snapshot' ? 'targets' : role;
        await release(repo, [roleFile], () => repo.addTarget(role === 'targets/releases' ? 'rel/evil' : 'evil', 'x', roleFile));
        const body = status === 404 ? '{"errors":[{"code":"METADATA_NOT_FOUND","message":"not found"}]}' : 'unavailable';
        sim.hook = (req, res) => (req.role === role && (req.kind === 'current' || req.kind === 'checksum') ? { ...res, status, body: Buffer.from(body) } : undefined);
        const file = `${escapeRe(role)}(\\.[0-9a-f]{64})?`;
        const refused =
          status === 404
            ? new RegExp(`^\\* fatal: ${file} trust data unavailable\\.  Has a notary repository been initialized\\?$`, 'm')
            : new RegExp(`^\\* fatal: unable to reach trust server at this time: 503\\.\\n  hint: the server answered 503 for ${file}; try again later`, 'm');
        try {
          await assertRefusedEverywhere(sim, c, refused);
        } finally {
          sim.hook = undefined;
        }
      });
    }
  }
});
