/**
 * `deno task bench`: measures this machine's limits and the vault against them
 * in one run, and prints a table with targets, ratios and the Ceph RGW
 * reference figures.
 *
 * The vault runs as its own process with the production flags
 * (tests/helpers/vault.ts) and is driven over HTTP by the AWS SDK v3 client,
 * from this process. Both share the machine's cores, so client CPU is reported
 * next to the vault's per-thread CPU for every phase; just before each PUT and
 * GET phase the same client runs it against a null endpoint (ceiling.ts): no
 * server could do better with it here.
 *
 * Flags: `--quick` (small sizes, a smoke check), `--json <path>` (write the
 * results), `--markdown` (print the table as Markdown for the README).
 *
 * Units: MB = 10^6 bytes, MiB = 2^20 bytes.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutObjectLockConfigurationCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { startVault, type TestVault } from "../../tests/helpers/vault.ts";
import { s3For } from "../../tests/helpers/s3_client.ts";
import { CHUNK_AVG_BYTES } from "../../src/store/chunker.ts";
import { type DedupOptions, measureDedup, nightlyArchives } from "./dedup.ts";
import { driveRows, erasureRows } from "./drives.ts";
import { scrubRows } from "./scrub.ts";
import { getBytes, log, MB, MIB, pool, putBytes, type Row } from "./common.ts";
import {
  auditVerifyRow,
  limitsTable,
  markdownTable,
  putClientBoundMBps,
  putCpuBoundMBps,
  textTable,
} from "./report.ts";
import { type Limits, measureLimits } from "./limits.ts";
import { type Ceilings, ceilingTable, NullEndpoint } from "./ceiling.ts";
import { CpuMeter, type CpuUse, procText, RssSampler, statusKiB } from "./observe.ts";

/** Ceph RGW reference figures (the comparison the project set out to beat). */
const RGW = {
  put64: 181,
  get64: 621,
  put1: 182,
  put4kOps: 456,
  listKeysPerSec: 25_800,
  rssMiB: 1.3 * 1024,
};

/** Sizes of one run. */
interface Plan {
  limitBytes: number;
  smallFsyncSeconds: number;
  big: { count: number; streams: number };
  mid: { count: number; streams: number };
  small: { count: number; streams: number };
  listKeys: number;
  insertStreams: number;
  insertCapSeconds: number;
  dedup: DedupOptions;
}

const FULL: Plan = {
  limitBytes: 256 * MIB,
  smallFsyncSeconds: 1.5,
  big: { count: 8, streams: 2 },
  mid: { count: 200, streams: 8 },
  small: { count: 3000, streams: 16 },
  listKeys: 100_000,
  insertStreams: 48,
  insertCapSeconds: 200,
  dedup: { files: 300, nights: 10 },
};

const QUICK: Plan = {
  limitBytes: 32 * MIB,
  smallFsyncSeconds: 0.3,
  big: { count: 2, streams: 2 },
  mid: { count: 24, streams: 8 },
  small: { count: 300, streams: 16 },
  listKeys: 5_000,
  insertStreams: 48,
  insertCapSeconds: 30,
  dedup: { files: 40, nights: 3 },
};

// ---------------------------------------------------------------- helpers

