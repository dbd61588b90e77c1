import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { crc32 } from "node:zlib";
import { StoreError } from "./errors.ts";
import {
  decodeSegmentHeader,
  decodeShard,
  encodeRecord,
  encodeSegmentHeader,
  encodeShardHeader,
  RECORD_OVERHEAD_BYTES,
  RecordType,
  scanRecords,
  scanSegment,
  SEGMENT_FORMAT_VERSION,
  SEGMENT_HEADER_BYTES,
} from "./format.ts";

function storeErrorKind(kind: StoreError["kind"], pattern: RegExp) {
  return (e: unknown) => e instanceof StoreError && e.kind === kind && pattern.test(e.message);
}

function id(n: number): Uint8Array {
  return new Uint8Array(32).fill(n);
}

function segmentWith(payloadSizes: number[]): { bytes: Uint8Array; ends: number[] } {
  const parts = [encodeSegmentHeader({ vaultId: new Uint8Array(16).fill(9), segment: 3 })];
  const ends: number[] = [];
  let off = SEGMENT_HEADER_BYTES;
  payloadSizes.forEach((n, i) => {
    const payload = new Uint8Array(n).map((_, j) => (i * 31 + j) & 0xff);
    const rec = encodeRecord(RecordType.Chunk, id(i), payload);
    parts.push(rec);
    off += rec.length;
    ends.push(off);
  });
  const bytes = new Uint8Array(off);
  let p = 0;
  for (const part of parts) {
    bytes.set(part, p);
    p += part.length;
  }
  return { bytes, ends };
}

Deno.test("encodeSegmentHeader - round trips", () => {
  const vaultId = new Uint8Array(16).map((_, i) => i);
  const bytes = encodeSegmentHeader({ vaultId, segment: 0xfffffffe });
  assertEquals(bytes.length, SEGMENT_HEADER_BYTES);
  assertEquals(new TextDecoder().decode(bytes.subarray(0, 4)), "AMS1");
  assertEquals(decodeSegmentHeader(bytes), {
    version: SEGMENT_FORMAT_VERSION,
    vaultId,
    segment: 0xfffffffe,
  });
});

Deno.test("decodeSegmentHeader - rejects bad magic, version, checksum and truncation", () => {
  const good = encodeSegmentHeader({ vaultId: new Uint8Array(16), segment: 1 });
  throws(
    () => decodeSegmentHeader(good.subarray(0, 10), "000001.seg"),
    storeErrorKind("corrupt", /^Cannot open segment "000001\.seg": header is truncated$/),
  );
  const magic = good.slice();
  magic[0] ^= 1;
  throws(() => decodeSegmentHeader(magic), storeErrorKind("format", /not a segment file$/));
  const flipped = good.slice();
  flipped[20] ^= 0x10;
  throws(
    () => decodeSegmentHeader(flipped, "x.seg"),
    storeErrorKind("corrupt", /^Cannot open segment "x\.seg": header checksum mismatch$/),
  );
  const future = good.slice();
  future[4] = SEGMENT_FORMAT_VERSION + 1;
  new DataView(future.buffer).setUint32(28, crc32(future.subarray(0, 28)));
  throws(
    () => decodeSegmentHeader(future, "y.seg"),
    storeErrorKind("format", /^Cannot open segment "y\.seg": unsupported format version 3$/),
  );
});

Deno.test("scanRecords - finds every complete record", () => {
  const { bytes, ends } = segmentWith([0, 1, 100, 70_000]);
  const scan = scanRecords(bytes, SEGMENT_HEADER_BYTES);
  assertEquals(scan.records.length, 4);
  assertEquals(scan.validBytes, bytes.length);
  assertEquals(scan.records.map((r) => r.offset + r.length), ends);
  assertEquals(scan.records[2].id, id(2));
  assertEquals(scan.records[2].payloadLength, 100);
  assertEquals(scan.records[3].length, 70_000 + RECORD_OVERHEAD_BYTES);
  const p = scan.records[2];
  assertEquals(bytes[p.payloadOffset + 5], (2 * 31 + 5) & 0xff);
});

Deno.test("scanRecords - stops at a torn tail at every cut point", () => {
  const { bytes, ends } = segmentWith([10, 300, 50]);
  for (let cut = SEGMENT_HEADER_BYTES; cut < bytes.length; cut++) {
    const scan = scanRecords(bytes.subarray(0, cut), SEGMENT_HEADER_BYTES);
    const complete = ends.filter((e) => e <= cut);
    assertEquals(scan.records.length, complete.length);
    assertEquals(scan.validBytes, complete.at(-1) ?? SEGMENT_HEADER_BYTES);
  }
});

