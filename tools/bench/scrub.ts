/**
 * Bench rows for the scrubber: scrub speed of a stopped vault (unthrottled,
 * four drives at 2+2), the rate a running vault's scrub holds by default,
 * and foreground PUT throughput while that scrub runs as a share of PUT
 * throughput without it (the target is at least 80 %).
 *
 * The shards were just written, so the page cache likely holds them: the
 * offline figure is an upper bound on what the disks give (see README,
 * Scrubbing).
 *
 * @module
 */

import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import type { ScrubStatus } from "../../src/channel/mod.ts";
import { scrubDataDir } from "../../src/scrub/mod.ts";
import { signedFetch } from "../../tests/helpers/assert_s3.ts";
import { s3For } from "../../tests/helpers/s3_client.ts";
import { startVault, type TestVault } from "../../tests/helpers/vault.ts";
import { log, MB, MIB, type Row } from "./common.ts";

/** Sizes of the scrub phases. */
export interface ScrubPlan {
  /** Objects stored before scrubbing. */
  objects: number;
  /** Size of each, MiB. */
  objectMiB: number;
  /** Objects PUT per foreground measurement. */
  foreground: number;
  /** Concurrent PUTs. */
  streams: number;
}

function row(figure: string, value: string, note = "", target = "—", pass: Row["pass"] = ""): Row {
  return { figure, value, target, ratio: note, pass, rgw: "—" };
}

async function scrubCommand(v: TestVault, s3: S3Client, action?: string): Promise<ScrubStatus> {
  const res = await signedFetch(v, s3, {
    method: action ? "POST" : "GET",
    path: "/admin/scrub",
    body: action ? JSON.stringify({ action }) : undefined,
  });
  return await res.json() as ScrubStatus;
}

/** PUTs `count` objects, `streams` at a time; returns MB/s. */
async function putRate(
  s3: S3Client,
  prefix: string,
  bodies: Uint8Array[],
  count: number,
  streams: number,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: streams }, async () => {
    while (next < count) {
      const i = next++;
      const Body = bodies[i % bodies.length];
      await s3.send(new PutObjectCommand({ Bucket: "scrub", Key: `${prefix}/${i}`, Body }));
    }
  }));
  return count * bodies[0].length / MB / ((performance.now() - t0) / 1000);
}

/**
 * Scrub MB/s offline and in a running vault, and foreground PUT throughput
 * during a scrub as a share of without.
 *
 * @param plan Sizes.
 * @returns The rows.
 */
export async function scrubRows(plan: ScrubPlan): Promise<Row[]> {
  const root = await Deno.makeTempDir({ prefix: "amber-bench-scrub-" });
  const drives = [0, 1, 2, 3].map((i) => `${root}/d${i}`);
  const env = { AMBER_DRIVES: drives.join(","), AMBER_EC: "2+2" };
  const dataDir = `${root}/data`;
  const bodies = Array.from(
    { length: Math.max(plan.objects, 4) },
    () => new Uint8Array(randomBytes(plan.objectMiB * MIB)),
  );
  try {
    log(`scrub: storing ${plan.objects} × ${plan.objectMiB} MiB on four drives at 2+2`);
    let v = await startVault({ dataDir, env });
    let s3 = s3For(v);
    await s3.send(new CreateBucketCommand({ Bucket: "scrub" }));
    await putRate(s3, "stored", bodies, plan.objects, plan.streams);
    s3.destroy();
    await v.stop();

    log("scrub: offline pass, unthrottled");
    const t0 = performance.now();
    const pass = await scrubDataDir(dataDir, { drives, vaultKey: "test-vault-key" });
    const offline = pass.bytesScanned / MB / ((performance.now() - t0) / 1000);

    log("scrub: foreground PUT without and with a scrub running");
    v = await startVault({ dataDir, env });
    s3 = s3For(v);
    try {
      const without = await putRate(s3, "alone", bodies, plan.foreground, plan.streams);
      let scrubbing = true;
      let rates: number[] = [];
      // Keep a pass running for the whole measurement: start another when one finishes.
      const keeper = (async () => {
        while (scrubbing) {
          const s = await scrubCommand(v, s3, "start");
          if (s.currentBytesPerSecond > 0) rates.push(s.currentBytesPerSecond);
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      await new Promise((r) => setTimeout(r, 500));
      rates = [];
      const during = await putRate(s3, "during", bodies, plan.foreground, plan.streams);
      scrubbing = false;
      await keeper;
      await scrubCommand(v, s3, "cancel");
      const scrubRate = rates.length > 0 ? rates.reduce((a, b) => a + b) / rates.length / MB : 0;
      const share = during / without * 100;
      return [
        row(
          "scrub, stopped vault, 4 drives at 2+2",
          `${offline.toFixed(0)} MB/s`,
          `unthrottled; ${(pass.bytesScanned / MIB).toFixed(0)} MiB of shards, page cache warm`,
        ),
        row(
          "scrub, running vault, default throttle",
          `${scrubRate.toFixed(1)} MB/s`,
          "while PUTs run",
        ),
        row("PUT, no scrub", `${without.toFixed(0)} MB/s`, `${plan.streams} streams`),
        row(
          "PUT during a scrub, share of without",
          `${share.toFixed(0)} %`,
          `${during.toFixed(0)} MB/s`,
          "≥ 80 %",
          share >= 80 ? "pass" : "FAIL",
        ),
      ];
    } finally {
      s3.destroy();
      await v.stop();
    }
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const rows = await scrubRows(
    quick
      ? { objects: 8, objectMiB: 4, foreground: 16, streams: 2 }
      : { objects: 32, objectMiB: 8, foreground: 48, streams: 4 },
  );
  for (const r of rows) console.log(`${r.figure.padEnd(50)} ${r.value.padStart(10)}  ${r.ratio}`);
  Deno.exit(0);
}
