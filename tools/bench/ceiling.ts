/**
 * The client's ceiling on this machine: the vault phases' SDK client, sizes
 * and streams, run against a null S3 endpoint (`null_server.ts`, a process of
 * its own) that checks nothing and stores nothing. No server can do better
 * with this client on these cores, so each vault figure is also reported as a
 * share of it: the part of a gap that is the client's and HTTP's, not the
 * vault's. Each ceiling is measured just before its vault phase: this VM's
 * speed drifts by tens of percent within minutes.
 *
 * @module
 */

import type { S3Client } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { s3For } from "../../tests/helpers/s3_client.ts";
import { getBytes, log, MB, nameValueLines, pool, putBytes } from "./common.ts";
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

/** The null endpoint, running, and the SDK client pointed at it. */
export class NullEndpoint {
  readonly #server: Deno.ChildProcess;
  readonly #s3: S3Client;
  #stopped = false;

  private constructor(server: Deno.ChildProcess, s3: S3Client) {
    this.#server = server;
    this.#s3 = s3;
  }

  /** Starts the endpoint in a process of its own. */
  static async start(): Promise<NullEndpoint> {
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
    const first = await out.read();
    out.releaseLock();
    await server.stdout.cancel().catch(() => undefined);
    const port = Number(new TextDecoder().decode(first.value).trim());
    if (!Number.isInteger(port) || port <= 0) {
      server.kill();
      await server.status;
      throw new Error("the null endpoint did not start");
    }
    log(`ceiling: a null endpoint (pid ${server.pid}) on port ${port}`);
    const s3 = s3For({
      endpoint: `http://127.0.0.1:${port}`,
      region: "us-east-1",
      accessKey: "null",
      secretKey: "null",
    });
    return new NullEndpoint(server, s3);
  }

  /** Times `count` PUTs of `bytes` random bytes over `streams`. */
  put(count: number, streams: number, bytes: number): Promise<CeilingPhase> {
    const body = randomBytes(bytes);
    return timed(this.#server.pid, count, streams, () => putBytes(this.#s3, "null", "k", body));
  }

  /** Times `count` GETs of `bytes` bytes over `streams`. */
  get(count: number, streams: number, bytes: number): Promise<CeilingPhase> {
    return timed(
      this.#server.pid,
      count,
      streams,
      () => getBytes(this.#s3, "null", String(bytes), bytes),
    );
  }

  /** Stops the endpoint; later calls do nothing. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#s3.destroy();
    this.#server.kill();
    await this.#server.status;
  }
}

/** The ceilings as aligned lines. */
export function ceilingTable(c: Ceilings): string {
  const line = (name: string, p: CeilingPhase, unit: "MB/s" | "ops/s") => [
    `${name} (client ${p.clientCores.toFixed(2)}, endpoint ${p.serverCores.toFixed(2)} cores)`,
    unit === "MB/s" ? `${p.MBps.toFixed(0)} MB/s` : `${p.opsPerSec.toFixed(0)} ops/s`,
  ];
  return nameValueLines([
    line("null endpoint: 64 MiB PUT", c.put64, "MB/s"),
    line("null endpoint: 64 MiB GET", c.get64, "MB/s"),
    line("null endpoint: 1 MiB PUT", c.put1, "MB/s"),
    line("null endpoint: 1 MiB GET", c.get1, "MB/s"),
    line("null endpoint: 4 KiB PUT", c.put4k, "ops/s"),
  ]);
}