function parseArgs(args: string[]): { quick: boolean; json?: string; markdown: boolean } {
  const out: { quick: boolean; json?: string; markdown: boolean } = {
    quick: false,
    markdown: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") continue; // `deno task bench -- --json x` passes the separator through
    else if (a === "--quick") out.quick = true;
    else if (a === "--markdown") out.markdown = true;
    else if (a === "--json") {
      out.json = args[++i];
      if (!out.json) throw new Error('Cannot parse arguments: "--json" needs a path');
    } else if (a.startsWith("--json=")) out.json = a.slice(7);
    else throw new Error(`Cannot parse arguments: unknown flag "${a}"`);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

// ------------------------------------------------------------ vault phases

interface Phase {
  name: string;
  seconds: number;
  ops: number;
  bytes: number;
  MBps: number;
  opsPerSec: number;
  latencyMs: { p50: number; p99: number };
  cpu: CpuUse;
  maxRssMiB: number;
  errors: string[];
}

class Runner {
  readonly vault: TestVault;
  readonly s3: S3Client;
  readonly rss: RssSampler;
  readonly phases: Phase[] = [];
  readonly errors: string[] = [];
  constructor(vault: TestVault) {
    this.vault = vault;
    this.s3 = s3For(vault);
    this.rss = new RssSampler(vault.pid);
  }

  /** Runs one timed phase of `count` operations over `streams` lanes. */
  async phase(
    name: string,
    opts: { count: number; streams: number; capSeconds?: number },
    op: (i: number) => Promise<number>,
  ): Promise<Phase> {
    log(`${name}: ${opts.count} ops over ${opts.streams} streams`);
    this.rss.resetPhase();
    const lat: number[] = [];
    const errors: string[] = [];
    let bytes = 0;
    const cpu = await CpuMeter.start(this.vault.pid);
    const t0 = performance.now();
    const deadline = opts.capSeconds ? t0 + opts.capSeconds * 1000 : Infinity;
    const done = await pool(opts.streams, opts.count, async (i) => {
      const s = performance.now();
      try {
        // Not `bytes += await op(i)`: that reads `bytes` before the await and loses concurrent updates.
        const n = await op(i);
        bytes += n;
      } catch (e) {
        const msg = `${name} #${i}: ${(e as Error).name}: ${(e as Error).message}`;
        if (errors.length < 20) errors.push(msg);
        if (errors.length === 1) log(`ERROR ${msg}`);
      }
      lat.push(performance.now() - s);
    }, deadline);
    const seconds = (performance.now() - t0) / 1000;
    const use = await cpu.stop();
    const p: Phase = {
      name,
      seconds,
      ops: done,
      bytes,
      MBps: bytes / MB / seconds,
      opsPerSec: done / seconds,
      latencyMs: { p50: median(lat), p99: percentile(lat, 0.99) },
      cpu: use,
      maxRssMiB: this.rss.phaseMax / 1024,
      errors,
    };
    if (done < opts.count) {
      errors.push(
        `${name}: stopped after ${done} of ${opts.count} ops at the ${opts.capSeconds} s cap`,
      );
    }
    this.errors.push(...errors);
    this.phases.push(p);
    log(
      `${name}: ${p.MBps.toFixed(1)} MB/s, ${p.opsPerSec.toFixed(0)} ops/s, ` +
        `p50 ${p.latencyMs.p50.toFixed(1)} ms, p99 ${p.latencyMs.p99.toFixed(1)} ms, ` +
        `${errors.length} errors; vault CPU ${fmtCpu(use)}; client ${use.client.toFixed(2)} cores`,
    );
    return p;
  }

  put(bucket: string, key: string, body: Uint8Array): Promise<number> {
    return putBytes(this.s3, bucket, key, body);
  }

  get(bucket: string, key: string, expect: number): Promise<number> {
    return getBytes(this.s3, bucket, key, expect);
  }

  async metrics(): Promise<Record<string, number>> {
    const r = await fetch(`${this.vault.endpoint}/metrics`);
    const text = await r.text();
    const out: Record<string, number> = {};
    for (const line of text.split("\n")) {
      const m = line.match(/^(amber_[a-z_]+) ([0-9.e+-]+)$/);
      if (m) out[m[1]] = Number(m[2]);
    }
    return out;
  }
}

function fmtCpu(u: CpuUse): string {
  const parts = Object.entries(u.vault)
    .filter(([, c]) => c >= 0.03)
    .sort((a, b) => b[1] - a[1])
    .map(([g, c]) => `${g} ${c.toFixed(2)}`);
  return `${u.vaultTotal.toFixed(2)} cores [${parts.join(", ")}]`;
}

interface ListResult {
  keys: number;
  inserted: number;
  pagesTimed: number;
  pageMsSdkMedian: number;
  pageMsSdkP90: number;
  pageMsRawMedian: number;
  fullWalkKeysPerSec: number;
  fullWalkSeconds: number;
}

async function listBench(r: Runner, bucket: string, inserted: number): Promise<ListResult> {
  log(`list: full walk of ${inserted} keys in pages of 1,000`);
  const tokens: (string | undefined)[] = [];
  const walkTimes: number[] = [];
  let token: string | undefined;
  let keys = 0;
  const t0 = performance.now();
  do {
    tokens.push(token);
    const s = performance.now();
    const page = await r.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000, ContinuationToken: token }),
    );
    walkTimes.push(performance.now() - s);
    keys += page.KeyCount ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const fullWalkSeconds = (performance.now() - t0) / 1000;
  if (keys !== inserted) {
    r.errors.push(`list: full walk saw ${keys} keys, ${inserted} were inserted`);
  }
  // Re-time pages at spread continuation points, three times each.
  const picks = [0, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.99].map((f) =>
    tokens[Math.min(tokens.length - 1, Math.floor(f * tokens.length))]
  );
  const sdk: number[] = [];
  const raw: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    for (const t of picks) {
      const s = performance.now();
      const page = await r.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000, ContinuationToken: t }),
      );
      sdk.push(performance.now() - s);
      if ((page.Contents?.length ?? 0) === 0) r.errors.push("list: an empty page");
      // The same page over plain fetch (presigned): server + transfer, no SDK XML parsing.
      const url = await getSignedUrl(
        r.s3,
        new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000, ContinuationToken: t }),
        { expiresIn: 300 },
      );
      const s2 = performance.now();
      const res = await fetch(url);
      const body = await res.text();
      raw.push(performance.now() - s2);
      if (!res.ok) r.errors.push(`list: raw page ${res.status}: ${body.slice(0, 200)}`);
    }
  }
  const res: ListResult = {
    keys,
    inserted,
    pagesTimed: sdk.length,
    pageMsSdkMedian: median(sdk),
    pageMsSdkP90: percentile(sdk, 0.9),
    pageMsRawMedian: median(raw),
    fullWalkKeysPerSec: keys / fullWalkSeconds,
    fullWalkSeconds,
  };
  log(
    `list: page median ${res.pageMsSdkMedian.toFixed(1)} ms (SDK), ` +
      `${res.pageMsRawMedian.toFixed(1)} ms (raw fetch); full walk ` +
      `${res.fullWalkKeysPerSec.toFixed(0)} keys/s (walk pages median ${
        median(walkTimes).toFixed(1)
      } ms)`,
  );
  return res;
}

