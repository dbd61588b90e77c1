/**
 * The chunk store service: write sessions that chunk, deduplicate, seal and
 * append; reads that verify and open.
 *
 * @module
 */

import type { Handled, StoreRequest, StoreResults, WireError } from "../channel/mod.ts";
import { MANIFEST_ENTRY_BYTES, noteBufferChurn } from "../channel/mod.ts";
import { Chunker } from "./chunker.ts";
import { StoreError } from "./errors.ts";
import { chunkId, openChunk, readSealedHeader, sealChunk } from "./seal.ts";
import { SegmentStore } from "./segments.ts";

/** Write sessions idle this long are dropped (their client went away without aborting). */
const SESSION_IDLE_MS = 15 * 60 * 1000;

/** Keys the store needs. */
export interface StoreKeys {
  idKey: Uint8Array;
  sealKey: Uint8Array;
  vaultId: Uint8Array;
}

interface Session {
  chunker: Chunker;
  lastUsed: number;
}

function assertNever(x: never): never {
  throw new Error(`Unknown store request "${(x as { type: string }).type}"`);
}

/** The chunk store of one vault. */
export class StoreService {
  #segments: SegmentStore;
  #keys: StoreKeys;
  #sessions = new Map<string, Session>();
  /** Chunks being written now, so concurrent uploads of the same chunk store it once. */
  #inFlight = new Map<string, Promise<void>>();
  #sweeper: ReturnType<typeof setInterval>;

  private constructor(segments: SegmentStore, keys: StoreKeys) {
    this.#segments = segments;
    this.#keys = keys;
    this.#sweeper = setInterval(() => this.#sweep(), 60_000);
  }

  /**
   * Opens the store under `dir`.
   *
   * @param dir Directory for segments and the chunk index.
   * @param keys Chunk-id and seal keys, and the vault id.
   */
  static async open(dir: string, keys: StoreKeys): Promise<StoreService> {
    const segments = await SegmentStore.open(
      dir,
      keys.vaultId,
      (payload) => readSealedHeader(payload).plaintextBytes,
    );
    return new StoreService(segments, keys);
  }

  #sweep() {
    const cutoff = Date.now() - SESSION_IDLE_MS;
    for (const [id, s] of this.#sessions) if (s.lastUsed < cutoff) this.#sessions.delete(id);
  }

  /** Handles one request. */
  async handle(req: StoreRequest): Promise<Handled<StoreResults[StoreRequest["type"]]>> {
    switch (req.type) {
      case "ping":
        return { result: { ok: true } };
      case "writeData": {
        const s = this.#session(req.writeId);
        noteBufferChurn(req.data.byteLength * 3); // the piece, its chunks and their sealed records
        return { result: await this.#storeChunks(s.chunker.push(new Uint8Array(req.data))) };
      }
      case "writeEnd": {
        const s = this.#session(req.writeId);
        this.#sessions.delete(req.writeId);
        const tail = s.chunker.flush();
        return { result: await this.#storeChunks(tail ? [tail] : []) };
      }
      case "writeAbort":
        return { result: { aborted: this.#sessions.delete(req.writeId) } };
      case "readChunks": {
        const data = await this.#readChunks(req.entries);
        noteBufferChurn(data.byteLength * 3); // records read, opened plaintexts, and the reply
        return { result: { data }, transfer: [data] };
      }
      case "stats":
        return { result: this.#segments.stats() };
      default:
        return assertNever(req);
    }
  }

  async #readChunks(entries: Uint8Array): Promise<ArrayBuffer> {
    const view = new DataView(entries.buffer, entries.byteOffset, entries.byteLength);
    const count = entries.length / MANIFEST_ENTRY_BYTES;
    const ids: Uint8Array[] = [];
    const offsets: number[] = [];
    let total = 0;
    for (let i = 0; i < count; i++) {
      ids.push(entries.subarray(i * MANIFEST_ENTRY_BYTES, i * MANIFEST_ENTRY_BYTES + 32));
      offsets.push(total);
      total += view.getUint32(i * MANIFEST_ENTRY_BYTES + 32);
    }
    const out = new Uint8Array(total);
    const sealed = await this.#segments.readMany(ids);
    sealed.forEach((s, i) => {
      const plain = openChunk(this.#keys.sealKey, ids[i], s);
      const expected = (i + 1 < count ? offsets[i + 1] : total) - offsets[i];
      if (plain.length !== expected) {
        throw new StoreError(
          "corrupt",
          `Cannot read chunk: length ${plain.length} is not the expected ${expected}`,
        );
      }
      out.set(plain, offsets[i]);
    });
    return out.buffer;
  }

  #session(writeId: string): Session {
    let s = this.#sessions.get(writeId);
    if (!s) {
      s = { chunker: new Chunker(), lastUsed: Date.now() };
      this.#sessions.set(writeId, s);
    }
    s.lastUsed = Date.now();
    return s;
  }

  async #storeChunks(chunks: Uint8Array[]): Promise<StoreResults["writeData"]> {
    const entries = new Uint8Array(chunks.length * MANIFEST_ENTRY_BYTES);
    const view = new DataView(entries.buffer);
    const waits: Promise<void>[] = [];
    let storedBytes = 0;
    let newBytes = 0;
    chunks.forEach((chunk, i) => {
      const id = chunkId(this.#keys.idKey, chunk);
      entries.set(id, i * MANIFEST_ENTRY_BYTES);
      view.setUint32(i * MANIFEST_ENTRY_BYTES + 32, chunk.length);
      const hex = Array.from(id, (b) => b.toString(16).padStart(2, "0")).join("");
      const inFlight = this.#inFlight.get(hex);
      if (inFlight) {
        waits.push(inFlight);
        return;
      }
      if (this.#segments.has(id)) return;
      const { durable, recordBytes } = this.#segments.append(
        id,
        sealChunk(this.#keys.sealKey, id, chunk),
        chunk.length,
      );
      storedBytes += recordBytes;
      newBytes += chunk.length;
      const done = durable.finally(() => this.#inFlight.delete(hex));
      this.#inFlight.set(hex, done);
      waits.push(done);
    });
    await Promise.all(waits);
    return { entries, storedBytes, newBytes };
  }

  /** Stops background work and closes files. */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    await this.#segments.close();
  }
}

/** Turns anything thrown by the store into a wire-safe error. */
export function storeErrorToWire(e: unknown): WireError {
  if (e instanceof StoreError) return { area: "store", kind: e.kind, message: e.message };
  return {
    area: "internal",
    kind: "internal",
    message: e instanceof Error ? e.message : String(e),
  };
}
