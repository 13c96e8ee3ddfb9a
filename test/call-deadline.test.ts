// A paid call's own deadline (lib/resilience/callDeadline.ts): the configured timeout until a few
// calls were seen, then sized from the slowest recent call and the call's size, never above the
// configured timeout; a call that reached its deadline gives the next ones more room.
import test from 'ava';
import { latencyMemory } from '../lib/resilience/callDeadline.ts';

test('the configured timeout until five calls were seen; then 10 s for calls that take 400 ms', (t) => {
  const memory = latencyMemory();
  for (let i = 0; i < 4; i++) memory.observe(400, 1000);
  t.is(memory.deadlineMs(1000, 60_000), 60_000);
  memory.observe(400, 1000);
  t.is(memory.deadlineMs(1000, 60_000), 10_000, 'at least 10 s');
  t.is(memory.deadlineMs(100, 60_000), 10_000);
});

test('sized by the call: a call larger than any seen gets room in proportion; never above the configured timeout', (t) => {
  const memory = latencyMemory();
  for (let i = 0; i < 5; i++) memory.observe(2000, 1000);
  t.is(memory.deadlineMs(1000, 60_000), 4 * 2000 + 2000);
  t.is(memory.deadlineMs(4000, 60_000), 4 * 8000 + 2000);
  t.is(memory.deadlineMs(100_000, 60_000), 60_000);
});

test('a call that reached its deadline doubles the room of the next ones, up to the configured timeout', (t) => {
  const memory = latencyMemory();
  for (let i = 0; i < 5; i++) memory.observe(400, 1000);
  const first = memory.deadlineMs(1000, 60_000);
  memory.timedOut(first, 1000);
  const second = memory.deadlineMs(1000, 60_000);
  t.true(second >= 2 * first, `${first} -> ${second}`);
  memory.timedOut(second, 1000);
  memory.timedOut(memory.deadlineMs(1000, 60_000), 1000);
  t.is(memory.deadlineMs(1000, 60_000), 60_000);
});
