/**
 * A streaming decoder for `aws-chunked` request bodies, with chunk-signature
 * and trailer-signature verification.
 *
 * The body looks like this (signed mode shown; unsigned mode has no
 * `;chunk-signature=…` and no `x-amz-trailer-signature` line):
 *
 * ```text
 * 10000;chunk-signature=<sig1>\r\n <65536 bytes> \r\n
 * 400;chunk-signature=<sig2>\r\n <1024 bytes> \r\n
 * 0;chunk-signature=<sig3>\r\n
 * x-amz-checksum-crc32c:sOO8/Q==\r\n          (trailers, only in -TRAILER modes)
 * x-amz-trailer-signature:<sig4>\r\n          (signed trailer mode only)
 * \r\n
 * ```
 *
 * Decoded bytes pass through as they arrive (nothing is buffered beyond one
 * header line). A chunk's signature can only be checked at its end, so the
 * bytes of a chunk are emitted before its signature is known good: the
 * consumer must treat the data as valid only once the stream has finished
 * without error (S3 semantics: nothing is visible before the request
 * completes).
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { S3Error } from "../errors.ts";
import { EMPTY_SHA256_HEX, hmacHex, sameHex, sha256Hex } from "./canonical.ts";
import type { PayloadMode } from "./verify.ts";

/** Longest accepted chunk-header or trailer line, in bytes. */
export const MAX_LINE_BYTES = 4096;
/** Largest accepted trailer section, in bytes (S3 trailers are a few checksums). */
export const MAX_TRAILER_BYTES = 16 * 1024;

/** Options for {@linkcode decodeAwsChunked}. Spread an `AuthResult` into it. */
export interface DecodeAwsChunkedOptions {
  /** The streaming payload mode from `verifyRequest`. */
  payload: PayloadMode;
  /** The signing key; required for `streaming-signed`. */
  signingKey?: Uint8Array;
  /** The request signature, which seeds the chunk chain; required for `streaming-signed`. */
  seedSignature?: string;
  /** The credential scope; required for `streaming-signed`. */
  scope?: string;
  /** The request time `YYYYMMDDTHHMMSSZ`; required for `streaming-signed`. */
  amzDate?: string;
  /** `x-amz-decoded-content-length`, when the client sent it. */
  decodedLength?: number;
}

/** The result of {@linkcode decodeAwsChunked}. */
export interface AwsChunkedDecoder {
  /** Pipe the raw body through this; the readable side yields the decoded payload. */
  stream: TransformStream<Uint8Array, Uint8Array>;
  /**
   * The same decoding without a stream: decodes the next raw bytes and hands
   * each run of payload to `emit`, as views of `buf`, before it returns.
   * Throws what the stream would error with. Use either this or `stream`.
   */
  push(buf: Uint8Array, emit: (payload: Uint8Array) => void): void;
  /** Ends a body fed through `push`: throws `IncompleteBody` unless it ended well. */
  end(): void;
  /**
   * The trailers (lower-case name → value, without `x-amz-trailer-signature`),
   * resolved when the body ended well, rejected with the stream's error.
   */
  trailers: Promise<Map<string, string>>;
}

const CHUNK_STS_PREFIX = "AWS4-HMAC-SHA256-PAYLOAD";
const TRAILER_STS_PREFIX = "AWS4-HMAC-SHA256-TRAILER";
const TRAILER_SIGNATURE = "x-amz-trailer-signature";
const HEX_SIZE = /^[0-9a-fA-F]{1,15}$/;
const SIGNATURE = /^[0-9a-fA-F]{64}$/;

const enum State {
  SizeLine,
  Data,
  DataCr,
  DataLf,
  TrailerLine,
  Done,
}

function framing(detail: string): S3Error {
  return new S3Error("InvalidRequest", { message: `Cannot decode aws-chunked body: ${detail}` });
}

/** Latin-1 decoding of a header line (framing is ASCII). */
function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

/**
 * Creates a streaming `aws-chunked` decoder.
 *
 * In `streaming-signed` mode every chunk signature is checked, chained from
 * the seed signature, and with `trailer: true` the trailer signature too.
 * In `streaming-unsigned-trailer` mode chunks carry no signatures and the
 * trailers are returned unchecked (their checksum is the integrity check).
 *
 * @param opts The payload mode, signing material and expected decoded length.
 * @returns The transform stream and a promise of the trailers.
 * @throws {S3Error} `InvalidRequest` when `opts.payload` is not a streaming mode or signing
 *   material is missing. The stream errors with `IncompleteBody` (truncated or shorter than
 *   `decodedLength`), `InvalidRequest` (bad framing), or `SignatureDoesNotMatch`.
 *
 * @example
 * ```ts
 * import { decodeAwsChunked } from "./chunked.ts";
 * const { stream, trailers } = decodeAwsChunked({ payload: { kind: "streaming-unsigned-trailer" } });
 * const body = "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
 * const out = await new Response(
 *   new Blob([body]).stream().pipeThrough(stream),
 * ).text();
 * if (out !== "hello") throw new Error(out);
 * if ((await trailers).get("x-amz-checksum-crc32") !== "NhCmhg==") throw new Error();
 * ```
 */
