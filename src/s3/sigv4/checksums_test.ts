import { deepStrictEqual as assertEquals, throws } from "node:assert";
import { S3Error } from "../errors.ts";
import {
  CHECKSUM_ALGORITHMS,
  crc32c,
  crc64nvme,
  createChecksum,
  isValidChecksumValue,
  parseChecksumHeaders,
} from "./checksums.ts";

const enc = new TextEncoder();

function digest(alg: (typeof CHECKSUM_ALGORITHMS)[number], data: Uint8Array): string {
  const c = createChecksum(alg);
  c.update(data);
  return c.digestBase64();
}

function hexToBase64(hex: string): string {
  return btoa(String.fromCharCode(...hex.match(/../g)!.map((h) => parseInt(h, 16))));
}

Deno.test('checksums - check values of "123456789"', () => {
  const d = enc.encode("123456789");
  assertEquals(crc32c(d), 0xe3069283);
  assertEquals(crc64nvme(d), [0xae8b1486, 0x0a799888]);
  assertEquals(digest("CRC32", d), hexToBase64("cbf43926"));
  assertEquals(digest("CRC32C", d), hexToBase64("e3069283"));
  assertEquals(digest("CRC64NVME", d), hexToBase64("ae8b14860a799888"));
  assertEquals(digest("SHA1", d), hexToBase64("f7c3bc1d808e04732adf679965ccc34ca7ae3441"));
  assertEquals(
    digest("SHA256", d),
    hexToBase64("15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"),
  );
});

Deno.test("checksums - empty input and the AWS trailer example (66560 x 'a')", () => {
  const empty = new Uint8Array(0);
  assertEquals(digest("CRC32", empty), "AAAAAA==");
  assertEquals(digest("CRC32C", empty), "AAAAAA==");
  assertEquals(digest("CRC64NVME", empty), "AAAAAAAAAAA=");
  assertEquals(digest("SHA256", empty), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  // From the AWS "Signature calculations for trailing headers" example.
  assertEquals(digest("CRC32C", new Uint8Array(66560).fill(0x61)), "sOO8/Q==");
});

Deno.test("checksums - any split of the input gives the same digest", () => {
  const data = new Uint8Array(1000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  for (const alg of CHECKSUM_ALGORITHMS) {
    const whole = digest(alg, data);
    for (const step of [1, 3, 7, 8, 9, 64, 999]) {
      const c = createChecksum(alg);
      for (let o = 0; o < data.length; o += step) c.update(data.subarray(o, o + step));
      assertEquals(c.digestBase64(), whole, `${alg} step ${step}`);
    }
    // digestBase64 does not end the checksum.
    const c = createChecksum(alg);
    c.update(data.subarray(0, 10));
    c.digestBase64();
    c.update(data.subarray(10));
    assertEquals(c.digestBase64(), whole, `${alg} after an early digest`);
  }
});

Deno.test("checksums - isValidChecksumValue checks shape and length", () => {
  assertEquals(isValidChecksumValue("CRC32C", "sOO8/Q=="), true);
  assertEquals(isValidChecksumValue("CRC32C", "sOO8/Q="), false);
  assertEquals(isValidChecksumValue("CRC32", "rosUhgp5mIg="), false);
  assertEquals(isValidChecksumValue("CRC64NVME", "rosUhgp5mIg="), true);
  assertEquals(
    isValidChecksumValue("SHA256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
    true,
  );
  assertEquals(isValidChecksumValue("SHA1", "not base64 at all!!!!!!!!!!!"), false);
});

function expectInvalid(h: Record<string, string>, message?: string) {
  throws(
    () => parseChecksumHeaders(new Headers(h)),
    (e: unknown) =>
      e instanceof S3Error && e.code === "InvalidRequest" &&
      (message === undefined || e.message === message),
  );
}

Deno.test("parseChecksumHeaders - finds the header, the trailer, or nothing", () => {
  assertEquals(parseChecksumHeaders(new Headers({ host: "h" })), undefined);
  assertEquals(
    parseChecksumHeaders(new Headers({ "x-amz-checksum-crc32c": "sOO8/Q==" })),
    {
      algorithm: "CRC32C",
      source: "header",
      header: "x-amz-checksum-crc32c",
      expected: "sOO8/Q==",
    },
  );
  assertEquals(
    parseChecksumHeaders(
      new Headers({
        "x-amz-sdk-checksum-algorithm": "crc64nvme",
        "x-amz-checksum-crc64nvme": "rosUhgp5mIg=",
      }),
    ),
    {
      algorithm: "CRC64NVME",
      source: "header",
      header: "x-amz-checksum-crc64nvme",
      expected: "rosUhgp5mIg=",
    },
  );
  assertEquals(
    parseChecksumHeaders(
      new Headers({
        "x-amz-sdk-checksum-algorithm": "CRC32",
        "x-amz-trailer": "x-amz-checksum-crc32",
      }),
    ),
    { algorithm: "CRC32", source: "trailer", header: "x-amz-checksum-crc32" },
  );
  // x-amz-checksum-type / -algorithm (multipart) are not checksum values.
  assertEquals(
    parseChecksumHeaders(
      new Headers({ "x-amz-checksum-type": "FULL_OBJECT", "x-amz-checksum-algorithm": "CRC32" }),
    ),
    undefined,
  );
});

Deno.test("parseChecksumHeaders - refuses conflicting or mal-formed checksums", () => {
  const multiple =
    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.";
  expectInvalid(
    { "x-amz-checksum-crc32c": "sOO8/Q==", "x-amz-checksum-crc32": "sOO8/Q==" },
    multiple,
  );
  expectInvalid(
    { "x-amz-checksum-crc32c": "sOO8/Q==", "x-amz-trailer": "x-amz-checksum-crc32" },
    multiple,
  );
  expectInvalid({ "x-amz-trailer": "x-amz-checksum-crc32, x-amz-checksum-sha1" }, multiple);
  expectInvalid(
    { "x-amz-checksum-crc32c": "sOO8" },
    "Value for x-amz-checksum-crc32c header is invalid.",
  );
  expectInvalid({ "x-amz-checksum-md5": "AAAA" });
  expectInvalid({ "x-amz-trailer": "x-amz-checksum-md5" });
  expectInvalid({ "x-amz-sdk-checksum-algorithm": "CRC32" });
  expectInvalid({ "x-amz-sdk-checksum-algorithm": "MD5", "x-amz-checksum-crc32": "AAAAAA==" });
  expectInvalid({ "x-amz-sdk-checksum-algorithm": "SHA1", "x-amz-checksum-crc32": "AAAAAA==" });
});
