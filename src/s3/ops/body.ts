/**
 * Request bodies in, object bytes out.
 *
 * `ingestBody` streams a request body through aws-chunked decoding and every
 * digest the client asked us to check, into the store in 1 MiB pieces with a
 * bounded number in flight (or, for a tiny PutObject, into memory for the
 * index), and returns the manifest only when all digests matched.
 * `readObject` streams a byte range of a version back, with a small
 * read-ahead.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  Budget,
  INLINE_MAX_BYTES,
  MANIFEST_ENTRY_BYTES,
  noteBufferChurn,
  type StoreResults,
  type VersionRecord,
} from "../../channel/mod.ts";
import { S3Error } from "../errors.ts";
import {
  type AwsChunkedDecoder,
  type ChecksumAlgorithm,
  createChecksum,
  decodeAwsChunked,
  parseChecksumHeaders,
} from "../sigv4/mod.ts";
import type { OpContext } from "./context.ts";
import { checkBodyLimit } from "./quota.ts";

/** Size of the pieces sent to the store; large enough to amortise messaging, small enough to stream. */
const PIECE_BYTES = 1024 * 1024;
/**
 * Pieces in flight to the store per upload: bounds memory at about 4 MiB per upload. A piece
 * spends about 40 ms between send and reply under load (queued behind other pieces, sealed,
 * waiting for the drives), so 3 capped an upload near 3 MiB per 40 ms. 4 measured as fast as 6,
 * with a peak RSS 11 MB lower.
 */
const PIECES_IN_FLIGHT = 4;
/**
 * Pieces in flight to the store across all uploads (see `channel/budget.ts`): three uploads' worth. The
 * bench's two 64 MiB streams use eight, its eight 1 MiB streams one each.
 */
const pieceBudget = new Budget(3 * PIECES_IN_FLIGHT);
/** Full-size pieces kept between uploads (the store hands each back): a fresh one costs page faults and zeroing. */
const IDLE_PIECES = 4;
const idlePieces: ArrayBuffer[] = [];
/** Plaintext bytes asked of the store in one message on GET. */
const READ_BATCH_BYTES = 1024 * 1024;
/**
 * Batches fetched ahead of the reader on GET: bounds memory at about 4 MiB per download. Two of
 * 1 MiB measured 3-20 % faster than three of 512 KiB (fewer messages and store calls per byte).
 */
const READ_AHEAD_BATCHES = 2;
/** Batches read ahead of their clients across all downloads (see `channel/budget.ts`). */
const readAheadBudget = new Budget(8);
/** Largest single PUT S3 accepts. */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;

/** What the store reported for a stream: bytes written to disk, new plaintext, new sealed bytes. */
export type WriteCounts = Omit<StoreResults["writeData"], "entries" | "piece">;

/** What a stored body produced. */
export type Ingested = IngestedBody & WriteCounts;

