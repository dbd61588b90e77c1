import assert from "node:assert/strict";
import { Budget } from "./budget.ts";

Deno.test("Budget - never more slots out than it has; waiters served in order", async () => {
  for (const slots of [1, 2, 3, 5]) {
    const budget = new Budget(slots);
    let out = 0;
    let most = 0;
    const served: number[] = [];
    // Twenty takers, each holding its slot for a pseudo-random number of turns.
    await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      await budget.take();
      served.push(i);
      out++;
      most = Math.max(most, out);
      for (let t = 0; t < (i * 7) % 5; t++) await Promise.resolve();
      out--;
      budget.give();
    }));
    assert.equal(most, slots);
    assert.deepEqual(served, Array.from({ length: 20 }, (_, i) => i));
  }
});

Deno.test("Budget - a slot given back while others wait goes to the first of them", async () => {
  const budget = new Budget(1);
  await budget.take();
  const order: string[] = [];
  const a = budget.take().then(() => order.push("a"));
  const b = budget.take().then(() => order.push("b"));
  budget.give();
  await a;
  assert.deepEqual(order, ["a"]);
  // A newcomer does not jump the queue while b waits, even with a slot just given back.
  budget.give();
  const c = budget.take().then(() => order.push("c"));
  await b;
  budget.give();
  await c;
  assert.deepEqual(order, ["a", "b", "c"]);
});

Deno.test("Budget - tryTake takes only a free slot nobody waits for", async () => {
  const budget = new Budget(2);
  assert.equal(budget.tryTake(), true);
  await budget.take();
  assert.equal(budget.tryTake(), false);
  const waiter = budget.take();
  budget.give();
  await waiter;
  budget.give();
  assert.equal(budget.tryTake(), true);
  assert.equal(budget.tryTake(), false);
});