interface DedupVaultResult {
  archives: number;
  archiveBytes: number;
  totalBytes: number;
  storedBytes: number;
  uniquePlainBytes: number;
  logicalBytes: number;
  ratio: number;
  plainRatio: number;
  predictedPlainRatio: number;
  generateSeconds: number;
  putMBps: number;
  cpu: CpuUse;
}

async function dedupBench(
  r: Runner,
  bucket: string,
  opts: DedupOptions,
): Promise<DedupVaultResult> {
  log(`dedup: ${opts.nights} nightly archives of a ${opts.files}-file tree`);
  const before = await r.metrics();
  let archiveBytes = 0;
  let totalBytes = 0;
  let genMs = 0;
  let putMs = 0;
  let night = 0;
  const cpu = await CpuMeter.start(r.vault.pid);
  const g0 = performance.now();
  for (const pieces of nightlyArchives(opts)) {
    const size = pieces.reduce((n, p) => n + p.length, 0);
    const tar = new Uint8Array(size);
    let off = 0;
    for (const p of pieces) {
      tar.set(p, off);
      off += p.length;
    }
    const p0 = performance.now();
    genMs = p0 - g0 - putMs;
    try {
      await r.put(bucket, `nightly/${String(night).padStart(2, "0")}.tar`, tar);
    } catch (e) {
      r.errors.push(`dedup: PUT night ${night}: ${(e as Error).message}`);
    }
    putMs += performance.now() - p0;
    if (night === 0) archiveBytes = size;
    totalBytes += size;
    night++;
  }
  const use = await cpu.stop();
  const after = await r.metrics();
  const stored = after.amber_stored_bytes - before.amber_stored_bytes;
  const plain = after.amber_unique_chunk_bytes - before.amber_unique_chunk_bytes;
  const logical = after.amber_logical_bytes - before.amber_logical_bytes;
  if (logical !== totalBytes) {
    r.errors.push(`dedup: amber_logical_bytes grew by ${logical}, ${totalBytes} were PUT`);
  }
  log("dedup: offline chunker prediction over the same archives");
  const predicted = measureDedup(CHUNK_AVG_BYTES, opts);
  const res: DedupVaultResult = {
    archives: night,
    archiveBytes,
    totalBytes,
    storedBytes: stored,
    uniquePlainBytes: plain,
    logicalBytes: logical,
    ratio: stored / archiveBytes,
    plainRatio: plain / archiveBytes,
    predictedPlainRatio: predicted.ratio,
    generateSeconds: genMs / 1000,
    putMBps: totalBytes / MB / (putMs / 1000),
    cpu: use,
  };
  log(
    `dedup: one archive ${(archiveBytes / MB).toFixed(1)} MB, ten ${
      (totalBytes / MB).toFixed(1)
    } MB; stored ${(stored / MB).toFixed(1)} MB = ${res.ratio.toFixed(3)}x ` +
      `(unique plaintext ${res.plainRatio.toFixed(3)}x, chunker predicts ${
        predicted.ratio.toFixed(3)
      }x); PUT ${res.putMBps.toFixed(1)} MB/s`,
  );
  return res;
}