/** A stored body's manifest (or, kept for the index, the body itself), size and digests. */
interface IngestedBody {
  size: number;
  md5Hex: string;
  manifest: Uint8Array;
  inline?: Uint8Array;
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

function expectedLength(ctx: OpContext): number | undefined {
  const h = ctx.req.headers;
  const streaming = ctx.auth.payload.kind.startsWith("streaming");
  const raw = streaming ? h.get("x-amz-decoded-content-length") : h.get("content-length");
  if (raw === null) return undefined;
  if (!/^\d+$/.test(raw)) {
    throw new S3Error("InvalidArgument", { message: `Invalid content length "${raw}"` });
  }
  return Number(raw);
}

/**
 * Streams the request body into the store and verifies it: Content-MD5, the
 * signed SHA-256, aws-chunked chunk and trailer signatures, flexible checksums.
 *
 * @param ctx The operation context.
 * @param opts `maxBytes` refuses larger bodies; `checksumAlgorithm` computes that checksum even when the client sent
 *   none, and refuses a checksum of another algorithm (an upload's parts all carry the upload's);
 *   `limit` cuts the body off with its refusal once it passes `bytes` (a bucket quota); `inline` keeps a body
 *   declared at most {@linkcode INLINE_MAX_BYTES} long in memory, for the index, instead of storing it;
 *   `memory` keeps any body in memory (small request documents; bound it with `limit`);
 *   `objectChecksumHeaders`: `x-amz-checksum-*` headers describe an object, not this body
 *   (CompleteMultipartUpload), and are left to the caller.
 * @returns The manifest and digests.
 */
export async function ingestBody(
  ctx: OpContext,
  opts: {
    maxBytes?: number;
    checksumAlgorithm?: ChecksumAlgorithm;
    limit?: { bytes: number; refusal: () => S3Error };
    inline?: boolean;
    memory?: boolean;
    objectChecksumHeaders?: boolean;
  } = {},
): Promise<Ingested> {
  const headers = ctx.req.headers;
  const length = expectedLength(ctx);
  if (length === undefined && headers.get("transfer-encoding") === null && !opts.memory) {
    throw new S3Error("MissingContentLength");
  }
  if (length !== undefined && length > (opts.maxBytes ?? MAX_PUT_BYTES)) {
    throw new S3Error("EntityTooLarge", {
      extra: {
        ProposedSize: String(length),
        MaxSizeAllowed: String(opts.maxBytes ?? MAX_PUT_BYTES),
      },
    });
  }
  checkBodyLimit(opts.limit, length ?? 0);
  const contentMd5 = headers.get("content-md5");
  if (contentMd5 !== null && !/^[A-Za-z0-9+/]{22}==$/.test(contentMd5)) {
    throw new S3Error("InvalidDigest");
  }
  const wanted = parseChecksumHeaders(
    opts.objectChecksumHeaders ? withoutChecksumHeaders(headers) : headers,
  );
  if (opts.checksumAlgorithm && wanted && wanted.algorithm !== opts.checksumAlgorithm) {
    throw new S3Error("InvalidRequest", {
      message:
        `Checksum Type mismatch occurred, expected checksum Type: ${opts.checksumAlgorithm.toLowerCase()}, actual checksum Type: ${wanted.algorithm.toLowerCase()}`,
    });
  }
  const algorithm = wanted?.algorithm ?? opts.checksumAlgorithm;
  const checksum = algorithm ? createChecksum(algorithm) : undefined;
  const md5 = createHash("md5");
  const sha256 = ctx.auth.payload.kind === "sha256" ? createHash("sha256") : undefined;

  const chunked = headers.get("transfer-encoding") !== null;
  const p = ctx.auth.payload;
  const decoder = p.kind === "streaming-signed" || p.kind === "streaming-unsigned-trailer"
    ? decodeAwsChunked({ ...ctx.auth, decodedLength: length })
    : undefined;
  const trailers = decoder?.trailers;
  // Rejects with the stream's error, which the read below reports; never unhandled.
  trailers?.catch(() => undefined);
  const raw = ctx.req.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  const body = ctx.req.body && (chunked || (length ?? 0) > PIECE_BYTES)
    ? readInLargePieces(ctx.req.body, decoder)
    : decoder
    ? raw.pipeThrough(decoder.stream)
    : raw;

  let size = 0;
  const inspect = (value: Uint8Array) => {
    size += value.length;
    checkBodyLimit(opts.limit, size);
    if (length !== undefined && size > length) {
      throw new S3Error("IncompleteBody", {
        message: "The request body is longer than its declared length",
      });
    }
    md5.update(value);
    sha256?.update(value);
    checksum?.update(value);
  };
  const stored = opts.memory
    ? await readAll(body, inspect)
    : opts.inline && length !== undefined && length <= INLINE_MAX_BYTES
    ? await readInline(body, inspect, length)
    : await storeStream(ctx, body, inspect, length ?? Infinity);
  if (length !== undefined && size !== length) throw new S3Error("IncompleteBody");
  const md5Bytes = md5.digest();
  if (contentMd5 !== null && md5Bytes.toString("base64") !== contentMd5) {
    throw new S3Error("BadDigest");
  }
  if (sha256 && sha256.digest("hex") !== (p as { hex: string }).hex.toLowerCase()) {
    throw new S3Error("XAmzContentSHA256Mismatch");
  }
  const sent = await trailers;
  const announced = wanted?.source === "trailer" ? wanted.header : undefined;
  for (const name of sent?.keys() ?? []) {
    // S3 needs each trailer announced in x-amz-trailer; one that was not would go unchecked.
    if (name !== announced) {
      throw new S3Error("InvalidRequest", {
        message: `The trailer "${name}" was not announced in the x-amz-trailer header`,
      });
    }
  }
  let checksumValue: string | undefined;
  if (checksum && algorithm) {
    checksumValue = checksum.digestBase64();
    let expected = wanted?.source === "header" ? wanted.expected : undefined;
    if (wanted?.source === "trailer") {
      expected = sent?.get(wanted.header);
      if (expected === undefined) {
        throw new S3Error("InvalidRequest", {
          message: `The trailer "${wanted.header}" is missing`,
        });
      }
    }
    if (expected !== undefined && expected !== checksumValue) {
      throw new S3Error("BadDigest", {
        message: `The ${algorithm} you specified did not match the calculated checksum.`,
      });
    }
  }
  return {
    ...stored,
    size,
    md5Hex: md5Bytes.toString("hex"),
    checksum: checksumValue && algorithm ? { algorithm, value: checksumValue } : undefined,
  };
}

/** The headers but the `x-amz-checksum-*` ones (and the SDK's note of their algorithm, unless a trailer has it). */
function withoutChecksumHeaders(headers: Headers): Headers {
  const trailer = headers.has("x-amz-trailer");
  const out = new Headers();
  headers.forEach((value, name) => {
    if (name.startsWith("x-amz-checksum-")) return;
    if (name === "x-amz-sdk-checksum-algorithm" && !trailer) return;
    out.set(name, value);
  });
  return out;
}

/**
 * Pumps a byte stream into one store write session, in pieces with a bounded
 * number in flight. The session is recorded in `ctx.writes`, so the request's
 * end releases it whether the manifest was committed or not.
 *
 * @param ctx Gives the store client.
 * @param stream The bytes.
 * @param inspect Sees every piece before it is stored; may throw to stop.
 * @param expectedBytes The declared length, when known: a small body then gets a small buffer.
 * @returns The manifest and byte counts.
 */
export async function storeStream(
  ctx: Pick<OpContext, "store" | "writes">,
  stream: ReadableStream<Uint8Array>,
  inspect: (bytes: Uint8Array) => void = () => {},
  expectedBytes = Infinity,
): Promise<{ manifest: Uint8Array } & WriteCounts> {
  const writeId = crypto.randomUUID();
  ctx.writes.push(writeId);
  const inFlight: Promise<Omit<StoreResults["writeData"], "piece">>[] = [];
  const entries: Uint8Array[] = [];
  const counts: WriteCounts = { storedBytes: 0, newBytes: 0, sealedBytes: 0 };
  const take = (r: Omit<StoreResults["writeData"], "piece">) => {
    entries.push(r.entries);
    counts.storedBytes += r.storedBytes;
    counts.newBytes += r.newBytes;
    counts.sealedBytes += r.sealedBytes;
  };
  const nextPiece = () => {
    const left = expectedBytes - sent;
    const bytes = left > 0
      ? Math.min(PIECE_BYTES, left)
      : Number.isFinite(expectedBytes)
      ? 0
      : PIECE_BYTES;
    const idle = bytes === PIECE_BYTES ? idlePieces.pop() : undefined;
    return idle ? new Uint8Array(idle) : new Uint8Array(bytes);
  };
  let sent = 0;
  let piece = nextPiece();
  let fill = 0;
  const send = async (last: boolean) => {
    const data = fill === piece.length ? piece : piece.slice(0, fill);
    if (data !== piece) keepPiece(piece.buffer as ArrayBuffer);
    // The buffers Deno read a body of at most a piece into (larger ones refill one buffer).
    noteBufferChurn(data.length);
    const buffer = data.buffer as ArrayBuffer;
    const offset = sent;
    sent += data.length; // before the transfer detaches the buffer
    await pieceBudget.take();
    inFlight.push(
      // The piece comes back at once, not when this upload next waits for a reply: one waiting
      // for a slot of the budget would hold its returned pieces meanwhile.
      ctx.store.call({ type: "writeData", writeId, offset, data: buffer, last }, [buffer])
        .then(({ piece, ...rest }) => (keepPiece(piece), rest))
        .finally(() => pieceBudget.give()),
    );
    piece = last ? new Uint8Array(0) : nextPiece();
    fill = 0;
    if (inFlight.length >= PIECES_IN_FLIGHT) take(await inFlight.shift()!);
  };
  const reader = stream.getReader();
  try {
    while (true) {
      const { done, value } = await readBody(reader);
      if (done) break;
      inspect(value);
      let off = 0;
      while (off < value.length) {
        const n = Math.min(value.length - off, piece.length - fill);
        if (n === 0) {
          throw new S3Error("IncompleteBody", {
            message: "The request body is longer than its declared length",
          });
        }
        piece.set(value.subarray(off, off + n), fill);
        fill += n;
        off += n;
        // The piece that completes the declared length goes out below as the last one.
        if (fill === piece.length && sent + fill < expectedBytes) await send(false);
      }
    }
    await send(true); // the tail (possibly empty) ends the session
    while (inFlight.length > 0) take(await inFlight.shift()!);
    return { manifest: concat(entries), ...counts };
  } catch (e) {
    reader.cancel().catch(() => undefined);
    await Promise.allSettled(inFlight);
    throw e;
  }
}

/** Keeps a full-size piece for the next upload, up to {@linkcode IDLE_PIECES}. */
function keepPiece(buffer: ArrayBuffer): void {
  if (buffer.byteLength === PIECE_BYTES && idlePieces.length < IDLE_PIECES) idlePieces.push(buffer);
}

/**
 * Reads a body declared `length` bytes long into memory: a tiny object, kept
 * in the index with its version. `inspect` refuses a body longer than declared
 * before it is copied.
 */
async function readInline(
  stream: ReadableStream<Uint8Array>,
  inspect: (bytes: Uint8Array) => void,
  length: number,
): Promise<{ manifest: Uint8Array; inline?: Uint8Array } & WriteCounts> {
  const inline = new Uint8Array(length);
  let fill = 0;
  const reader = stream.getReader();
  try {
    for (let r = await readBody(reader); !r.done; r = await readBody(reader)) {
      inspect(r.value);
      inline.set(r.value, fill);
      fill += r.value.length;
    }
  } catch (e) {
    reader.cancel().catch(() => undefined);
    throw e;
  }
  // An empty body needs neither: its manifest is empty.
  const kept = length > 0 ? inline : undefined;
  return { manifest: new Uint8Array(0), inline: kept, storedBytes: 0, newBytes: 0, sealedBytes: 0 };
}

/** Reads a whole body into memory, however long it said it was (the caller bounds it). */
async function readAll(
  stream: ReadableStream<Uint8Array>,
  inspect: (bytes: Uint8Array) => void,
): Promise<{ manifest: Uint8Array; inline: Uint8Array } & WriteCounts> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  try {
    for (let r = await readBody(reader); !r.done; r = await readBody(reader)) {
      inspect(r.value);
      parts.push(r.value.slice());
    }
  } catch (e) {
    reader.cancel().catch(() => undefined);
    throw e;
  }
  return {
    manifest: new Uint8Array(0),
    inline: concat(parts),
    storedBytes: 0,
    newBytes: 0,
    sealedBytes: 0,
  };
}

