/**
 * The client's ceiling on this machine: the vault phases' SDK client, sizes
 * and streams, run against a null S3 endpoint (`null_server.ts`, a process of
 * its own) that checks nothing and stores nothing. No server can do better
 * with this client on these cores, so each vault figure is also reported as a
 * share of it: the part of a gap that is the client's and HTTP's, not the
 * vault's.
 *
 * @module
 */

import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { s3For } from "../../tests/helpers/s3_client.ts";
import { log, MB, MIB, pool } from "./common.ts";
import { CpuMeter } from "./observe.ts";

/** One phase against the null endpoint. */
export interface CeilingPhase {
  MBps: number;
  opsPerSec: number;
  /** Cores used by the SDK client (this process) and by the null endpoint. */
  clientCores: number;
  serverCores: number;
}

/** The ceilings of the vault phases that a client drives at full speed. */
export interface Ceilings {
  put64: CeilingPhase;
  get64: CeilingPhase;
  put1: CeilingPhase;
  get1: CeilingPhase;
  put4k: CeilingPhase;
}

type Sizes = Record<"big" | "mid" | "small", { count: number; streams: number }>;

async function timed(
  serverPid: number,
  count: number,
  streams: number,
  op: (i: number) => Promise<number>,
): Promise<CeilingPhase> {
  let bytes = 0;
  const cpu = await CpuMeter.start(serverPid);
  const t0 = performance.now();
  await pool(streams, count, async (i) => {
    const n = await op(i);
    bytes += n;
  });
  const seconds = (performance.now() - t0) / 1000;
  const use = await cpu.stop();
  return {
    MBps: bytes / MB / seconds,
    opsPerSec: count / seconds,
    clientCores: use.client,
    serverCores: use.vaultTotal,
  };
}

async function put(s3: S3Client, body: Uint8Array): Promise<number> {
  await s3.send(new PutObjectCommand({ Bucket: "null", Key: "k", Body: body }));
  return body.length;
}

async function get(s3: S3Client, bytes: number): Promise<number> {
  const r = await s3.send(new GetObjectCommand({ Bucket: "null", Key: String(bytes) }));
  let n = 0;
  for await (const c of r.Body as unknown as AsyncIterable<Uint8Array>) n += c.length;
  if (n !== bytes) throw new Error(`null endpoint returned ${n} bytes, expected ${bytes}`);
  return n;
}

/**
 * Measures the client's ceiling for the PUT and GET phases of `sizes`.
 *
 * @param sizes Object counts and streams of the vault phases.
 * @returns MB/s, ops/s and CPU of each phase against the null endpoint.
 */
export async function measureCeilings(sizes: Sizes): Promise<Ceilings> {
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--no-prompt",
      new URL("./null_server.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = server.stdout.getReader();
  try {
    const first = await out.read();
    const port = Number(new TextDecoder().decode(first.value).trim());
    if (!Number.isInteger(port) || port <= 0) throw new Error("the null endpoint did not start");
    const s3 = s3For({
      endpoint: `http://127.0.0.1:${port}`,
      region: "us-east-1",
      accessKey: "null",
      secretKey: "null",
    });
    try {
      const { big, mid, small } = sizes;
      log(`ceiling: the same client against a null endpoint (pid ${server.pid})`);
      const body64 = randomBytes(64 * MIB);
      const put64 = await timed(server.pid, big.count, big.streams, () => put(s3, body64));
      const get64 = await timed(server.pid, big.count, big.streams, () => get(s3, 64 * MIB));
      const body1 = randomBytes(MIB);
      const put1 = await timed(server.pid, mid.count, mid.streams, () => put(s3, body1));
      const get1 = await timed(server.pid, mid.count, mid.streams, () => get(s3, MIB));
      const body4k = randomBytes(4096);
      const put4k = await timed(server.pid, small.count, small.streams, () => put(s3, body4k));
      return { put64, get64, put1, get1, put4k };
    } finally {
      s3.destroy();
    }
  } finally {
    out.releaseLock();
    server.kill();
    await server.status;
    await server.stdout.cancel().catch(() => undefined);
  }
}

/** The ceilings as lines for the limits table (same streams as the vault phases). */
export function ceilingLines(c: Ceilings): string[][] {
  const line = (name: string, p: CeilingPhase, unit: "MB/s" | "ops/s") => [
    `${name} (client ${p.clientCores.toFixed(2)}, endpoint ${p.serverCores.toFixed(2)} cores)`,
    unit === "MB/s" ? `${p.MBps.toFixed(0)} MB/s` : `${p.opsPerSec.toFixed(0)} ops/s`,
  ];
  return [
    line("null endpoint: 64 MiB PUT", c.put64, "MB/s"),
    line("null endpoint: 64 MiB GET", c.get64, "MB/s"),
    line("null endpoint: 1 MiB PUT", c.put1, "MB/s"),
    line("null endpoint: 1 MiB GET", c.get1, "MB/s"),
    line("null endpoint: 4 KiB PUT", c.put4k, "ops/s"),
  ];
}