// -------------------------------------------------------------- reporting

function pct(x: number): string {
  return `${(x * 100).toFixed(0)} %`;
}

function buildRows(
  limits: Limits,
  ceil: Ceilings,
  ph: Record<string, Phase>,
  list: ListResult,
  rss: { hwmMiB: number; maxSampledMiB: number },
  dedup: DedupVaultResult,
): Row[] {
  const writeLimit = Math.min(limits.fsyncWriteMBps, limits.aeadSealMBps);
  const wl = limits.fsyncWriteMBps < limits.aeadSealMBps ? "fsync write" : "AEAD";
  const ok = (b: boolean) => (b ? "pass" : "FAIL") as Row["pass"];
  const mbps = (p: Phase) => `${p.MBps.toFixed(1)} MB/s`;
  /** The share of what this client did against a null endpoint (ceiling.ts). */
  const ofCeiling = (p: Phase, c: Ceilings[keyof Ceilings], unit: "MB/s" | "ops/s" = "MB/s") =>
    unit === "MB/s"
      ? `${pct(p.MBps / c.MBps)} of the client ceiling (${c.MBps.toFixed(0)} MB/s)`
      : `${pct(p.opsPerSec / c.opsPerSec)} of the client ceiling (${c.opsPerSec.toFixed(0)} ops/s)`;
  const putBound = putClientBoundMBps(limits, ceil.put64);
  const plain4k = (ph.put4k.opsPerSec + ph.put4kAfter.opsPerSec) / 2;
  const rows: Row[] = [
    {
      figure: "64 MiB PUT (2 streams)",
      value: mbps(ph.put64),
      target: `≥ 50 % of min(fsync write, AEAD) = ${(writeLimit * 0.5).toFixed(0)} MB/s`,
      ratio: `${pct(ph.put64.MBps / writeLimit)} of ${wl}; ${
        pct(ph.put64.MBps / putCpuBoundMBps(limits))
      } of the CPU bound; ${ofCeiling(ph.put64, ceil.put64)}; ${
        pct(ph.put64.MBps / putBound)
      } of the bound with this client (${putBound.toFixed(0)} MB/s)`,
      pass: ok(ph.put64.MBps >= 0.5 * writeLimit && ph.put64.errors.length === 0),
      rgw: `${RGW.put64} MB/s`,
    },
    {
      figure: "64 MiB GET (2 streams)",
      value: mbps(ph.get64),
      target: `≥ 60 % of AEAD = ${(limits.aeadSealMBps * 0.6).toFixed(0)} MB/s`,
      ratio: `${pct(ph.get64.MBps / limits.aeadSealMBps)} of AEAD; ${
        ofCeiling(ph.get64, ceil.get64)
      }`,
      pass: ok(ph.get64.MBps >= 0.6 * limits.aeadSealMBps && ph.get64.errors.length === 0),
      rgw: `${RGW.get64} MB/s`,
    },
    {
      figure: "1 MiB PUT (8 streams)",
      value: mbps(ph.put1),
      target: "—",
      ratio: `${pct(ph.put1.MBps / writeLimit)} of ${wl}; ${ofCeiling(ph.put1, ceil.put1)}`,
      pass: "",
      rgw: `${RGW.put1} MB/s`,
    },
    {
      figure: "1 MiB GET (8 streams)",
      value: mbps(ph.get1),
      target: "—",
      ratio: `${pct(ph.get1.MBps / limits.aeadSealMBps)} of AEAD; ${ofCeiling(ph.get1, ceil.get1)}`,
      pass: "",
      rgw: "—",
    },
    {
      figure: "4 KiB PUT (16 streams)",
      value: `${ph.put4k.opsPerSec.toFixed(0)} ops/s`,
      target: "≥ 1,000 ops/s",
      ratio: `${(ph.put4k.opsPerSec / limits.fsync4kOpsPerSec).toFixed(1)}× serial fsyncs/s; ${
        ofCeiling(ph.put4k, ceil.put4k, "ops/s")
      }`,
      pass: ok(ph.put4k.opsPerSec >= 1000 && ph.put4k.errors.length === 0),
      rgw: `${RGW.put4kOps} ops/s`,
    },
    {
      figure: "4 KiB PUT into a COMPLIANCE-default bucket",
      value: `${ph.put4kLocked.opsPerSec.toFixed(0)} ops/s`,
      target: "lock costs < 10 %",
      ratio: `${pct(1 - ph.put4kLocked.opsPerSec / plain4k)} slower than plain before and after`,
      pass: ok(
        ph.put4kLocked.opsPerSec >= 0.9 * plain4k && ph.put4kLocked.errors.length === 0,
      ),
      rgw: "—",
    },
    {
      figure: `0-byte PUT, ${list.inserted.toLocaleString("en")} keys (48 streams)`,
      value: `${ph.insert.opsPerSec.toFixed(0)} ops/s`,
      target: "—",
      ratio: `${(ph.insert.opsPerSec / limits.fsync4kOpsPerSec).toFixed(1)}× serial fsyncs/s`,
      pass: "",
      rgw: "—",
    },
    {
      figure: `ListObjectsV2 page of 1,000 (of ${list.keys.toLocaleString("en")} keys), median`,
      value: `${list.pageMsSdkMedian.toFixed(1)} ms`,
      target: "< 50 ms",
      ratio: `raw HTTP ${list.pageMsRawMedian.toFixed(1)} ms`,
      pass: ok(list.pageMsSdkMedian < 50),
      rgw: `${(1000 / RGW.listKeysPerSec * 1000).toFixed(1)} ms`,
    },
    {
      figure: "Listing, full walk",
      value: `${list.fullWalkKeysPerSec.toFixed(0)} keys/s`,
      target: "—",
      ratio: `${(list.fullWalkKeysPerSec / RGW.listKeysPerSec).toFixed(2)}× RGW`,
      pass: "",
      rgw: `${RGW.listKeysPerSec.toLocaleString("en")} keys/s`,
    },
    {
      figure: "Peak RSS of the vault (VmHWM, all Workers)",
      value: `${rss.hwmMiB.toFixed(0)} MiB`,
      target: "≤ 256 MiB",
      ratio: `max sampled VmRSS ${rss.maxSampledMiB.toFixed(0)} MiB`,
      pass: ok(rss.hwmMiB <= 256),
      rgw: "1.3 GiB",
    },
    {
      figure: `Stored bytes, ${dedup.archives} nightly tars / one tar`,
      value: `${dedup.ratio.toFixed(2)}×`,
      target: "≈ 1.3× or better (≤ 1.35×)",
      ratio: `unique plaintext ${dedup.plainRatio.toFixed(2)}×, chunker predicts ${
        dedup.predictedPlainRatio.toFixed(2)
      }×`,
      pass: ok(dedup.ratio <= 1.35),
      rgw: `${dedup.archives}× (no dedup)`,
    },
  ];
  return rows;
}

