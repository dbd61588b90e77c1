/**
 * Prometheus metrics of the S3 surface and the stores behind it.
 *
 * @module
 */

import client from "prom-client";
import { BucketMetrics } from "./bucket_metrics.ts";

/** The vault's metrics registry and instruments. */
export class VaultMetrics {
  readonly registry: client.Registry = new client.Registry();
  readonly requests: client.Counter<"operation" | "status">;
  readonly latency: client.Histogram<"operation">;
  readonly bytesIn: client.Counter;
  readonly bytesOut: client.Counter;
  readonly logicalBytes: client.Gauge;
  readonly storedBytes: client.Gauge;
  readonly inlineBytes: client.Gauge;
  readonly plainChunkBytes: client.Gauge;
  readonly chunks: client.Gauge;
  readonly versions: client.Gauge;
  readonly diskBytes: client.Gauge;
  readonly clockWallAhead: client.Gauge;
  readonly clockUncreditedJump: client.Gauge;
  readonly gcRuns: client.Gauge;
  readonly gcDeletedChunks: client.Gauge;
  readonly gcReclaimedBytes: client.Gauge;
  /** Usage, quotas and freshness per bucket. */
  readonly buckets: BucketMetrics;
  readonly drives: client.Gauge;
  readonly drivesOnline: client.Gauge;
  readonly drivesRebuilding: client.Gauge;
  readonly owedShards: client.Gauge;
  readonly rebuildProgress: client.Gauge;
  readonly healedShards: client.Gauge;
  /** Scrubber gauges, set from its status on each scrape. */
  readonly scrub: Record<
    | "bytesScanned"
    | "shardsChecked"
    | "badShards"
    | "repairedShards"
    | "unrecoverableChunks"
    | "lastFullPass"
    | "running"
    | "progress",
    client.Gauge
  >;

  constructor() {
    const registers = [this.registry];
    this.buckets = new BucketMetrics(registers);
    this.requests = new client.Counter({
      name: "amber_s3_requests_total",
      help: "S3 requests by AWS operation name and HTTP status",
      labelNames: ["operation", "status"],
      registers,
    });
    this.latency = new client.Histogram({
      name: "amber_s3_request_duration_seconds",
      help: "S3 request latency by AWS operation name, until the response head",
      labelNames: ["operation"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.bytesIn = new client.Counter({
      name: "amber_s3_bytes_in_total",
      help: "Object bytes received",
      registers,
    });
    this.bytesOut = new client.Counter({
      name: "amber_s3_bytes_out_total",
      help: "Object bytes sent",
      registers,
    });
    this.logicalBytes = new client.Gauge({
      name: "amber_logical_bytes",
      help: "Bytes of all stored object versions, as clients see them",
      registers,
    });
    this.storedBytes = new client.Gauge({
      name: "amber_stored_bytes",
      help: "Bytes of sealed chunk records on disk",
      registers,
    });
    this.inlineBytes = new client.Gauge({
      name: "amber_inline_bytes",
      help: "Bytes of tiny objects kept in the index, sealed (not in amber_stored_bytes)",
      registers,
    });
    this.plainChunkBytes = new client.Gauge({
      name: "amber_unique_chunk_bytes",
      help: "Plaintext bytes of unique chunks (logical / this = dedup ratio)",
      registers,
    });
    this.chunks = new client.Gauge({
      name: "amber_chunks",
      help: "Unique chunks stored",
      registers,
    });
    this.versions = new client.Gauge({
      name: "amber_object_versions",
      help: "Object versions stored",
      registers,
    });
    this.clockWallAhead = new client.Gauge({
      name: "amber_clock_wall_ahead_seconds",
      help: "How far the system clock runs ahead of the trusted clock retention is measured on",
      registers,
    });
    this.clockUncreditedJump = new client.Gauge({
      name: "amber_clock_uncredited_jump_seconds",
      help:
        "The last forward clock jump not credited across a restart (AMBER_MAX_CLOCK_JUMP); alert when > 0",
      registers,
    });
    this.diskBytes = new client.Gauge({
      name: "amber_segment_disk_bytes",
      help: "Bytes of segment files on disk",
      registers,
    });
    this.gcRuns = new client.Gauge({
      name: "amber_gc_runs",
      help: "Garbage collections since start",
      registers,
    });
    this.gcDeletedChunks = new client.Gauge({
      name: "amber_gc_deleted_chunks",
      help: "Unreferenced chunks deleted since start",
      registers,
    });
    this.gcReclaimedBytes = new client.Gauge({
      name: "amber_gc_reclaimed_bytes",
      help: "Segment file bytes reclaimed by compaction since start",
      registers,
    });
    this.drives = new client.Gauge({
      name: "amber_drives",
      help: "Drive slots the vault is configured with",
      registers,
    });
    this.drivesOnline = new client.Gauge({
      name: "amber_drives_online",
      help: "Drives online (ready or rebuilding); alert when below the drive count",
      registers,
    });
    this.drivesRebuilding = new client.Gauge({
      name: "amber_drives_rebuilding",
      help: "Drives being rebuilt after a replacement or an absence",
      registers,
    });
    this.owedShards = new client.Gauge({
      name: "amber_drive_owed_shards",
      help: "Shards queued for drives that were offline when their chunk was written",
      registers,
    });
    this.rebuildProgress = new client.Gauge({
      name: "amber_drive_rebuild_progress_ratio",
      help: "Progress of the running (or last) drive rebuild, 0 to 1",
      registers,
    });
    this.healedShards = new client.Gauge({
      name: "amber_healed_shards",
      help: "Bad or missing shards rewritten by heal on read since start",
      registers,
    });
    const gauge = (name: string, help: string) =>
      new client.Gauge({ name: `amber_scrub_${name}`, help, registers });
    this.scrub = {
      bytesScanned: gauge("bytes_scanned", "Shard bytes the scrubber read since start"),
      shardsChecked: gauge("shards_checked", "Shards the scrubber checked since start"),
      badShards: gauge(
        "bad_found",
        "Bad or missing shards and chunks the scrubber found since start",
      ),
      repairedShards: gauge("repaired_shards", "Shards the scrubber had rewritten since start"),
      unrecoverableChunks: gauge(
        "unrecoverable_chunks",
        "Chunks the last full scrub pass found beyond repair; alert when > 0",
      ),
      lastFullPass: gauge(
        "last_full_pass_timestamp_seconds",
        "When the last full scrub pass finished (0: never); alert when older than the interval",
      ),
      running: gauge("running", "1 while a scrub pass runs, 0.5 while paused, 0 when idle"),
      progress: gauge("progress_ratio", "Bytes of the scrub pass under way read so far, 0 to 1"),
    };
  }
}