/** How long a request body may send nothing before it is refused (S3 waits about as long), ms. */
const BODY_IDLE_MS = 20_000;

/**
 * Reads the next piece of a request body; a client that went away or broke off gets
 * `IncompleteBody`, one that sends nothing for {@linkcode BODY_IDLE_MS} `RequestTimeout` (its
 * buffers and store session are let go, where they were held for as long as it kept the socket).
 */
function readBody(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new S3Error("RequestTimeout")), BODY_IDLE_MS);
  });
  return Promise.race([reader.read(), idle]).catch((e) => {
    throw e instanceof S3Error ? e : new S3Error("IncompleteBody", { cause: e });
  }).finally(() => clearTimeout(timer));
}

/** Bytes asked of the request body per read. */
const BODY_READ_BYTES = 1024 * 1024;
/** Decoded runs in one read beyond which they are joined (aws-chunked from SDKs: 64 KiB chunks, 16). */
const MANY_RUNS = 64;
/** Bytes of a body of tiny aws-chunked chunks decoded per turn (about 10 ms of 1-byte chunks). */
const TINY_SLICE_BYTES = 64 * 1024;

/**
 * Reads a request body with 1 MiB BYOB reads, decoding aws-chunked framing
 * (when `decoder` is given) as each read arrives. With the default 64 KiB
 * reads, Deno's request body costs grow with the bytes buffered behind them,
 * so a client that outpaces the store (the AWS SDK's aws-chunked streams) made
 * multi-GiB uploads slow down quadratically.
 *
 * Every read refills the buffer of the one before (a fresh 1 MiB buffer cost
 * page faults and zeroing per read). That is safe because the read detaches
 * the old buffer, and because this stream, with a high-water mark of 0, reads
 * again only when its queue is empty and its consumer (`storeStream`,
 * `readInline`: both copy what they are given) asks for more.
 */
