/**
 * Bench rows for drives and erasure coding: Reed–Solomon encode and decode
 * speed on one core, PUT and GET with four drives at 2+2 beside one drive,
 * GET with two of the four drives missing, and the time to rebuild the two
 * missing drives per GiB of shards (rebuild throttle lifted).
 *
 * @module
 */

import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { ReedSolomon } from "../../src/store/erasure.ts";
import { s3For } from "../../tests/helpers/s3_client.ts";
import { startVault, type TestVault } from "../../tests/helpers/vault.ts";
import { log, MB, MIB, pool, type Row } from "./common.ts";

/** Sizes of the drive phases. */
export interface DrivePlan {
  /** Objects written and read per configuration. */
  objects: number;
  /** Size of each, MiB. */
  objectMiB: number;
  /** Concurrent requests. */
  streams: number;
}

function row(figure: string, value: string, note = ""): Row {
  return { figure, value, target: "—", ratio: note, pass: "", rgw: "—" };
}

/**
 * Erasure encode and decode speed on one core (4 MiB stripes).
 *
 * @returns One encode and one decode row per geometry.
 */
export function erasureRows(): Row[] {
  const rows: Row[] = [];
  const stripe = new Uint8Array(randomBytes(4 * MIB));
  for (const [k, m] of [[2, 2], [4, 2]]) {
    const rs = new ReedSolomon(k, m);
    const rounds = 24;
    for (let i = 0; i < 3; i++) rs.split(stripe);
    let t0 = performance.now();
    for (let i = 0; i < rounds; i++) rs.split(stripe);
    const encode = rounds * stripe.length / MB / ((performance.now() - t0) / 1000);
    const shards = rs.split(stripe);
    t0 = performance.now();
    for (let i = 0; i < rounds; i++) {
      const lost: (Uint8Array | null)[] = [...shards];
      for (let j = 0; j < m; j++) lost[j] = null; // the worst case: data shards lost
      rs.reconstruct(lost);
    }
    const decode = rounds * stripe.length / MB / ((performance.now() - t0) / 1000);
    rows.push(row(`erasure ${k}+${m} encode, one core`, `${encode.toFixed(0)} MB/s`));
    rows.push(row(`erasure ${k}+${m} decode, ${m} data shards lost`, `${decode.toFixed(0)} MB/s`));
  }
  return rows;
}

/** Runs `count` tasks, `streams` at a time; returns MB/s over the bytes they report. */
async function timed(
  count: number,
  streams: number,
  task: (i: number) => Promise<number>,
): Promise<number> {
  let bytes = 0;
  const t0 = performance.now();
  await pool(streams, count, async (i) => {
    const n = await task(i);
    bytes += n;
  });
  return bytes / MB / ((performance.now() - t0) / 1000);
}

async function putAll(s3: S3Client, plan: DrivePlan, bodies: Uint8Array[]): Promise<number> {
  await s3.send(new CreateBucketCommand({ Bucket: "drives" }));
  return await timed(plan.objects, plan.streams, async (i) => {
    await s3.send(new PutObjectCommand({ Bucket: "drives", Key: `o/${i}`, Body: bodies[i] }));
    return bodies[i].length;
  });
}

async function getAll(s3: S3Client, plan: DrivePlan, bodies: Uint8Array[]): Promise<number> {
  return await timed(plan.objects, plan.streams, async (i) => {
    const r = await s3.send(new GetObjectCommand({ Bucket: "drives", Key: `o/${i}` }));
    const got = await r.Body!.transformToByteArray();
    if (got.length !== bodies[i].length || got[got.length - 1] !== bodies[i][got.length - 1]) {
      throw new Error(`GET o/${i} returned other bytes`);
    }
    return got.length;
  });
}

