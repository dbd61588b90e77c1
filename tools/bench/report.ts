/**
 * How `deno task bench` reports: its tables, and the audit-verify row
 * (timed in memory, no vault needed).
 *
 * @module
 */

import { auditHash, type AuditRecord, verifyAudit } from "../../src/meta/audit.ts";
import { log, nameValueLines, type Row } from "./common.ts";
import type { CeilingPhase } from "./ceiling.ts";
import type { Limits } from "./limits.ts";

/** Times audit-chain verification over `n` synthetic records and scales it to a million. */
export function auditVerifyRow(n: number): Row {
  log(`audit-verify: ${n} synthetic records`);
  const records: AuditRecord[] = [];
  let prev: Uint8Array = new Uint8Array(32);
  for (let seq = 1; seq <= n; seq++) {
    const entry = {
      time: 1_800_000_000_000 + seq,
      op: "putVersion",
      target: `/backups/data/${seq.toString(16).padStart(8, "0")}`,
      outcome: "done" as const,
      detail: "versionId=Fnydhs2EaJbKXQ2NxK0_KA",
    };
    const hash = auditHash(seq, entry, prev);
    records.push({ ...entry, seq, prev, hash });
    prev = hash;
  }
  const t0 = performance.now();
  const r = verifyAudit(records);
  const perMillion = (performance.now() - t0) / 1000 * (1_000_000 / n);
  return {
    figure: "audit-verify, per million records (in memory)",
    value: `${perMillion.toFixed(1)} s`,
    target: "—",
    ratio: `${r.checked.toLocaleString("en")} records checked`,
    pass: r.brokenAt === undefined ? "" : "FAIL",
    rgw: "—",
  };
}

/** The rows as an aligned text table. */
export function textTable(rows: Row[]): string {
  const head: Row = {
    figure: "Figure",
    value: "Value",
    target: "Target",
    ratio: "Ratio / note",
    pass: "" as Row["pass"],
    rgw: "Ceph RGW",
  };
  const all = [head, ...rows];
  const keys = ["figure", "value", "target", "ratio", "pass", "rgw"] as const;
  const w = keys.map((k) =>
    Math.max(...all.map((r) => (k === "pass" && r === head ? "Pass" : r[k]).length))
  );
  const line = (r: Row) =>
    keys.map((k, i) => (k === "pass" && r === head ? "Pass" : r[k]).padEnd(w[i])).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

/** The rows as a Markdown table. */
export function markdownTable(rows: Row[]): string {
  const out = [
    "| Figure | Value | Target | Ratio / note | Pass | Ceph RGW |",
    "|---|---:|---|---|---|---:|",
  ];
  for (const r of rows) {
    out.push(
      `| ${r.figure} | ${r.value} | ${r.target} | ${r.ratio} | ${r.pass || "—"} | ${r.rgw} |`,
    );
  }
  return out.join("\n");
}

/**
 * The most a PUT could reach if this machine's two cores did nothing but the
 * per-byte work every stored byte needs (the ETag's MD5, the chunker, the
 * chunk id's HMAC-SHA-256 and the seal), perfectly spread: no HTTP, no
 * copies, no kernel, no client.
 *
 * @returns MB/s.
 */
export function putCpuBoundMBps(l: Limits): number {
  const nsPerByte = 1000 / l.md5MBps + 1000 / l.chunkerMBps + 1000 / l.sha256MBps +
    1000 / l.aeadSealMBps;
  return (2 * 1000) / nsPerByte;
}

/**
 * The most a PUT could reach with this client: the CPU bound's per-byte work
 * plus the CPU the client and HTTP spent per byte against the null endpoint,
 * all on two cores, and never above what the client did there.
 *
 * @returns MB/s.
 */
export function putClientBoundMBps(l: Limits, c: CeilingPhase): number {
  const coreSecondsPerMB = 2 / putCpuBoundMBps(l) + (c.clientCores + c.serverCores) / c.MBps;
  return Math.min(c.MBps, 2 / coreSecondsPerMB);
}

/** This machine's limits, one per line. */
export function limitsTable(l: Limits): string {
  return nameValueLines([
    [
      "fsync'd sequential write (1 MiB writes, datasync per 4 MiB)",
      `${l.fsyncWriteMBps.toFixed(0)} MB/s`,
    ],
    ["serial 4 KiB write + datasync", `${l.fsync4kOpsPerSec.toFixed(0)} ops/s`],
    ["ChaCha20-Poly1305 seal, 64 KiB chunks (node:crypto)", `${l.aeadSealMBps.toFixed(0)} MB/s`],
    ["ChaCha20-Poly1305 open, 64 KiB chunks", `${l.aeadOpenMBps.toFixed(0)} MB/s`],
    ["SHA-256 (node:crypto)", `${l.sha256MBps.toFixed(0)} MB/s`],
    ["MD5 (node:crypto)", `${l.md5MBps.toFixed(0)} MB/s`],
    ["CRC32 (node:zlib)", `${l.crc32MBps.toFixed(0)} MB/s`],
    ["FastCDC chunker (src/store/chunker.ts)", `${l.chunkerMBps.toFixed(0)} MB/s`],
    [
      "PUT CPU bound: MD5 + chunker + HMAC + seal on both cores",
      `${putCpuBoundMBps(l).toFixed(0)} MB/s`,
    ],
  ]);
}