function readInLargePieces(
  body: ReadableStream<Uint8Array>,
  decoder?: AwsChunkedDecoder,
): ReadableStream<Uint8Array> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream (Deno hands small bodies over whole): read it as it is.
    return decoder ? body.pipeThrough(decoder.stream) : body;
  }
  let buffer = new ArrayBuffer(BODY_READ_BYTES);
  let tiny = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let enqueued = false;
      const emit = (payload: Uint8Array) => {
        controller.enqueue(payload);
        enqueued = true;
      };
      try {
        while (!enqueued) {
          const { done, value } = await reader.read(new Uint8Array(buffer));
          if (done) {
            decoder?.end();
            controller.close();
            return;
          }
          buffer = value.buffer as ArrayBuffer;
          if (!decoder) {
            emit(value);
            continue;
          }
          // Tiny aws-chunked chunks (a read of them is all in memory already, and Deno hands it
          // over without returning to the event loop) are decoded a slice at a time, each joined
          // into one copy for the consumer, with a turn for the router's other requests between:
          // a whole read of 1-byte chunks took 140 ms to decode and stalled every other request.
          for (let at = 0; at < value.length;) {
            const slice = value.subarray(at, tiny ? at + TINY_SLICE_BYTES : value.length);
            at += slice.length;
            const runs: Uint8Array[] = [];
            decoder.push(slice, (run) => runs.push(run));
            if (runs.length <= MANY_RUNS) {
              for (const run of runs) emit(run);
              continue;
            }
            tiny = true;
            emit(concat(runs));
            await new Promise((turn) => setTimeout(turn, 0));
          }
        }
      } catch (e) {
        reader.cancel(e).catch(() => undefined); // a refused body is not read any further
        throw e;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * Reads a small XML request body, verified as an object body is: against the
 * signed SHA-256 (a signed request replayed with another document is
 * refused), chunk signatures, Content-MD5 and flexible checksums (unless
 * `objectChecksumHeaders`: see {@linkcode ingestBody}).
 *
 * @returns The body text.
 */
export async function readXmlBody(
  ctx: OpContext,
  maxBytes: number,
  opts: { objectChecksumHeaders?: boolean } = {},
): Promise<string> {
  const tooLarge = () => new S3Error("MalformedXML", { message: "The XML body is too large" });
  const { inline } = await ingestBody(ctx, {
    memory: true,
    limit: { bytes: maxBytes, refusal: tooLarge },
    ...opts,
  });
  return new TextDecoder().decode(inline);
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Streams bytes `[start, end)` of an object version: from its inline body, or
 * from the store by its manifest. The first chunk is fetched before the
 * stream is returned, so a damaged or missing chunk at the start fails the
 * request with an error status instead of a truncated 200; later damage
 * aborts the stream, never yielding wrong bytes.
 *
 * @param ctx Gives the store client.
 * @param version The version's packed manifest, or its inline body.
 * @param start First byte.
 * @param end One past the last byte.
 * @returns A stream of the range.
 */
export async function readObject(
  ctx: Pick<OpContext, "store">,
  version: Pick<VersionRecord, "manifest" | "inline">,
  start: number,
  end: number,
): Promise<ReadableStream<Uint8Array>> {
  const { manifest, inline } = version;
  if (inline) {
    return new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(inline.subarray(start, end));
        controller.close();
      },
    });
  }
  const view = new DataView(manifest.buffer, manifest.byteOffset, manifest.byteLength);
  // Group the chunks overlapping the range into batches of about READ_BATCH_BYTES.
  const batches: { from: number; upTo: number; offset: number; size: number }[] = [];
  let offset = 0;
  let first = -1;
  let batchOffset = 0;
  let batchSize = 0;
  const close = (upTo: number) => {
    if (first < 0) return;
    batches.push({ from: first, upTo, offset: batchOffset, size: batchSize });
    first = -1;
  };
  let i = 0;
  // Up to the last chunk the range overlaps: a small range near the start of a large object read
  // (and opened) everything after it, in one message.
  for (; i < manifest.length && offset < end; i += MANIFEST_ENTRY_BYTES) {
    const size = view.getUint32(i + 32);
    if (offset + size > start) {
      if (first < 0) {
        first = i;
        batchOffset = offset;
        batchSize = 0;
      }
      batchSize += size;
      if (batchSize >= READ_BATCH_BYTES) close(i + MANIFEST_ENTRY_BYTES);
    }
    offset += size;
  }
  close(i);
  // Read in more than one message, the download pins its chunks in the store until it ends: the
  // version may be deleted meanwhile, and the collector must not take what is still to be sent.
  let readId: string | undefined;
  if (batches.length > 1) {
    readId = crypto.randomUUID();
    const entries = manifest.slice(batches[0].from, batches[batches.length - 1].upTo);
    ctx.store.call({ type: "readPin", readId, entries }, [entries.buffer]).catch(() => undefined);
  }
  const unpin = () => {
    if (readId === undefined) return;
    ctx.store.call({ type: "readEnd", readId }).catch(() => undefined);
    readId = undefined;
  };
  let next = 0;
  /** Batches asked of the store, oldest first; `ahead` holds a slot of the read-ahead budget. */
  const pending: { batch: Promise<StoreResults["readChunks"]>; ahead: boolean }[] = [];
  /** Asks for the next batch if none is pending, and (`readAhead`) one beyond it while the budget allows. */
  const fetchMore = (readAhead: boolean) => {
    while (next < batches.length && pending.length < (readAhead ? READ_AHEAD_BATCHES : 1)) {
      const isAhead = pending.length > 0;
      if (isAhead && !readAheadBudget.tryTake()) return;
      const b = batches[next++];
      const batch = ctx.store.call({
        type: "readChunks",
        entries: manifest.slice(b.from, b.upTo),
        readId,
      });
      batch.catch(() => undefined); // observed when its turn comes; never an unhandled rejection
      pending.push({ batch, ahead: isAhead });
    }
  };
  /** Ends the download early: its batches read ahead give their slots back, and its pin goes. */
  const stop = () => {
    for (const p of pending.splice(0)) if (p.ahead) readAheadBudget.give();
    unpin();
  };
  let index = 0;
  /**
   * The next batch's chunks, cut to the range; the pin goes with the last one, or a failure.
   * Reads ahead only once the client reads (`readAhead`): an answer that never goes out holds no slot.
   */
  const take = async (readAhead: boolean): Promise<Uint8Array[]> => {
    fetchMore(readAhead);
    const b = batches[index++];
    const { batch, ahead } = pending.shift()!;
    // Read now: no longer ahead of the client.
    if (ahead) readAheadBudget.give();
    const { chunks } = await batch.finally(() => {
      if (index >= batches.length) unpin();
    }).catch((e) => {
      stop();
      throw e;
    });
    const from = start - b.offset;
    const to = end - b.offset;
    const out: Uint8Array[] = [];
    let at = 0;
    for (const c of chunks) {
      noteBufferChurn(c.byteLength);
      const bytes = new Uint8Array(c);
      if (at >= from && at + bytes.length <= to) out.push(bytes);
      else if (at < to && at + bytes.length > from) {
        out.push(bytes.subarray(Math.max(0, from - at), Math.min(bytes.length, to - at)));
      }
      at += bytes.length;
    }
    return out;
  };
  const firstChunks = batches.length > 0 ? await take(false) : [];
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of firstChunks) controller.enqueue(c);
    },
    async pull(controller) {
      if (index >= batches.length) {
        controller.close();
        return;
      }
      for (const c of await take(true)) controller.enqueue(c);
    },
    cancel: stop,
  }, { highWaterMark: 0 });
}
