import assert from "node:assert/strict";
import { READ_BUFFER_BYTES, ReadBufferPool } from "./read_buffers.ts";

Deno.test("ReadBufferPool - a released buffer is lent again; one still leased never is", () => {
  const pool = new ReadBufferPool(2);
  const first = pool.lease();
  const a = first.take(1000);
  const b = pool.lease().take(1000);
  assert.notEqual(a.buffer, b.buffer);
  assert.equal(a.length, 1000);
  first.release();
  assert.equal(pool.lease().take(READ_BUFFER_BYTES).buffer, a.buffer);
});

Deno.test("ReadBufferPool - reads larger than a pooled buffer get memory of their own", () => {
  const pool = new ReadBufferPool(2);
  const lease = pool.lease();
  const big = lease.take(READ_BUFFER_BYTES + 1);
  assert.equal(big.length, READ_BUFFER_BYTES + 1);
  lease.release();
  assert.notEqual(pool.lease().take(10).buffer, big.buffer);
});

Deno.test("ReadBufferPool - reads of one lease share a buffer while they fit, never overlapping", () => {
  const pool = new ReadBufferPool(2);
  const lease = pool.lease();
  const a = lease.take(1000);
  const b = lease.take(READ_BUFFER_BYTES - 1000);
  assert.equal(a.buffer, b.buffer);
  assert.equal(b.byteOffset, a.byteOffset + a.length);
  const c = lease.take(1);
  assert.notEqual(c.buffer, a.buffer);
  a.fill(1);
  b.fill(2);
  c.fill(3);
  assert.ok(a.every((x) => x === 1) && b.every((x) => x === 2));
});

Deno.test("ReadBufferPool - keeps at most idleMax buffers between leases", () => {
  const pool = new ReadBufferPool(1);
  const lease = pool.lease();
  const kept = [1, 2, 3].map(() => lease.take(READ_BUFFER_BYTES).buffer);
  lease.release();
  const again = pool.lease();
  const lent = [again.take(READ_BUFFER_BYTES).buffer, again.take(READ_BUFFER_BYTES).buffer];
  assert.equal(lent.filter((b) => kept.includes(b)).length, 1);
});
