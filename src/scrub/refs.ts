/**
 * Read-only access to the object index (`meta/index.db`): chunk reference
 * counts and the manifests of versions and unfinished uploads' parts, read
 * in primary-key pages so memory stays bounded however large the index is.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { MANIFEST_ENTRY_BYTES, type ScrubObjectRef } from "../channel/mod.ts";
import { toHex } from "../store/mod.ts";

/** Rows read per page. */
const PAGE_ROWS = 500;

/** A manifest and the object it belongs to. */
export interface OwnedManifest {
  owner: ScrubObjectRef;
  manifest: Uint8Array;
}

/** The object index, read-only. */
export class RefIndex {
  readonly #db: DatabaseSync;

  /** @param path The index file (`<data dir>/meta/index.db`). */
  constructor(path: string) {
    try {
      this.#db = new DatabaseSync(path, { readOnly: true });
    } catch (e) {
      throw new Error(`Cannot open the index "${path}": ${(e as Error).message}`);
    }
  }

  /** Chunks with a reference count, and versions plus parts holding manifests. */
  totals(): { chunks: number; objects: number } {
    const n = (q: string) => (this.#db.prepare(q).get() as { n: number }).n;
    return {
      chunks: n("SELECT count(*) AS n FROM chunks"),
      objects: n("SELECT count(*) AS n FROM versions WHERE delete_marker = 0") +
        n("SELECT count(*) AS n FROM parts"),
    };
  }

  /**
   * Reference counts of the chunks whose 16-bit id prefix lies in `[lo, hi)`.
   *
   * @param lo First prefix.
   * @param hi Prefix past the last.
   * @returns Hex id → count.
   */
  refsInRange(lo: number, hi: number): Map<string, number> {
    const from = new Uint8Array([lo >> 8, lo & 0xff]);
    const rows = hi >= 65536
      ? this.#db.prepare("SELECT id, refs FROM chunks WHERE id >= ?").iterate(from)
      : this.#db.prepare("SELECT id, refs FROM chunks WHERE id >= ? AND id < ?").iterate(
        from,
        new Uint8Array([hi >> 8, hi & 0xff]),
      );
    const out = new Map<string, number>();
    for (const r of rows as Iterable<{ id: Uint8Array; refs: number }>) {
      out.set(toHex(r.id), r.refs);
    }
    return out;
  }

  /** The reference count of one chunk (0 when the index does not know it). */
  references(id: Uint8Array): number {
    const row = this.#db.prepare("SELECT refs FROM chunks WHERE id = ?").get(id) as
      | { refs: number }
      | undefined;
    return row?.refs ?? 0;
  }

  /** Every manifest of a version or an unfinished upload's part, page by page. */
  *manifests(): Generator<OwnedManifest> {
    let after = { bucket: "", key: new Uint8Array(0) as Uint8Array, versionId: "" };
    const versions = this.#db.prepare(
      `SELECT bucket, key, version_id, manifest FROM versions
       WHERE (bucket, key, version_id) > (?, ?, ?) ORDER BY bucket, key, version_id LIMIT ?`,
    );
    while (true) {
      const rows = versions.all(after.bucket, after.key, after.versionId, PAGE_ROWS) as {
        bucket: string;
        key: Uint8Array;
        version_id: string;
        manifest: Uint8Array;
      }[];
      for (const r of rows) {
        yield {
          owner: { bucket: r.bucket, key: keyText(r.key), versionId: r.version_id },
          manifest: r.manifest,
        };
      }
      if (rows.length < PAGE_ROWS) break;
      const last = rows[rows.length - 1];
      after = { bucket: last.bucket, key: last.key, versionId: last.version_id };
    }
    let afterPart = { uploadId: "", partNumber: 0 };
    const parts = this.#db.prepare(
      `SELECT p.upload_id, p.part_number, p.manifest, u.bucket, u.key FROM parts p
       LEFT JOIN uploads u ON u.upload_id = p.upload_id
       WHERE (p.upload_id, p.part_number) > (?, ?) ORDER BY p.upload_id, p.part_number LIMIT ?`,
    );
    while (true) {
      const rows = parts.all(afterPart.uploadId, afterPart.partNumber, PAGE_ROWS) as {
        upload_id: string;
        part_number: number;
        manifest: Uint8Array;
        bucket: string | null;
        key: Uint8Array | null;
      }[];
      for (const r of rows) {
        yield {
          owner: {
            bucket: r.bucket ?? "",
            key: r.key ? keyText(r.key) : "",
            uploadId: r.upload_id,
            partNumber: r.part_number,
          },
          manifest: r.manifest,
        };
      }
      if (rows.length < PAGE_ROWS) break;
      const last = rows[rows.length - 1];
      afterPart = { uploadId: last.upload_id, partNumber: last.part_number };
    }
  }

  /**
   * Up to `limit` sealed inline bodies with ids above `after`, in id order (none in an index
   * written before they existed: the scrubber opens it read-only, unmigrated).
   */
  inlineBodies(after: number, limit: number): { id: number; sealed: Uint8Array }[] {
    const table = this.#db.prepare(
      "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'inline_bodies'",
    ).get();
    if (!table) return [];
    return this.#db.prepare(
      "SELECT id, sealed FROM inline_bodies WHERE id > ? ORDER BY id LIMIT ?",
    ).all(after, limit) as { id: number; sealed: Uint8Array }[];
  }

  /** The version that holds inline body `id` (a scan: only for a damaged body). */
  inlineOwners(id: number): ScrubObjectRef[] {
    const rows = this.#db.prepare(
      "SELECT bucket, key, version_id FROM versions WHERE inline_id = ?",
    ).all(id) as { bucket: string; key: Uint8Array; version_id: string }[];
    return rows.map((r) => ({ bucket: r.bucket, key: keyText(r.key), versionId: r.version_id }));
  }

  /**
   * Runs `fn` inside one read transaction, so everything it reads comes
   * from one snapshot of the index (WAL readers do not block writers).
   */
  async snapshot<T>(fn: () => T | Promise<T>): Promise<T> {
    this.#db.exec("BEGIN");
    try {
      return await fn();
    } finally {
      this.#db.exec("COMMIT");
    }
  }

  /** Closes the index. */
  close(): void {
    this.#db.close();
  }
}

/** The chunk ids of a manifest. */
export function* manifestIds(manifest: Uint8Array): Generator<Uint8Array> {
  for (let off = 0; off + MANIFEST_ENTRY_BYTES <= manifest.length; off += MANIFEST_ENTRY_BYTES) {
    yield manifest.subarray(off, off + 32);
  }
}

function keyText(key: Uint8Array | string): string {
  return typeof key === "string" ? key : new TextDecoder().decode(key);
}