async function metric(v: TestVault, name: string): Promise<number> {
  const text = await (await fetch(`${v.endpoint}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
}

async function withVault<T>(
  env: Record<string, string>,
  fn: (v: TestVault, s3: S3Client) => Promise<T>,
  dataDir?: string,
): Promise<T> {
  const v = await startVault({ env, dataDir });
  const s3 = s3For(v);
  try {
    return await fn(v, s3);
  } finally {
    s3.destroy();
    await v.stop();
  }
}

/**
 * PUT and GET on one drive and on four drives at 2+2, GET with two drives
 * missing, and the rebuild of those two.
 *
 * @param plan Object count, size and concurrency.
 * @returns The rows.
 */
export async function driveRows(plan: DrivePlan): Promise<Row[]> {
  const bodies = Array.from(
    { length: plan.objects },
    () => new Uint8Array(randomBytes(plan.objectMiB * MIB)),
  );
  const size = `${plan.objects} × ${plan.objectMiB} MiB, ${plan.streams} streams`;
  log(`drives: one drive, ${size}`);
  const one = await withVault({}, async (_v, s3) => {
    const put = await putAll(s3, plan, bodies);
    return { put, get: await getAll(s3, plan, bodies) };
  });
  const root = await Deno.makeTempDir({ prefix: "amber-bench-drives-" });
  const drives = [0, 1, 2, 3].map((i) => `${root}/d${i}`);
  const env = {
    AMBER_DRIVES: drives.join(","),
    AMBER_EC: "2+2",
    AMBER_REBUILD_RATE: "100000",
  };
  const dataDir = `${root}/data`;
  try {
    log(`drives: four drives at 2+2, ${size}`);
    const four = await withVault(env, async (_v, s3) => {
      const put = await putAll(s3, plan, bodies);
      return { put, get: await getAll(s3, plan, bodies) };
    }, dataDir);
    for (const d of [drives[1], drives[2]]) await Deno.remove(d, { recursive: true });
    log("drives: two of four drives missing");
    const rebuilt = await withVault(env, async (v, s3) => {
      const degraded = await getAll(s3, plan, bodies);
      for (const d of [drives[1], drives[2]]) await Deno.mkdir(d);
      // The watcher notices the empty drives within its probe interval (2 s), not counted.
      while (await metric(v, "amber_drives_online") < 4) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const t0 = performance.now();
      while (await metric(v, "amber_drives_rebuilding") > 0) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const seconds = (performance.now() - t0) / 1000;
      return { degraded, seconds };
    }, dataDir);
    const shardGiB = plan.objects * plan.objectMiB / 1024; // 2 drives × half the data each at 2+2
    return [
      row("PUT, 1 drive", `${one.put.toFixed(0)} MB/s`, size),
      row(
        "PUT, 4 drives at 2+2",
        `${four.put.toFixed(0)} MB/s`,
        `${(four.put / one.put * 100).toFixed(0)} % of 1 drive`,
      ),
      row("GET, 1 drive", `${one.get.toFixed(0)} MB/s`, size),
      row(
        "GET, 4 drives at 2+2",
        `${four.get.toFixed(0)} MB/s`,
        `${(four.get / one.get * 100).toFixed(0)} % of 1 drive`,
      ),
      row(
        "GET, 2 of 4 drives missing",
        `${rebuilt.degraded.toFixed(0)} MB/s`,
        "rebuilt from parity",
      ),
      row(
        "rebuild two replaced drives, per GiB of shards",
        `${(rebuilt.seconds / shardGiB).toFixed(1)} s`,
        `${rebuilt.seconds.toFixed(1)} s for ${(shardGiB * 1024).toFixed(0)} MiB, throttle lifted`,
      ),
    ];
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const rows = [
    ...erasureRows(),
    ...await driveRows(
      quick ? { objects: 4, objectMiB: 8, streams: 2 } : { objects: 16, objectMiB: 16, streams: 2 },
    ),
  ];
  for (const r of rows) console.log(`${r.figure.padEnd(50)} ${r.value.padStart(10)}  ${r.ratio}`);
  Deno.exit(0);
}
