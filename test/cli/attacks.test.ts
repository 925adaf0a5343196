import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { DtrustClient } from '../rig/notary.js';
import { MemRepo, ecdsaKey } from '../support/memrepo.js';
import { Simulator } from '../support/simulator.js';

let sim: Simulator;
after(() => sim?.close());

test('baseline', async () => {
  const repo = await MemRepo.create('example.com/base', Date.now());
  repo.addTarget('app/v1', 'v1');
  repo.delegate('targets', 'targets/releases', [ecdsaKey()], ['rel/']);
  repo.addTarget('rel/r1', 'r1', 'targets/releases');
  await repo.sign();
  sim = await Simulator.start(repo);
  const c = await DtrustClient.create({ serverUrl: sim.url, env: { DTRUST_KDF_ITERATIONS: '2048' } });
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = await c.run(['list', 'example.com/base']);
    console.log(performance.now() - t0, r.code, r.stdout, r.stderr);
  }
  console.log([...sim.counts]);
});
