import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waterFill } from './water_fill.ts';

test('waterFill splits by weight and hands what a ceiling refuses to the others', () => {
  assert.deepEqual(waterFill(60, [1, 1, 2], [30, 30, 30]), [15, 15, 30]);
  assert.deepEqual(waterFill(60, [1, 1], [10, 100]), [10, 50]);
  assert.deepEqual(waterFill(30, [256, 512], [30, 30]), [10, 20]);
  assert.deepEqual(waterFill(60, [1, 1], [10, 10]), [10, 10], 'what nobody can take is left over');
  assert.deepEqual(waterFill(60, [], []), []);
  // Three rounds: the first fill saturates c, which frees enough for b to saturate too.
  assert.deepEqual(waterFill(100, [1, 2, 4], [100, 30, 20]), [50, 30, 20]);
});
