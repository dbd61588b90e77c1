/**
 * Drives: the directories a vault's chunk shards live on, one per slot, each
 * with a marker file naming its vault and slot.
 *
 * At start-up every configured path is classified:
 *
 * - marker present: it must name this vault and this slot, or the vault
 *   refuses to start (a drive from another vault, or drives listed in the
 *   wrong order, would otherwise be written over or read as garbage);
 * - no marker, empty: a new drive. On a new vault (no drive has a marker
 *   yet) it is simply marked; otherwise it replaces a lost drive and is
 *   marked `rebuilding` until its shards are rebuilt;
 * - no marker, holding segments of this vault: a data dir from before drive
 *   markers (format v1), adopted as it is;
 * - no marker, anything else in it: refused;
 * - missing path: the drive is offline (a new vault creates it instead).
 *
 * @module
 */

import { log } from "../ops/mod.ts";
import { writeFileDurably } from "./durable_file.ts";
import { StoreError } from "./errors.ts";
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES, toHex } from "./format.ts";

/** Name of the marker file at the root of every drive. */
export const DRIVE_MARKER_FILE = "amber-drive.json";

/** Version of the marker file format. */
export const DRIVE_MARKER_VERSION = 1;

/** Entries a fresh file system may hold that do not make a drive "not empty". */
const IGNORED_ENTRIES = new Set(["lost+found"]);

/** What a drive's marker file says. */
export interface DriveMarker {
  /** Marker format version. */
  format: number;
  /** Hex id of the vault the drive belongs to. */
  vaultId: string;
  /** Slot of the drive in the vault's drive list, from 0. */
  drive: number;
  /** `rebuilding` until a replacement drive holds all its shards. */
  state: "ready" | "rebuilding";
}

/** How a drive was found at start-up. */
export interface DriveSlot {
  /** Slot index. */
  index: number;
  /** Absolute path. */
  path: string;
  /** `offline`: the path is missing; the others are open for use. */
  state: "ready" | "rebuilding" | "offline";
}

/**
 * Reads a drive's marker.
 *
 * @param path Drive path.
 * @returns The marker, or undefined when there is none.
 * @throws {StoreError} `format` when the marker cannot be parsed.
 */
export function readMarker(path: string): DriveMarker | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${path}/${DRIVE_MARKER_FILE}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    const m = JSON.parse(text) as DriveMarker;
    if (
      m.format !== DRIVE_MARKER_VERSION || typeof m.vaultId !== "string" ||
      !Number.isInteger(m.drive) || (m.state !== "ready" && m.state !== "rebuilding")
    ) {
      throw new Error(`unsupported marker ${JSON.stringify(text.slice(0, 200))}`);
    }
    return m;
  } catch (e) {
    throw new StoreError(
      "format",
      `Cannot use drive "${path}": its marker "${DRIVE_MARKER_FILE}" is unreadable (${
        (e as Error).message
      })`,
    );
  }
}

/**
 * Writes a drive's marker durably (temp file, fsync, rename, fsync of the dir).
 *
 * @param path Drive path.
 * @param marker The marker.
 */
export function writeMarker(path: string, marker: DriveMarker): void {
  writeFileDurably(`${path}/${DRIVE_MARKER_FILE}`, JSON.stringify(marker, null, 2) + "\n");
}