function cpuTable(phases: Phase[], dedup: DedupVaultResult): string {
  const rows = [...phases.map((p) => [p.name, p.cpu] as const), ["dedup tars", dedup.cpu] as const];
  return rows.map(([n, u]) =>
    `  ${n.padEnd(22)} vault ${fmtCpu(u)}; busiest thread ${u.busiest.thread} ${
      u.busiest.cores.toFixed(2)
    }; client ${u.client.toFixed(2)}`
  ).join("\n");
}

// ------------------------------------------------------------------- main

/** The commit under test and the vault files that differ from it. */
async function codeVersion(): Promise<{ commit: string; dirty: string[] }> {
  const git = async (...args: string[]) => {
    try {
      const o = await new Deno.Command("git", {
        args,
        cwd: new URL("../..", import.meta.url).pathname,
        stdout: "piped",
        stderr: "null",
      }).output();
      return new TextDecoder().decode(o.stdout).trimEnd();
    } catch {
      return "";
    }
  };
  const commit = (await git("rev-parse", "--short", "HEAD")).trim();
  const dirty = (await git("status", "--porcelain", "--", "main.ts", "src"))
    .split("\n").filter((l) => l).map((l) => l.slice(3));
  return { commit: commit || "unknown", dirty };
}

/** Starts the vault, retrying: a start that hangs is recorded, not fatal. */
async function startWithRetry(): Promise<TestVault> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startVault();
    } catch (e) {
      startFailures.push(`start attempt ${attempt}: ${(e as Error).message.slice(0, 500)}`);
      log(`vault start attempt ${attempt} failed: ${(e as Error).message.split("\n")[0]}`);
      if (attempt >= 3) throw e;
    }
  }
}

