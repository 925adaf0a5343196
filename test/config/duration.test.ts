// Durations as every dtrust flag, variable and key takes them (docs/commands/expiry.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { isConfigError } from '../../src/config/errors.js';

const H = 3_600_000;
const D = 24 * H;

test('parseDuration: units, several parts, 0', () => {
  const rows: [string, number][] = [
    ['30d', 30 * D],
    ['12h', 12 * H],
    ['90m', 90 * 60_000],
    ['45s', 45_000],
    ['2w', 14 * D],
    ['1y', 365 * D],
    ['1d12h', 36 * H],
    [' 3d ', 3 * D],
    ['0', 0],
    ['0d', 0],
  ];
  for (const [text, ms] of rows) assert.equal(parseDuration(text, '--within'), ms, text);
});

test('parseDuration: what it refuses, naming the flag, with a hint', () => {
  const rows: [string, RegExp][] = [
    ['30', /invalid duration "30" for --within: "30" has no unit/],
    ['', /invalid duration "" for --within: it is empty/],
    ['d', /"d" is not <number><unit>/],
    ['3 d', /"3 d" is not <number><unit>/],
    ['-3d', /"-3d" is not <number><unit>/],
    ["1.5d", /"1\.5d" is not <number><unit>/],
    ['3D', /"3D" is not <number><unit>/],
    ['1001y', /more than 1000 years/],
  ];
  for (const [text, re] of rows) {
    assert.throws(
      () => parseDuration(text, '--within'),
      (e: unknown) => isConfigError(e, 'BAD_DURATION') && re.test(e.message) && /30d, 12h, 90m/.test(e.hint ?? ''),
      text,
    );
  }
});

test('formatDuration: the two largest units, seconds when nothing else', () => {
  assert.equal(formatDuration(30 * D + 5 * H + 7_000), '30d 5h');
  assert.equal(formatDuration(3 * D), '3d');
  assert.equal(formatDuration(5 * H + 10 * 60_000 + 3000), '5h 10m');
  assert.equal(formatDuration(40_000), '40s');
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(-(2 * D + H)), '-2d 1h');
});
