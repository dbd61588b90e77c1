/**
 * kill -9 under load, a few cycles of the crash harness (`harness.ts`; the
 * full run is `deno task crash-test`). The seed is random unless
 * AMBER_CRASH_SEED is set; it is printed, and a failure names it.
 */
import { assertOk } from "../helpers/assert_s3.ts";
import { runCrashHarness } from "./harness.ts";

const CYCLES = 5;

Deno.test({
  name:
    "kill -9 - every acknowledged object, version and lock change survives; nothing half-written appears; GC reclaims what the kills left",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const seed = Number(Deno.env.get("AMBER_CRASH_SEED") ?? Math.floor(Math.random() * 2 ** 31));
    const summary = await runCrashHarness({ cycles: CYCLES, seed });
    assertOk(
      summary.acknowledged > CYCLES * 6,
      `only ${summary.acknowledged} writes were acknowledged in ${CYCLES} cycles`,
    );
  },
});

Deno.test({
  name:
    "kill -9 on 2+1 drives - the drives' separate group commits and journal records torn between them lose nothing acknowledged",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const seed = Number(Deno.env.get("AMBER_CRASH_SEED") ?? Math.floor(Math.random() * 2 ** 31));
    const cycles = 3;
    const summary = await runCrashHarness({ cycles, seed, ec: "2+1" });
    assertOk(
      summary.acknowledged > cycles * 6,
      `only ${summary.acknowledged} writes were acknowledged in ${cycles} cycles`,
    );
  },
});