const startFailures: string[] = [];

async function main() {
  const args = parseArgs(Deno.args);
  const plan = args.quick ? QUICK : FULL;
  const t0 = performance.now();
  const vault = await startWithRetry();
  const scratch = await Deno.makeTempDir({
    dir: vault.dataDir.replace(/\/[^/]+$/, ""),
    prefix: "amber-bench-",
  });
  log(`vault pid ${vault.pid} at ${vault.endpoint}, data ${vault.dataDir}; scratch ${scratch}`);
  const r = new Runner(vault);
  const loadBefore = (await procText("/proc/loadavg")).trim();
  const code = await codeVersion();
  log(
    `code under test: ${code.commit}${
      code.dirty.length ? ` + uncommitted ${code.dirty.join(", ")}` : ""
    }`,
  );
  r.errors.push(...startFailures);
  let ok = false;
  let nul: NullEndpoint | undefined;
  try {
    const limits = await measureLimits(scratch, plan);
    console.log("Machine limits (one core each for the CPU figures):");
    console.log(limitsTable(limits));
    nul = await NullEndpoint.start();
    const ceilings = {} as Ceilings;

    const B = "bench";
    await r.s3.send(new CreateBucketCommand({ Bucket: B }));

    const ph: Record<string, Phase> = {};
    {
      const { count, streams } = plan.big;
      const bodies = Array.from({ length: count }, () => randomBytes(64 * MIB));
      ceilings.put64 = await nul.put(count, streams, 64 * MIB);
      ph.put64 = await r.phase(
        "64 MiB PUT",
        { count, streams },
        (i) => r.put(B, `big/${i}`, bodies[i]),
      );
      bodies.length = 0;
      ceilings.get64 = await nul.get(count, streams, 64 * MIB);
      ph.get64 = await r.phase(
        "64 MiB GET",
        { count, streams },
        (i) => r.get(B, `big/${i}`, 64 * MIB),
      );
    }
    {
      const { count, streams } = plan.mid;
      const bodies = Array.from({ length: count }, () => randomBytes(MIB));
      ceilings.put1 = await nul.put(count, streams, MIB);
      ph.put1 = await r.phase(
        "1 MiB PUT",
        { count, streams },
        (i) => r.put(B, `mid/${i}`, bodies[i]),
      );
      bodies.length = 0;
      ceilings.get1 = await nul.get(count, streams, MIB);
      ph.get1 = await r.phase("1 MiB GET", { count, streams }, (i) => r.get(B, `mid/${i}`, MIB));
    }
    {
      const { count, streams } = plan.small;
      const bodies = Array.from({ length: count }, () => randomBytes(4096));
      ceilings.put4k = await nul.put(count, streams, 4096);
      await nul.stop();
      ph.put4k = await r.phase(
        "4 KiB PUT",
        { count, streams },
        (i) => r.put(B, `small/${i}`, bodies[i]),
      );
    }
    {
      // The same small writes into an Object Lock bucket with a default retention: the lock's cost.
      const { count, streams } = plan.small;
      const bodies = Array.from({ length: count }, () => randomBytes(4096));
      const K = "locked";
      await r.s3.send(new CreateBucketCommand({ Bucket: K, ObjectLockEnabledForBucket: true }));
      await r.s3.send(
        new PutObjectLockConfigurationCommand({
          Bucket: K,
          ObjectLockConfiguration: {
            ObjectLockEnabled: "Enabled",
            Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 1 } },
          },
        }),
      );
      ph.put4kLocked = await r.phase(
        "4 KiB PUT, locked bucket",
        { count, streams },
        (i) => r.put(K, `small/${i}`, bodies[i]),
      );
      // Plain again: the lock's cost is measured against both plain runs around it, so a drift of
      // this VM's speed during the three (tens of percent within minutes) cancels out.
      ph.put4kAfter = await r.phase(
        "4 KiB PUT, plain again",
        { count, streams },
        (i) => r.put(B, `small-again/${i}`, bodies[i]),
      );
    }
    const L = "listing";
    await r.s3.send(new CreateBucketCommand({ Bucket: L }));
    const empty = new Uint8Array(0);
    ph.insert = await r.phase(
      "0-byte PUT (list fill)",
      { count: plan.listKeys, streams: plan.insertStreams, capSeconds: plan.insertCapSeconds },
      (i) => r.put(L, `k/${String(i).padStart(7, "0")}`, empty),
    );
    const list = await listBench(r, L, ph.insert.ops - ph.insert.errors.length);

    const D = "dedup";
    await r.s3.send(new CreateBucketCommand({ Bucket: D }));
    const dedup = await dedupBench(r, D, plan.dedup);

    const hwmMiB = await statusKiB(vault.pid, "VmHWM") / 1024;
    await r.rss.stop();
    const rss = { hwmMiB, maxSampledMiB: r.rss.max / 1024 };

    const rows = buildRows(limits, ceilings, ph, list, rss, dedup);
    rows.push(auditVerifyRow(args.quick ? 20_000 : 200_000));
    rows.push(...erasureRows());
    rows.push(
      ...await driveRows(
        args.quick
          ? { objects: 4, objectMiB: 8, streams: 2 }
          : { objects: 16, objectMiB: 16, streams: 2 },
      ),
    );
    rows.push(
      ...await scrubRows(
        args.quick
          ? { objects: 8, objectMiB: 4, foreground: 16, streams: 2 }
          : { objects: 32, objectMiB: 8, foreground: 48, streams: 4 },
      ),
    );
    console.log("\nVault CPU by thread group per phase (cores; 2 = both cores busy):");
    console.log(cpuTable(r.phases, dedup));
    console.log("\nPeak vault RSS per phase (sampled every 100 ms):");
    console.log(
      r.phases.map((p) => `  ${p.name.padEnd(22)} ${p.maxRssMiB.toFixed(0)} MiB`).join("\n"),
    );
    console.log("\nThe client against a null endpoint, just before each vault phase:");
    console.log(ceilingTable(ceilings));
    console.log(
      `\nAmber vs limits and targets (${args.quick ? "QUICK run, not comparable" : "full run"}):`,
    );
    console.log(args.markdown ? markdownTable(rows) : textTable(rows));
    if (r.errors.length) {
      console.log(`\nErrors (${r.errors.length}):`);
      for (const e of r.errors.slice(0, 40)) console.log(`  ${e}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const load = { before: loadBefore, after: (await procText("/proc/loadavg")).trim() };
    console.log(`\nLoad average (1/5/15 min) before: ${load.before}; after: ${load.after}`);
    console.log(`\nBench took ${seconds.toFixed(0)} s on ${navigator.hardwareConcurrency} cores.`);
    if (args.json) {
      await Deno.writeTextFile(
        args.json,
        JSON.stringify(
          {
            date: new Date().toISOString(),
            quick: args.quick,
            cores: navigator.hardwareConcurrency,
            deno: Deno.version.deno,
            seconds,
            load,
            code,
            plan,
            limits,
            ceilings,
            phases: r.phases,
            list,
            rss,
            dedup,
            rgw: RGW,
            rows,
            errors: r.errors,
          },
          null,
          2,
        ) + "\n",
      );
      log(`wrote ${args.json}`);
    }
    ok = true;
  } finally {
    await nul?.stop();
    await r.rss.stop();
    r.s3.destroy();
    log("stopping the vault");
    const code = await Promise.race([
      vault.stop(),
      new Promise<string>((res) => setTimeout(() => res("timeout"), 15_000)),
    ]);
    if (code === "timeout") {
      console.error("bench: the vault did not stop within 15 s of SIGTERM; killing it");
      await vault.kill();
    } else if (code !== 0) console.error(`bench: the vault exited with code ${code}`);
    if (!ok) console.error(`bench: vault output:\n${vault.output().slice(-4000)}`);
    await Deno.remove(vault.dataDir, { recursive: true }).catch(() => {});
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
    log("done");
  }
}

if (import.meta.main) {
  await main();
  // Idle keep-alive sockets of the SDK would hold the process ~15 s more.
  Deno.exit(0);
}