function entries(path: string): string[] | undefined {
  try {
    return [...Deno.readDirSync(path)].map((e) => e.name).filter((n) => !IGNORED_ENTRIES.has(n));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** True when `path` holds format v1 segments of this vault and no marker (a pre-drives data dir). */
function isLegacyStore(path: string, names: string[], vaultId: Uint8Array): boolean {
  const seg = names.filter((n) => /^\d{8}\.seg$/.test(n)).sort()[0];
  if (!seg) return false;
  const f = Deno.openSync(`${path}/${seg}`, { read: true });
  try {
    const buf = new Uint8Array(SEGMENT_HEADER_BYTES);
    const n = f.readSync(buf) ?? 0;
    const header = decodeSegmentHeader(buf.subarray(0, n), `${path}/${seg}`);
    return header.vaultId.every((b, i) => b === vaultId[i]);
  } finally {
    f.close();
  }
}

/**
 * Classifies and marks the configured drives (see the module doc).
 *
 * @param paths Absolute drive paths, in slot order.
 * @param vaultId The vault's id.
 * @returns One slot per path.
 * @throws {StoreError} `format` naming the first drive that is refused.
 */
export function prepareDrives(paths: string[], vaultId: Uint8Array): DriveSlot[] {
  const id = toHex(vaultId);
  const found = paths.map((path, index) => {
    let names: string[] | undefined;
    let marker: DriveMarker | undefined;
    try {
      names = entries(path);
      marker = names === undefined ? undefined : readMarker(path);
    } catch (e) {
      // A drive whose directory or marker cannot be read is offline, as when that happens while
      // the vault runs: one failing drive of m must not keep the vault from starting (session-13
      // durability review). Its marker is not rewritten, so it is never taken for a new drive.
      return { path, index, names: undefined, marker: undefined, problem: (e as Error).message };
    }
    if (marker && marker.vaultId !== id) {
      throw new StoreError(
        "format",
        `Cannot use drive "${path}" in slot ${index}: it belongs to another vault (${marker.vaultId})`,
      );
    }
    if (marker && marker.drive !== index) {
      throw new StoreError(
        "format",
        `Cannot use drive "${path}" in slot ${index}: it is drive ${marker.drive} of this vault (check the order of AMBER_DRIVES)`,
      );
    }
    return { path, index, names, marker, problem: undefined };
  });
  const known = found.some((d) =>
    d.marker || (d.names && d.names.length > 0 && isLegacyStore(d.path, d.names, vaultId))
  );
  return found.map(({ path, index, names, marker, problem }): DriveSlot => {
    if (problem !== undefined) {
      log("warn", "A drive cannot be read at start; it is offline", {
        drive: path,
        slot: index,
        error: problem,
      });
      return { index, path, state: "offline" };
    }
    if (marker) return { index, path, state: marker.state };
    if (names === undefined && known) return { index, path, state: "offline" };
    if (names === undefined) Deno.mkdirSync(path, { recursive: true });
    let state: DriveSlot["state"];
    if (!names || names.length === 0) state = known ? "rebuilding" : "ready";
    else if (isLegacyStore(path, names, vaultId)) state = "ready";
    else {
      throw new StoreError(
        "format",
        `Cannot use drive "${path}" in slot ${index}: it is not empty and has no "${DRIVE_MARKER_FILE}" marker`,
      );
    }
    writeMarker(path, { format: DRIVE_MARKER_VERSION, vaultId: id, drive: index, state });
    return { index, path, state };
  });
}

/**
 * Checks a drive that was offline or vanished while the vault ran, and marks
 * it when it came back empty.
 *
 * @param slot The slot.
 * @param vaultId The vault's id.
 * @returns The drive's state now: `offline` when it is still missing or
 *   unusable, `rebuilding` when it is back (a returning drive may have missed
 *   writes, so it is checked like a replacement).
 */
export function probeDrive(slot: { index: number; path: string }, vaultId: Uint8Array): {
  state: DriveSlot["state"];
  problem?: string;
} {
  try {
    const names = entries(slot.path);
    if (names === undefined) return { state: "offline", problem: "the path is missing" };
    const marker = readMarker(slot.path);
    if (marker && (marker.vaultId !== toHex(vaultId) || marker.drive !== slot.index)) {
      return { state: "offline", problem: "its marker names another vault or slot" };
    }
    if (!marker && names.length > 0) {
      return { state: "offline", problem: "it is not empty and has no marker" };
    }
    writeMarker(slot.path, {
      format: DRIVE_MARKER_VERSION,
      vaultId: toHex(vaultId),
      drive: slot.index,
      state: "rebuilding",
    });
    return { state: "rebuilding" };
  } catch (e) {
    return { state: "offline", problem: (e as Error).message };
  }
}

/**
 * True while the drive's marker is in place (a cheap liveness check: a drive
 * that was unmounted or wiped loses it).
 *
 * @param path Drive path.
 */
export function markerPresent(path: string): boolean {
  try {
    Deno.statSync(`${path}/${DRIVE_MARKER_FILE}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuses to start when the data dir's own store (the default drive, and
 * the only one before drives were configurable) holds segments but is not
 * among the configured drives: its chunks would silently go missing.
 *
 * @param dataDir The data dir.
 * @param drives Configured drive paths.
 * @throws {StoreError} `format` naming the fix.
 */
export function refuseUnlistedStore(dataDir: string, drives: string[]): void {
  const own = `${dataDir}/store`;
  if (drives.includes(own)) return;
  const names = entries(own) ?? [];
  if (names.some((n) => /^\d{8}\.seg$/.test(n))) {
    throw new StoreError(
      "format",
      `Cannot start with AMBER_DRIVES that leave out "${own}": it holds this vault's chunks (list it as the first drive)`,
    );
  }
}