Deno.test("scanRecords - a bit flip anywhere in a record invalidates it and what follows", () => {
  const { bytes, ends } = segmentWith([20, 40, 30]);
  const second = { start: ends[0], end: ends[1] };
  for (let i = second.start; i < second.end; i++) {
    for (const bit of [0, 3, 7]) {
      const copy = bytes.slice();
      copy[i] ^= 1 << bit;
      const scan = scanRecords(copy, SEGMENT_HEADER_BYTES);
      assertEquals(scan.records.length, 1, `flip at ${i} bit ${bit}`);
      assertEquals(scan.validBytes, ends[0]);
    }
  }
});

Deno.test("scanRecords - garbage and zero-filled tails are not records", () => {
  const { bytes, ends } = segmentWith([20]);
  const withZeros = new Uint8Array(bytes.length + 4096);
  withZeros.set(bytes);
  assertEquals(scanRecords(withZeros, SEGMENT_HEADER_BYTES).validBytes, ends[0]);
  const huge = new Uint8Array(bytes.length + 64);
  huge.set(bytes);
  new DataView(huge.buffer).setUint32(bytes.length, 0xffffffff);
  assertEquals(scanRecords(huge, SEGMENT_HEADER_BYTES).records.length, 1);
});

Deno.test("encodeRecord - output owns its buffer and checks the id", () => {
  const rec = encodeRecord(RecordType.Tombstone, id(1), new Uint8Array(0));
  assertEquals(rec.byteLength, rec.buffer.byteLength);
  assertEquals(scanRecords(rec).records[0].type, RecordType.Tombstone);
  throws(() => encodeRecord(RecordType.Chunk, new Uint8Array(5), new Uint8Array(1)), RangeError);
  assert(RECORD_OVERHEAD_BYTES === 41);
});

Deno.test("decodeSegmentHeader - version 1 segments (whole chunks) stay readable", () => {
  const v1 = encodeSegmentHeader({ vaultId: new Uint8Array(16), segment: 3 });
  v1[4] = 1;
  new DataView(v1.buffer).setUint32(28, crc32(v1.subarray(0, 28)));
  assertEquals(decodeSegmentHeader(v1).version, 1);
});

Deno.test("encodeShardHeader - round trips, and a shard record scans with its own checksum", () => {
  const header = {
    shard: 3,
    k: 2,
    m: 2,
    sealedBytes: 1000,
    sealedCrc: 0xdeadbeef,
    plainBytes: 900,
  };
  const shard = new Uint8Array(500).fill(7);
  const payload = new Uint8Array([...encodeShardHeader(header), ...shard]);
  assertEquals(decodeShard(payload).header, header);
  assertEquals(decodeShard(payload).bytes, new Uint8Array(500).fill(7));
  const record = encodeRecord(RecordType.Shard, id(1), [encodeShardHeader(header), shard]);
  assertEquals(
    record,
    encodeRecord(RecordType.Shard, id(1), payload),
    "parts frame like one payload",
  );
  assertEquals(scanRecords(record).records.length, 1);
  record[100] ^= 1;
  assertEquals(scanRecords(record).records.length, 0, "a flipped shard byte fails its CRC");
  throws(
    () => decodeShard(encodeShardHeader({ ...header, shard: 4 })),
    storeErrorKind("corrupt", /does not fit 2\+2$/),
  );
});

Deno.test("scanSegment - damage in the middle is skipped and reported, a torn tail is cut", () => {
  const { bytes, ends } = segmentWith([100, 2000, 300, 50]);
  const damaged = bytes.slice();
  damaged[ends[0] + 500] ^= 0x40; // inside the second record
  const r = scanSegment(damaged, SEGMENT_HEADER_BYTES);
  assertEquals(r.records.map((x) => x.id[0]), [0, 2, 3]);
  assertEquals(r.damaged, [{ offset: ends[0], length: ends[1] - ends[0] }]);
  assertEquals(r.validBytes, bytes.length, "nothing after the damage is lost");
  // A torn tail (the last record cut short) is where the valid records end.
  const torn = damaged.subarray(0, ends[3] - 10);
  const t = scanSegment(torn, SEGMENT_HEADER_BYTES);
  assertEquals(t.records.map((x) => x.id[0]), [0, 2]);
  assertEquals(t.validBytes, ends[2]);
  // The plain scan still stops at the first bad record.
  assertEquals(scanRecords(damaged, SEGMENT_HEADER_BYTES).validBytes, ends[0]);
});
