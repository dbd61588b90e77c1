import assert from "node:assert/strict";
import { ChunkIndex } from "./chunk_index.ts";

Deno.test("ChunkIndex.relocate - moves a row only while it still points where the move read it", async () => {
  const dir = await Deno.makeTempDir();
  const index = new ChunkIndex(`${dir}/chunks.db`);
  try {
    const id = new Uint8Array(32).fill(7);
    const where = () => {
      const { segment, offset } = index.locate(id)!;
      return { segment, offset };
    };
    index.insert({ id, segment: 1, offset: 100, length: 50, plain: 40, touched: 0, shard: null });
    index.relocate(id, { segment: 1, offset: 100 }, { segment: 5, offset: 32 });
    assert.deepEqual(where(), { segment: 5, offset: 32 });
    // A heal rewrote the record at segment 6 while compaction copied the old one.
    index.insert({ id, segment: 6, offset: 64, length: 50, plain: 40, touched: 0, shard: null });
    index.relocate(id, { segment: 5, offset: 32 }, { segment: 7, offset: 32 });
    assert.deepEqual(where(), { segment: 6, offset: 64 }, "the newer record keeps its row");
  } finally {
    index.close();
    await Deno.remove(dir, { recursive: true });
  }
});
