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

Deno.test("ReadBufferPool - keeps at most idleMax buffers between leases", () => {
  const pool = new ReadBufferPool(1);
  const lease = pool.lease();
  const kept = [lease.take(1), lease.take(1), lease.take(1)].map((b) => b.buffer);
  lease.release();
  const again = pool.lease();
  const lent = [again.take(1).buffer, again.take(1).buffer];
  assert.equal(lent.filter((b) => kept.includes(b)).length, 1);
});