export function decodeAwsChunked(opts: DecodeAwsChunkedOptions): AwsChunkedDecoder {
  const mode = opts.payload;
  if (mode.kind !== "streaming-signed" && mode.kind !== "streaming-unsigned-trailer") {
    throw new S3Error("InvalidRequest", {
      message: `Cannot decode aws-chunked body: payload mode "${mode.kind}" is not streaming`,
    });
  }
  const signed = mode.kind === "streaming-signed";
  const trailersAllowed = mode.kind === "streaming-unsigned-trailer" || mode.trailer;
  const key = opts.signingKey;
  const scope = opts.scope;
  const amzDate = opts.amzDate;
  let prevSignature = opts.seedSignature ?? "";
  if (signed && (!key || !scope || !amzDate || !opts.seedSignature)) {
    throw new S3Error("InvalidRequest", {
      message: "Cannot decode aws-chunked body: signed mode needs the signing key, scope, " +
        "date and seed signature",
    });
  }

  let resolveTrailers!: (m: Map<string, string>) => void;
  let rejectTrailers!: (e: unknown) => void;
  const trailers = new Promise<Map<string, string>>((res, rej) => {
    resolveTrailers = res;
    rejectTrailers = rej;
  });
  // The caller may never await trailers; keep a failed body from becoming an unhandled rejection.
  trailers.catch(() => {});

  let state = State.SizeLine;
  const line = new Uint8Array(MAX_LINE_BYTES);
  let lineLen = 0;
  let remaining = 0;
  let chunkSignature = "";
  let hash: Hash | undefined;
  let decoded = 0;
  let trailerBytes = 0;
  const trailerMap = new Map<string, string>();
  let canonicalTrailers = "";
  let trailerSignature: string | undefined;

  function verifyChunk(chunkHashHex: string): void {
    if (!signed) return;
    const sts = `${CHUNK_STS_PREFIX}\n${amzDate}\n${scope}\n${prevSignature}\n` +
      `${EMPTY_SHA256_HEX}\n${chunkHashHex}`;
    const expected = hmacHex(key!, sts);
    if (!sameHex(expected, chunkSignature)) {
      throw new S3Error("SignatureDoesNotMatch", {
        extra: { StringToSign: sts, SignatureProvided: chunkSignature },
      });
    }
    prevSignature = expected;
  }

  function onSizeLine(text: string): void {
    const semi = text.indexOf(";");
    const sizeText = (semi < 0 ? text : text.slice(0, semi)).trim();
    if (!HEX_SIZE.test(sizeText)) throw framing(`invalid chunk size "${sizeText.slice(0, 32)}"`);
    const size = parseInt(sizeText, 16);
    chunkSignature = "";
    if (signed) {
      const ext = semi < 0 ? "" : text.slice(semi + 1).trim();
      const eq = ext.indexOf("=");
      const name = eq < 0 ? ext : ext.slice(0, eq).trim();
      const value = eq < 0 ? "" : ext.slice(eq + 1).trim();
      if (name !== "chunk-signature" || !SIGNATURE.test(value)) {
        throw framing("missing or invalid chunk-signature");
      }
      chunkSignature = value;
    }
    if (size === 0) {
      verifyChunk(EMPTY_SHA256_HEX);
      if (opts.decodedLength !== undefined && decoded !== opts.decodedLength) {
        throw new S3Error("IncompleteBody", {
          message: `The decoded body has ${decoded} bytes but x-amz-decoded-content-length ` +
            `is ${opts.decodedLength}`,
        });
      }
      state = State.TrailerLine;
      return;
    }
    if (opts.decodedLength !== undefined && decoded + size > opts.decodedLength) {
      throw framing(`chunks exceed x-amz-decoded-content-length ${opts.decodedLength}`);
    }
    remaining = size;
    if (signed) hash = createHash("sha256");
    state = State.Data;
  }

  function onTrailerLine(text: string): void {
    if (text === "") {
      finishTrailers();
      return;
    }
    if (!trailersAllowed) throw framing("trailers sent but x-amz-content-sha256 declares none");
    if (trailerSignature !== undefined) throw framing("trailer after x-amz-trailer-signature");
    const colon = text.indexOf(":");
    if (colon <= 0) throw framing("mal-formed trailer line");
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === TRAILER_SIGNATURE) {
      if (signed) {
        if (!SIGNATURE.test(value)) throw framing("invalid x-amz-trailer-signature");
        trailerSignature = value;
      }
      return;
    }
    if (trailerMap.has(name)) throw framing(`duplicate trailer "${name}"`);
    trailerMap.set(name, value);
    canonicalTrailers += `${name}:${value}\n`;
  }

  function finishTrailers(): void {
    if (signed && trailersAllowed) {
      if (trailerSignature === undefined) throw framing("missing x-amz-trailer-signature");
      const sts = `${TRAILER_STS_PREFIX}\n${amzDate}\n${scope}\n${prevSignature}\n` +
        sha256Hex(canonicalTrailers);
      const expected = hmacHex(key!, sts);
      if (!sameHex(expected, trailerSignature)) {
        throw new S3Error("SignatureDoesNotMatch", {
          extra: { StringToSign: sts, SignatureProvided: trailerSignature },
        });
      }
    }
    state = State.Done;
  }

  /** Appends bytes of the current line; returns the line when complete, else undefined. */
  function takeLine(
    buf: Uint8Array,
    pos: number,
    limit: number,
  ): [line: string | undefined, next: number] {
    const lf = buf.indexOf(0x0a, pos);
    const end = lf < 0 ? buf.length : lf;
    const n = end - pos;
    if (lineLen + n > limit) {
      throw framing(state === State.SizeLine ? "chunk header line too long" : "trailers too long");
    }
    line.set(buf.subarray(pos, end), lineLen);
    lineLen += n;
    if (lf < 0) return [undefined, buf.length];
    let len = lineLen;
    if (len > 0 && line[len - 1] === 0x0d) len--;
    const text = latin1(line.subarray(0, len));
    lineLen = 0;
    return [text, lf + 1];
  }

  function fail(e: unknown): never {
    rejectTrailers(e);
    throw e;
  }

  function push(buf: Uint8Array, emit: (payload: Uint8Array) => void): void {
    try {
      let pos = 0;
      while (pos < buf.length) {
        switch (state) {
          case State.SizeLine: {
            const [text, next] = takeLine(buf, pos, MAX_LINE_BYTES);
            pos = next;
            if (text !== undefined) onSizeLine(text);
            break;
          }
          case State.Data: {
            const n = Math.min(remaining, buf.length - pos);
            const piece = buf.subarray(pos, pos + n);
            hash?.update(piece);
            emit(piece);
            pos += n;
            remaining -= n;
            decoded += n;
            if (remaining === 0) {
              if (hash) verifyChunk(hash.digest("hex"));
              hash = undefined;
              state = State.DataCr;
            }
            break;
          }
          case State.DataCr:
            if (buf[pos++] !== 0x0d) throw framing("chunk data not followed by CRLF");
            state = State.DataLf;
            break;
          case State.DataLf:
            if (buf[pos++] !== 0x0a) throw framing("chunk data not followed by CRLF");
            state = State.SizeLine;
            break;
          case State.TrailerLine: {
            const before = pos;
            const limit = Math.min(MAX_LINE_BYTES, MAX_TRAILER_BYTES - trailerBytes);
            const [text, next] = takeLine(buf, pos, limit);
            trailerBytes += next - before;
            pos = next;
            if (text !== undefined) onTrailerLine(text);
            break;
          }
          case State.Done:
            throw framing("data after the end of the body");
        }
      }
    } catch (e) {
      fail(e);
    }
  }

  function end(): void {
    try {
      // Tolerate a body that ends right after the last trailer line, without the final CRLF.
      if (state === State.TrailerLine && lineLen === 0) finishTrailers();
      if (state !== State.Done) {
        throw new S3Error("IncompleteBody", {
          message: "The aws-chunked body ended before its final chunk",
        });
      }
      resolveTrailers(trailerMap);
    } catch (e) {
      fail(e);
    }
  }

  const stream = new TransformStream<Uint8Array, Uint8Array>({
    transform(buf, controller) {
      push(buf, (payload) => controller.enqueue(payload));
    },
    flush: end,
    cancel(reason) {
      rejectTrailers(reason);
    },
  });
  return { stream, trailers, push, end };
}
