/**
 * Garbage collection under fire: parallel PUTs whose bodies are built from a
 * small pool of shared blocks (so almost every chunk is a deduplicated hit
 * on a chunk some other object holds or held), deletes that keep turning
 * those chunks unreferenced, and a collection every second with no grace.
 * Each writer also ping-pongs a body of its own: it deletes the only object
 * holding it and PUTs it again under a new key, so that PUT deduplicates
 * against chunks nothing references while it runs, the exact case a
 * collection must not take. A collection that removed such a chunk would
 * leave that object unreadable: every acknowledged object must read back
 * byte-identical, during the run and at the end. (Checked against two
 * broken stores: without the write-session pin, and without the touch on a
 * deduplicated hit, this test fails within seconds.)
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { assertBytesEqual, assertOk, bodyBytes } from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { metricValue, startVault } from "../helpers/vault.ts";
import { makeBody } from "./model.ts";

const B = "gc-stress";
const RUN_MS = 20_000;
const WRITERS = 8;
const BLOCK_BYTES = 96 * 1024;
/** Few enough blocks that most chunks recur across objects, each a few chunks long. */
const BLOCKS = Array.from({ length: 10 }, (_, i) => makeBody(77, i, BLOCK_BYTES));

/** A body of 1–5 pool blocks in a random order. */
function composeBody(random: () => number): Uint8Array {
  const n = 1 + Math.floor(random() * 5);
  const parts = Array.from({ length: n }, () => BLOCKS[Math.floor(random() * BLOCKS.length)]);
  const out = new Uint8Array(n * BLOCK_BYTES);
  parts.forEach((p, i) => out.set(p, i * BLOCK_BYTES));
  return out;
}

async function read(s3: S3Client, key: string): Promise<Uint8Array> {
  return await bodyBytes((await s3.send(new GetObjectCommand({ Bucket: B, Key: key }))).Body);
}

Deno.test({
  name:
    "Garbage collection - never removes a chunk a concurrent PutObject deduplicated against (20 s stress)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({ env: { AMBER_GC_INTERVAL: "1", AMBER_GC_GRACE: "0" } });
    const s3 = s3For(vault);
    const live = new Map<string, Uint8Array>();
    let puts = 0;
    let deletes = 0;
    try {
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      const gcRunsBefore = await metricValue(vault, "amber_gc_runs");
      const until = Date.now() + RUN_MS;
      await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
        let x = 0x9e3779b1 ^ (w + 1);
        const random = () => {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          return (x >>> 0) / 4294967296;
        };
        const mine: string[] = [];
        const hot = makeBody(78, w, 256 * 1024);
        let hotKey: string | undefined;
        for (let i = 0; Date.now() < until; i++) {
          const key = `w${w}/o${i}`;
          if (random() < 0.5) {
            // Ping-pong: no object holds `hot` from this delete until the PUT below commits.
            if (hotKey) {
              live.delete(hotKey);
              await s3.send(new DeleteObjectCommand({ Bucket: B, Key: hotKey }));
              deletes++;
            }
            await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: hot }));
            live.set(key, hot);
            hotKey = key;
            puts++;
            // Read it now: the next round's PUT would write a chunk lost here afresh and hide the loss.
            assertBytesEqual(await read(s3, key), hot, key);
            continue;
          }
          const body = composeBody(random);
          await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: body }));
          live.set(key, body);
          mine.push(key);
          puts++;
          // Read some back at once: a collection may be running right now.
          if (random() < 0.3) assertBytesEqual(await read(s3, key), body, key);
          // Delete an older one half the time, turning its chunks unreferenced while others reuse them.
          if (mine.length > 2 && random() < 0.6) {
            const victim = mine.splice(Math.floor(random() * (mine.length - 1)), 1)[0];
            live.delete(victim);
            await s3.send(new DeleteObjectCommand({ Bucket: B, Key: victim }));
            deletes++;
          }
        }
      }));
      // Let a few more collections run over what is left, then read everything.
      const runsAtEnd = await metricValue(vault, "amber_gc_runs");
      while ((await metricValue(vault, "amber_gc_runs")) < runsAtEnd + 2) {
        await new Promise((r) => setTimeout(r, 200));
      }
      for (const [key, body] of live) assertBytesEqual(await read(s3, key), body, key);
      const runs = (await metricValue(vault, "amber_gc_runs")) - gcRunsBefore;
      const deleted = await metricValue(vault, "amber_gc_deleted_chunks");
      console.log(
        `  ${puts} PutObject, ${deletes} DeleteObject, ${runs} collections deleting ${deleted} ` +
          `chunks; ${live.size} objects verified`,
      );
      assertOk(runs >= 10, `only ${runs} collections ran`);
      assertOk(deleted > 0, "no collection deleted anything, so nothing raced");
      assertOk(puts > 100, `only ${puts} PutObject calls in ${RUN_MS} ms`);
    } finally {
      s3.destroy();
      await vault.stop();
      await Deno.remove(vault.dataDir, { recursive: true }).catch(() => undefined);
    }
  },
});
